"""app.py registers from chalicelib/manifest.json: the file must match the registry and the
code, and the cold start must stay light (docs/CONVENTIONS.md, "Adding routes and handlers")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from chalice.app import ScheduledEventConfig, SQSEventConfig

from chalicelib import manifest, registry
from chalicelib.api.routing import ROUTES
from infra.cloud import manifest as generator

ROOT = Path(__file__).resolve().parents[2]
# What `import app` must not load: each is loaded on the first request or event that needs it.
HEAVY = ("pydantic", "pynamodb", "aws_lambda_powertools", "jwt", "cryptography", "openai", "stripe", "boto3",
         "botocore", "requests", "chalicelib.registry", "chalicelib.api.routing", "chalicelib.services")


def test_manifest_matches_the_registry() -> None:
    stale = generator.check()
    assert stale == [], f"chalicelib/manifest.json is stale ({'; '.join(stale)}): run `{generator.COMMAND}`"


def test_app_serves_exactly_the_manifest_routes() -> None:
    from app import app

    served = {(method, path): entry for path, methods in app.routes.items() for method, entry in methods.items()
              if method != "OPTIONS"}  # CORS preflights: tests/api/test_cors.py
    listed = {(r["method"], r["path"]): r for r in manifest.load()["routes"]}
    extra = sorted(f"{m} {p}" for m, p in set(served) - set(listed))
    assert not extra, (f"app.py serves routes that chalicelib/manifest.json does not list: {extra}. Add the "
                       "blueprint module to API_MODULES in chalicelib/registry.py (not app.register_blueprint), "
                       f"then run `{generator.COMMAND}`")
    assert set(served) == set(listed)
    for key, route in listed.items():
        entry = served[key]
        assert (entry.view_name, entry.content_types, entry.view_function.__doc__) == \
            (route["view"], route["content_types"], route["doc"]), key


def test_every_route_goes_through_the_route_table() -> None:
    """The OpenAPI document and the tenant-isolation matrix are built from ROUTES."""
    table = {(spec.method, spec.path) for spec in ROUTES}
    assert table == {(r["method"], r["path"]) for r in manifest.load()["routes"]}
    modules = [spec.handler_module for spec in ROUTES]
    assert modules == sorted(modules, key=registry.API_MODULES.index)


def test_workers_and_ticks_are_registered_as_the_registry_says() -> None:
    import app as app_module

    sources = {s.name: s for s in app_module.app.event_sources}
    for q in registry.QUEUES:
        if q.key not in registry.QUEUE_HANDLERS:
            assert q.handler_name not in sources
            continue
        source = sources[q.handler_name]
        assert isinstance(source, SQSEventConfig)
        assert (source.queue, source.batch_size, source.maximum_concurrency) == \
            (q.name, q.batch_size, max(2, q.reserved_concurrency))
        assert source.handler_string == f"app.{q.handler_name}"
        assert getattr(app_module, q.handler_name) is app_module.app.handler_map[q.handler_name]
    for s in registry.SCHEDULES:
        if s.key not in registry.SCHEDULE_HANDLERS:
            assert s.handler_name not in sources
            continue
        source = sources[s.handler_name]
        assert isinstance(source, ScheduledEventConfig)
        assert source.schedule_expression.to_string() == s.expression
        assert source.handler_string == f"app.{s.handler_name}"
        assert getattr(app_module, s.handler_name) is app_module.app.handler_map[s.handler_name]


LAZY_PROBE = r'''
import json, sys
import app

def loaded():
    return sorted(m for m in sys.modules if m.split(".")[0] in %(heavy_tops)r or m in %(heavy)r
                  or m in %(blueprints)r or m.startswith(("chalicelib.events", "chalicelib.services")))

class Context:
    aws_request_id = "req-1"
    function_name = "seo-content-engine-dev"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:seo-content-engine-dev"

out = {"import": loaded()}
path = "/v1/health"
event = {"resource": path, "path": path, "httpMethod": "GET", "headers": {}, "multiValueHeaders": {},
         "queryStringParameters": None, "multiValueQueryStringParameters": None, "pathParameters": None,
         "stageVariables": None, "body": None, "isBase64Encoded": False,
         "requestContext": {"resourcePath": path, "httpMethod": "GET", "requestId": "r1", "path": path,
                            "stage": "api"}}
out["health"] = app.app(event, Context())["statusCode"]
out["after_health"] = loaded()
out["blueprints"] = sorted(app.blueprints.loaded)
record = {"messageId": "m1", "receiptHandle": "h", "body": "not json", "attributes": {"ApproximateReceiveCount": "1"},
          "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
          "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"}
out["worker"] = app.worker_cluster_keywords({"Records": [record]}, Context())
out["after_worker"] = loaded()
print("RESULT " + json.dumps(out))
'''


def _probe(script: str, extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT")}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (ROOT, extra_path) if p)
    env.pop("AWS_LAMBDA_FUNCTION_NAME", None)
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=False, timeout=120)


def test_import_app_is_light_and_each_module_comes_on_first_use() -> None:
    tops = sorted({name.split(".")[0] for name in HEAVY if "." not in name})
    proc = _probe(LAZY_PROBE % {"heavy_tops": tops, "heavy": [n for n in HEAVY if "." in n],
                                "blueprints": list(registry.API_MODULES)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))[7:])
    assert out["import"] == [], f"`import app` loaded {out['import']}: import it inside the function that needs it"
    assert out["health"] == 200
    assert out["blueprints"] == ["chalicelib.api.meta"]
    assert set(registry.API_MODULES) & set(out["after_health"]) == {"chalicelib.api.meta"}
    # A worker serves no route: it never imports a blueprint module.
    assert out["worker"] == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    blueprint_modules = set(registry.API_MODULES) - {"chalicelib.api.meta"}
    assert not blueprint_modules & set(out["after_worker"])


EXTRA_BLUEPRINT = '''
from chalice import Blueprint

from chalicelib.api.routing import route

bp = Blueprint(__name__)


@route(bp, "/v1/zz-extra", "POST", summary="A route nobody regenerated the manifest for", auth="none")
def zz_extra(req):
    return {}
'''

EXTRA_SQS_BLUEPRINT = '''
from chalice import Blueprint

bp = Blueprint(__name__)


@bp.on_sqs_message(queue="somewhere", name="worker_rogue")
def worker_rogue(event):
    return None
'''

CHECK_WITH = '''
import sys
from chalicelib import registry
registry.API_MODULES = (*registry.API_MODULES, "extra_blueprint")
from infra.cloud import manifest
sys.exit(manifest.main(["--check"]))
'''


@pytest.mark.parametrize(("source", "code", "says"), [
    (EXTRA_BLUEPRINT, 1, "routes: missing POST /v1/zz-extra"),
    (EXTRA_SQS_BLUEPRINT, 2, "registers event handlers"),
])
def test_a_new_route_without_regenerating_fails_and_names_the_command(
        tmp_path: Path, source: str, code: int, says: str) -> None:
    (tmp_path / "extra_blueprint.py").write_text(textwrap.dedent(source))
    proc = _probe(CHECK_WITH, tmp_path)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert says in proc.stderr
    if code == 1:
        assert f"run `{generator.COMMAND}`" in proc.stderr


def test_dumps_round_trips_one_line_per_entry() -> None:
    data = manifest.load()
    text = generator.dumps(data)
    assert json.loads(text) == data
    assert len(text.splitlines()) == len(data["routes"]) + len(data["queues"]) + len(data["schedules"]) + 9
