"""``make package STAGE=prod``: the deployable artefacts in ``build/<stage>/``.

1. regenerate the IAM policies and per-function settings (``infra.cloud.policies``) and
   ``chalicelib/manifest.json`` (``infra.cloud.manifest``, in a fresh process),
2. generate the merge template (``infra.cloud.template``, in a fresh process with the
   stage's environment, as ``chalice package`` imports the app),
3. ``chalice package --merge-template`` -> ``sam.json`` + ``deployment.zip``,
4. slim ``deployment.zip``: drop what the Lambda runtime already has (boto3, botocore and
   their dependencies: botocore alone is 16 MB zipped) and what nothing the functions run
   can import or read (``PRUNE``: Stripe's type-checking-only ``params``, Powertools' Swagger
   UI assets and unused utilities, type stubs, pip's RECORD files, the long descriptions in
   METADATA; checked at every build by ``pruned_imports``), recompress at the highest level,
5. smoke-test the zip alone (with only what the runtime provides beside it): ``import app``,
   every module of the manifest, the OpenAPI document (every route's models), the Stripe
   and OpenAI clients and webhook verification, Powertools' logger and metrics; a missing
   or wrongly pruned module fails the build,
6. add bytecode: Lambda's /var/task is read-only, so whatever has no .pyc is compiled again
   at every cold start. Modules go in order of how many of the manifest's entries (route
   modules, workers, ticks) load them in a cold start and first event, each probed in a
   fresh process from the zip alone (``first_use_counts``), while the zip stays under
   ``BYTECODE_BUDGET_BYTES``,
7. check the merged template (every resource typed, every SQS event source with
   ReportBatchItemFailures) and run ``cfn-lint`` on it (errors fail the build); measure it
   against CloudFormation's limits (``infra.cloud.sam_transform``: the uploaded template's size,
   the resources after the SAM transform, done offline): past 80% of either fails the build,
8. write ``build/<stage>/package.json``: sizes, lint result, and a fingerprint of the inputs
   (``make bench`` reuses a fresh build instead of packaging again).

Needs no AWS account or credentials; ``chalice package`` downloads Linux wheels from PyPI
(cached in ``.chalice/deployments`` after the first run).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MAX_ZIP_BYTES = 10 * 1024 * 1024
# Bytecode for the libraries a cold start imports is added only while the zip stays under
# this (10 MB in decimal units too): the size budget wins over the cold-start gain.
BYTECODE_BUDGET_BYTES = 9_900_000
# What a Lambda Python runtime has besides the stdlib, as far as imports go (for the probes).
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")
# "The Lambda Python runtimes include the AWS SDK for Python (Boto3) and its dependencies":
# shipping them again costs 17 MB zipped, and the copies in /var/task (first on sys.path)
# would shadow the runtime's, compiling from source at every cold start (~0.2 s for urllib3,
# dateutil, six and jmespath alone). Distribution name -> its top-level modules.
RUNTIME_PROVIDED = {
    "boto3": ("boto3",), "botocore": ("botocore",), "s3transfer": ("s3transfer",), "jmespath": ("jmespath",),
    "python_dateutil": ("dateutil",), "six": ("six.py",), "urllib3": ("urllib3",),
}
_RUNTIME_ENTRY = re.compile(
    r"^(?:(?:" + "|".join(re.escape(m) for tops in RUNTIME_PROVIDED.values() for m in tops) + r")(?:/|$)"
    r"|(?:" + "|".join(RUNTIME_PROVIDED) + r")-[^/]+\.(?:dist-info|data)/)", re.I)
# What no function can import or read, removed from the zip. Each entry: a path prefix in the
# zip -> why it is safe. ``pruned_imports`` fails the build if a kept module imports a pruned
# one (outside ``if TYPE_CHECKING:``), and the smoke test exercises the packages they belong to.
_POWERTOOLS_UNUSED = ("auth_alpha", "circuit_breaker", "data_masking", "feature_flags", "idempotency",
                      "parameters", "streaming")
PRUNE: dict[str, str] = {
    "stripe/params/": "TypedDicts for type checkers (1.2 MB zipped): stripe imports them only under "
                      "TYPE_CHECKING; `stripe.params` as an attribute is never used at runtime",
    "aws_lambda_powertools/event_handler/openapi/swagger_ui/swagger-ui-bundle.min.js":
        "Powertools' own Swagger UI page (its event handler's enable_swagger); the API runs on Chalice",
    "aws_lambda_powertools/event_handler/openapi/swagger_ui/swagger-ui.min.css": "same",
    **{f"aws_lambda_powertools/utilities/{name}/": "a Powertools utility the app does not use; nothing "
       "Logger, metrics, Tracer or the event handler import imports it" for name in _POWERTOOLS_UNUSED},
}
# File kinds no running function reads: type stubs, and pip's list of installed files with their
# hashes (importlib.metadata needs only METADATA; nothing uninstalls from a Lambda).
_PRUNE_SUFFIXES = (".pyi", ".dist-info/RECORD")
_INPUT_GLOBS = ("app.py", "chalicelib/**/*", "requirements.txt", ".chalice/config.json", ".chalice/policy-*.json",
                "infra/cloud/*.py")


class PackageError(RuntimeError):
    pass


@dataclass
class PackageResult:
    stage: str
    out_dir: str
    fingerprint: str
    zip_bytes: int
    unzipped_bytes: int
    files: int
    removed_bytes: int
    removed: list[str]
    lint_errors: int
    lint_warnings: int
    lint_output: str
    seconds: float
    policies_changed: list[str] = field(default_factory=list)
    bytecode_files: int = 0
    bytecode_bytes: int = 0
    pruned_files: int = 0
    pruned_bytes: int = 0  # zipped bytes removed by PRUNE and the stub/RECORD rule
    manifest_changed: bool = False
    template_bytes: int = 0  # as uploaded (YAML), against CloudFormation's 1 MB from S3
    stack_resources: int = 0  # after the SAM transform, against CloudFormation's 500
    limit_lines: list[str] = field(default_factory=list)
    limit_problems: list[str] = field(default_factory=list)

    @property
    def zip_mb(self) -> float:
        return self.zip_bytes / 1024 / 1024


def fingerprint(root: Path = ROOT) -> str:
    """A hash of everything that goes into the package."""
    digest = hashlib.sha256()
    paths = sorted({p for pattern in _INPUT_GLOBS for p in root.glob(pattern)
                    if p.is_file() and "__pycache__" not in p.parts})
    for path in paths:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _tool(name: str) -> str:
    candidate = BIN / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise PackageError(f"{name} is not installed (make setup installs it into .venv)")
    return found


def _env(stage_env: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env["PYTHONPATH"] = str(ROOT)
    # The template and the package describe the cloud: no local endpoint may leak into them.
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_S3"):
        env.pop(name, None)
    env.update(stage_env or {})
    return env


def _run(cmd: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise PackageError(f"{what} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc


def _bytecode(name: str, source: bytes) -> tuple[str, bytes]:
    """(the zip entry of ``name``'s .pyc, its bytes): unchecked-hash, so Python trusts it as is."""
    import importlib.util
    from importlib._bootstrap_external import _code_to_hash_pyc  # type: ignore[attr-defined]

    code = compile(source, name, "exec", dont_inherit=True)
    data = _code_to_hash_pyc(code, importlib.util.source_hash(source), checked=False)
    folder, _, file = name.rpartition("/")
    cached = f"__pycache__/{file[:-3]}.{sys.implementation.cache_tag}.pyc"
    return (f"{folder}/{cached}" if folder else cached), bytes(data)


def pruned(name: str) -> str | None:
    """Why the zip entry ``name`` is left out, or None to keep it."""
    for prefix, why in PRUNE.items():
        if name == prefix or (prefix.endswith("/") and name.startswith(prefix)):
            return why
    if name.endswith(_PRUNE_SUFFIXES):
        return "type stub or pip's RECORD"
    return None


@dataclass
class Slimmed:
    removed_bytes: int  # the zip's size before minus after (runtime-provided and pruned entries)
    removed: list[str]  # runtime-provided top-level names
    pruned_files: int
    pruned_bytes: int  # compressed size of the pruned entries
    pruned_modules: list[str] = field(default_factory=list)


def slim_zip(path: Path) -> Slimmed:
    """Rewrite the zip without the runtime-provided packages and what ``pruned`` names,
    without the developer's own bytecode, recompressed at the highest level."""
    before = path.stat().st_size
    removed: set[str] = set()
    pruned_files = pruned_bytes = 0
    modules: list[str] = []
    tmp = path.with_suffix(".slim.zip")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            if _RUNTIME_ENTRY.match(info.filename):
                removed.add(info.filename.split("/", 1)[0])
                continue
            if "/__pycache__/" in f"/{info.filename}":  # the developer's own bytecode, stale or not
                continue
            if pruned(info.filename):
                pruned_files += 1
                pruned_bytes += info.compress_size
                if info.filename.endswith(".py"):
                    modules.append(_module_name(info.filename))
                continue
            data = src.read(info)
            if info.filename.endswith(".dist-info/METADATA"):
                data = _metadata_headers(data)
            dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    tmp.replace(path)
    return Slimmed(before - path.stat().st_size, sorted(removed), pruned_files, pruned_bytes, modules)


def _metadata_headers(data: bytes) -> bytes:
    """A distribution's METADATA without its long description (the README: pydantic's is 26 KB
    zipped). The headers stay: importlib.metadata's version(), requires() and vulnerability
    scanners read those, and nothing at runtime reads the description."""
    head, _sep, _body = data.replace(b"\r\n", b"\n").partition(b"\n\n")
    kept: list[bytes] = []
    in_description = False
    for line in head.split(b"\n"):
        if in_description and line.startswith((b" ", b"\t")):  # the header's continuation lines
            continue
        in_description = line.lower().startswith(b"description:")
        if not in_description:
            kept.append(line)
    return b"\n".join(kept) + b"\n"


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        parent = parents[node]
        if isinstance(parent, ast.If) and node in parent.body and "TYPE_CHECKING" in ast.unparse(parent.test):
            return True
        node = parent
    return False


def _module_name(entry: str) -> str:
    name = entry[:-3].replace("/", ".")
    return name.removesuffix(".__init__")


def pruned_imports(zip_path: Path, pruned_modules: Sequence[str]) -> list[str]:
    """Kept modules that import a pruned one (anywhere but under ``if TYPE_CHECKING:``)."""
    gone = set(pruned_modules)
    if not gone:
        return []
    needles = {name.rsplit(".", 1)[-1].encode() for name in gone}
    problems = []
    with zipfile.ZipFile(zip_path) as z:
        for entry in z.namelist():
            if not entry.endswith(".py"):
                continue
            source = z.read(entry)
            if not any(needle in source for needle in needles):  # cheap filter before parsing
                continue
            module = _module_name(entry)
            package = module if entry.endswith("/__init__.py") else module.rpartition(".")[0]
            tree = ast.parse(source, entry)
            parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    targets = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    if node.level:
                        anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                        base = ".".join([*anchor, *([base] if base else [])])
                    targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
                else:
                    continue
                hit = sorted(t for t in targets if t in gone)
                if hit and not _type_checking_only(node, parents):
                    problems.append(f"{entry}:{node.lineno} imports {', '.join(hit)}")
    return problems


def runtime_dir(dest: Path) -> Path:
    """Lambda's /var/runtime as far as imports go: links to this venv's boto3 and its dependencies."""
    import boto3

    site = Path(boto3.__file__).resolve().parents[1]
    dest.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_MODULES:
        source = site / name
        if source.exists() and not (dest / name).exists():
            (dest / name).symlink_to(source, target_is_directory=source.is_dir())
    return dest


# Run from the extracted zip with only the runtime's packages beside it (python -S), offline.
# The smoke test: every module of the manifest, the OpenAPI document (every route's models), and
# the SDK paths the app uses; a missing or wrongly pruned module fails the build.
_SMOKE = r"""
import hashlib, hmac, json, time

import app
from chalicelib import manifest

manifest.import_all()
from chalicelib.api.openapi import build_openapi

assert build_openapi()["paths"]

import stripe

client = stripe.StripeClient("sk_test_package_probe")
for service in (client.v1.customers, client.v1.checkout.sessions, client.v1.billing_portal.sessions):
    assert callable(service.create)
payload = json.dumps({"id": "evt_probe", "object": "event", "type": "checkout.session.completed",
                      "data": {"object": {"id": "cs_probe", "object": "checkout.session"}}})
stamp = int(time.time())
signature = hmac.new(b"whsec_probe", f"{stamp}.{payload}".encode(), hashlib.sha256).hexdigest()
event = stripe.Webhook.construct_event(payload, f"t={stamp},v1={signature}", "whsec_probe")
assert event.to_dict()["id"] == "evt_probe"
try:
    stripe.Webhook.construct_event(payload, f"t={stamp},v1={'0' * 64}", "whsec_probe")
    raise AssertionError("a bad signature was accepted")
except stripe.SignatureVerificationError:
    pass

import openai

sdk = openai.OpenAI(api_key="sk-package-probe", max_retries=0)
assert sdk.chat.completions.create and sdk.embeddings.create and sdk.images.generate
assert issubclass(openai.RateLimitError, openai.APIStatusError)

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics

Logger(service="probe").info("probe")
metrics = EphemeralMetrics(namespace="Probe", service="probe")
metrics.add_metric(name="Probe", unit="Count", value=1)
assert Tracer
print("SMOKE OK")
"""

# One cold start and its first event, in a fresh process per entry of the manifest: a route
# module (one of its authenticated routes called with an invalid token: middleware, the lazy
# import, authentication, the 401), a queue's worker (a batch with a malformed record) or a
# schedule's module. Prints the files the process loaded.
_FIRST_USE = r"""
import json, re, sys
from importlib import import_module

kind, name = sys.argv[1], sys.argv[2]


class Context:
    aws_request_id = "probe"
    function_name = "probe"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:probe"


import app
from chalicelib import manifest

data = manifest.load()
if kind == "route":
    route = next((r for r in data["routes"] if r["module"] == name and r["auth"] in ("user", "staff")), None)
    if route is None:
        app.blueprints.load(name)
    else:
        path = re.sub(r"{\w+}", "probe", route["path"])
        event = {"resource": route["path"], "path": path, "httpMethod": route["method"],
                 "headers": {"authorization": "Bearer not-a-token", "content-type": route["content_types"][0]},
                 "multiValueHeaders": {}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
                 "pathParameters": {k: "probe" for k in re.findall(r"{(\w+)}", route["path"])} or None,
                 "stageVariables": None, "body": None, "isBase64Encoded": False,
                 "requestContext": {"resourcePath": route["path"], "httpMethod": route["method"],
                                    "requestId": "probe", "path": path, "stage": "api"}}
        status = app.app(event, Context())["statusCode"]
        assert status == 401, (route, status)
elif kind == "queue":
    record = {"messageId": "m1", "receiptHandle": "h", "body": "not json",
              "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "md5OfBody": "",
              "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:probe",
              "awsRegion": "us-east-1"}
    getattr(app, name)({"Records": [record]}, Context())
else:
    import_module(next(s["target"] for s in data["schedules"] if s["name"] == name).partition(":")[0])
sys.stdout.write("\nFILES " + json.dumps(sorted({getattr(m, "__file__", None) or ""
                                                  for m in list(sys.modules.values())})))
"""


def _probe_env(task: Path, runtime: Path, stage_env: dict[str, str]) -> dict[str, str]:
    closed = "http://127.0.0.1:9"  # nothing may leave the machine: any AWS call fails at once
    return {"PATH": os.environ.get("PATH", ""), **stage_env, "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": f"{task}{os.pathsep}{runtime}", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "probe", "AWS_SECRET_ACCESS_KEY": "probe",
            "AWS_ENDPOINT_URL": closed, "AWS_ENDPOINT_URL_DYNAMODB": closed, "AWS_ENDPOINT_URL_SQS": closed,
            "AWS_ENDPOINT_URL_S3": closed, "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_LAMBDA_FUNCTION_NAME": "probe", "POWERTOOLS_TRACE_DISABLED": "true",
            "SECRETS_KMS_KEY_ID": "alias/probe", "APP_SIGNING_SECRET": "probe-" * 8}


def _run_probe(args: list[str], task: Path, env: dict[str, str], what: str) -> str:
    proc = subprocess.run([sys.executable, "-S", "-c", *args], cwd=task, env=env, capture_output=True,
                          text=True, check=False, timeout=300)
    if proc.returncode != 0:
        raise PackageError(f"{what} fails from deployment.zip alone:\n{proc.stderr[-3000:]}")
    return proc.stdout


def first_use_counts(zip_path: Path, stage_env: dict[str, str]) -> dict[str, dict[str, int]]:
    """Zip entry (.py) -> {entry kind ("route", "queue", "schedule") -> how many of the manifest's
    entries of that kind load it in a cold start and first event}; smoke-tests the zip alone
    first (``_SMOKE``)."""
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    with tempfile.TemporaryDirectory(prefix="cold-start-") as tmp:
        task = Path(tmp) / "task"
        with zipfile.ZipFile(zip_path) as z:
            z.extractall(task)
            data = json.loads(z.read("chalicelib/manifest.json"))
        env = _probe_env(task, runtime_dir(Path(tmp) / "runtime"), stage_env)
        _run_probe([_SMOKE], task, env, "the smoke test (`import app`, the manifest's modules, the SDKs)")
        entries = [("route", m) for m in dict.fromkeys(r["module"] for r in data["routes"])]
        entries += [("queue", q["name"]) for q in data["queues"]] + [("schedule", s["name"]) for s in data["schedules"]]

        def loaded(entry: tuple[str, str]) -> list[str]:
            out = _run_probe([_FIRST_USE, *entry], task, env, f"the first {entry[0]} of {entry[1]}")
            return json.loads(out.rpartition("\nFILES ")[2])

        counts: dict[str, dict[str, int]] = {}
        prefix = str(task) + os.sep
        with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
            for (kind, _name), files in zip(entries, pool.map(loaded, entries), strict=True):
                for f in files:
                    if f.startswith(prefix) and f.endswith(".py"):
                        per_kind = counts.setdefault(f[len(prefix):], {})
                        per_kind[kind] = per_kind.get(kind, 0) + 1
        return counts


def bytecode_order(zip_path: Path, counts: dict[str, dict[str, int]]) -> list[str]:
    """Which modules get bytecode first: those the most route modules load (an API cold start
    is what a user waits for; ``import app``'s own modules are loaded by all), then those the
    most workers and ticks load (they run in the background), the bigger first (more to
    compile); then the rest of ours."""
    with zipfile.ZipFile(zip_path) as z:
        size = {info.filename: info.file_size for info in z.infolist()}

    def rank(name: str) -> tuple[int, int, int, str]:
        per_kind = counts[name]
        return (-per_kind.get("route", 0), -(per_kind.get("queue", 0) + per_kind.get("schedule", 0)),
                -size.get(name, 0), name)

    ranked = sorted(counts, key=rank)
    own = sorted(name for name in size if name == "app.py" or (name.startswith("chalicelib/")
                                                               and name.endswith(".py")))
    return ranked + [name for name in own if name not in counts]


def add_bytecode(zip_path: Path, names: Sequence[str], budget: int = BYTECODE_BUDGET_BYTES) -> tuple[int, int]:
    """Add unchecked-hash .pyc for ``names``, in that order, while the zip stays under ``budget``.

    Returns (files added, bytes added to the zip)."""
    import zlib

    before = zip_path.stat().st_size
    size = before
    added = 0
    with zipfile.ZipFile(zip_path, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        present = set(z.namelist())
        for name in dict.fromkeys(names):
            if name not in present:
                continue
            source = z.read(name)
            entry, pyc = _bytecode(name, source)
            if entry in present:
                continue
            cost = len(zlib.compress(pyc, 9)) + 2 * (len(entry) + 60)  # data + local and central headers
            if size + cost > budget:
                continue
            info = z.getinfo(name)
            out = zipfile.ZipInfo(entry, date_time=info.date_time)
            out.external_attr = info.external_attr
            z.writestr(out, pyc, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
            size += cost
            added += 1
    return added, zip_path.stat().st_size - before


def zip_sizes(path: Path) -> tuple[int, int, int]:
    """(zipped bytes, unzipped bytes, files)."""
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        return path.stat().st_size, sum(i.file_size for i in infos), len(infos)


def check_template(template: dict[str, Any]) -> list[str]:
    """What a merge could have broken: resources without a type, SQS events without batch failures."""
    problems = []
    for name, resource in template.get("Resources", {}).items():
        if "Type" not in resource:
            problems.append(f"{name}: no Type (a merge patch for a resource Chalice did not generate)")
        for event_name, event in resource.get("Properties", {}).get("Events", {}).items():
            if event.get("Type") == "SQS" and \
                    "ReportBatchItemFailures" not in event.get("Properties", {}).get("FunctionResponseTypes", []):
                problems.append(f"{name}.{event_name}: SQS event source without ReportBatchItemFailures")
    return problems


def cfn_lint(template_path: Path) -> tuple[int, int, str]:
    """(errors, warnings, output). cfn-lint's exit code is a bit mask: 2 errors, 4 warnings."""
    proc = subprocess.run([_tool("cfn-lint"), "--format", "parseable", str(template_path)], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    errors = sum(1 for line in lines if re.search(r":E\d{4}:", line))
    warnings = sum(1 for line in lines if re.search(r":W\d{4}:", line))
    if proc.returncode & 1 or (proc.returncode and not lines):
        raise PackageError(f"cfn-lint could not run ({proc.returncode}): {proc.stderr.strip()}")
    return errors, warnings, proc.stdout + proc.stderr


def package(stage: str = "prod", *, out_dir: Path | None = None, lint: bool = True,
            write_policies: bool = True, bytecode: bool = True) -> PackageResult:
    from infra.cloud import policies
    from infra.cloud.functions import stage_environment

    started = time.perf_counter()
    out_dir = out_dir or ROOT / "build" / stage
    out_dir.mkdir(parents=True, exist_ok=True)
    for previous in ("sam.json", "deployment.zip", "package.json"):
        (out_dir / previous).unlink(missing_ok=True)
    env = _env(stage_environment(stage))
    # The manifest generator binds every blueprint to a scratch app: its own process.
    if write_policies:
        changed = policies.write()
        manifest_changed = _run([sys.executable, "-m", "infra.cloud.manifest"], env,
                                "the manifest").stdout.startswith("wrote")
    else:
        changed = []
        manifest_changed = False
        stale = policies.stale()
        if stale:
            raise PackageError(f"stale generated files: {', '.join(stale)} (run `python -m infra.cloud.policies`)")
        _run([sys.executable, "-m", "infra.cloud.manifest", "--check"], env, "chalicelib/manifest.json is stale: "
             "`make manifest`; the check")
    inputs = fingerprint()  # before building: an edit made meanwhile makes the result stale, not wrong
    merge = out_dir / "merge.json"
    _run([sys.executable, "-m", "infra.cloud.template", "--stage", stage, "--out", str(merge)], env, "the template")
    _run([_tool("chalice"), "package", "--stage", stage, "--merge-template", str(merge), str(out_dir)], env,
         "chalice package")
    zip_path = out_dir / "deployment.zip"
    slimmed = slim_zip(zip_path)
    importing_pruned = pruned_imports(zip_path, slimmed.pruned_modules)
    if importing_pruned:
        raise PackageError("kept modules import what PRUNE removed (infra/cloud/package.py):\n  "
                           + "\n  ".join(importing_pruned))
    counts = first_use_counts(zip_path, stage_environment(stage))
    if bytecode:
        bytecode_files, bytecode_bytes = add_bytecode(zip_path, bytecode_order(zip_path, counts))
    else:
        bytecode_files = bytecode_bytes = 0
    sam = json.loads((out_dir / "sam.json").read_text())
    problems = check_template(sam)
    if problems:
        raise PackageError("the merged template is broken:\n  " + "\n  ".join(problems))
    errors, warnings, output = cfn_lint(out_dir / "sam.json") if lint else (-1, -1, "not run")
    from infra.cloud import sam_transform

    measured = sam_transform.measure(sam, stage)
    zipped, unzipped, files = zip_sizes(out_dir / "deployment.zip")
    result = PackageResult(stage=stage, out_dir=str(out_dir.relative_to(ROOT) if out_dir.is_relative_to(ROOT)
                                                    else out_dir),
                           fingerprint=inputs, zip_bytes=zipped, unzipped_bytes=unzipped, files=files,
                           removed_bytes=slimmed.removed_bytes, removed=slimmed.removed, lint_errors=errors,
                           lint_warnings=warnings, lint_output=output.strip(),
                           seconds=round(time.perf_counter() - started, 1), policies_changed=changed,
                           bytecode_files=bytecode_files, bytecode_bytes=bytecode_bytes,
                           pruned_files=slimmed.pruned_files, pruned_bytes=slimmed.pruned_bytes,
                           manifest_changed=manifest_changed, template_bytes=measured.template_bytes,
                           stack_resources=measured.resources, limit_lines=measured.lines(),
                           limit_problems=measured.problems())
    (out_dir / "package.json").write_text(json.dumps(asdict(result), indent=2) + "\n")
    return result


def fresh_result(stage: str = "prod", out_dir: Path | None = None) -> PackageResult | None:
    """The last build's result if nothing that goes into the package changed since."""
    out_dir = out_dir or ROOT / "build" / stage
    try:
        data = json.loads((out_dir / "package.json").read_text())
    except (OSError, ValueError):
        return None
    if data.get("fingerprint") != fingerprint() or not (out_dir / "deployment.zip").exists():
        return None
    return PackageResult(**data)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.cloud.package", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--out", type=Path, help="output directory (default build/<stage>)")
    parser.add_argument("--no-lint", action="store_true")
    args = parser.parse_args(argv)
    try:
        result = package(args.stage, out_dir=args.out, lint=not args.no_lint)
    except PackageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name in result.policies_changed:
        print(f"regenerated .chalice/{name}")
    if result.manifest_changed:
        print("regenerated chalicelib/manifest.json")
    print(f"{result.out_dir}/sam.json, {result.out_dir}/deployment.zip ({result.seconds}s)")
    print(f"deployment.zip: {result.zip_bytes / 1e6:.2f} MB zipped ({result.zip_mb:.2f} MiB), "
          f"{result.unzipped_bytes / 1e6:.1f} MB unzipped, {result.files} files; "
          f"runtime-provided {', '.join(result.removed) or 'nothing'} removed; {result.pruned_files} unused files "
          f"pruned (-{result.pruned_bytes / 1e6:.2f} MB); "
          f"bytecode for {result.bytecode_files} modules (+{result.bytecode_bytes / 1e6:.2f} MB)")
    if result.lint_errors >= 0:
        print(f"cfn-lint: {result.lint_errors} errors, {result.lint_warnings} warnings")
        if result.lint_output:
            print(result.lint_output)
    for line in result.limit_lines:
        print(line)
    failed = result.lint_errors > 0
    for problem in result.limit_problems:
        print(f"error: {problem}", file=sys.stderr)
        failed = True
    if result.zip_bytes > MAX_ZIP_BYTES:
        print(f"error: deployment.zip is over {MAX_ZIP_BYTES // 1024 // 1024} MiB", file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
