"""The Lambda package: deployment.zip size and ``import app`` time against a bare Chalice app.

Builds the package (``infra.cloud.package``) unless ``build/prod`` is fresh, then measures in
the same run, in fresh subprocesses (several runs each, interleaved, median):

- **app**: ``import app`` from the extracted deployment.zip, with a simulated Lambda runtime
  directory (boto3, botocore, s3transfer, jmespath, dateutil, six, urllib3 from the venv, as
  ``/var/runtime`` provides them);
- **bare**: a Chalice app that imports boto3 (``from chalice import Chalice; import boto3``),
  with the same chalice runtime files and the same runtime directory.

Then, as deployed, ``import app`` and the first event timed together (the app imports a
blueprint or a worker's module on first use, so this is what a caller waits for): an
authenticated route of the biggest blueprint module called with an invalid token (against
the bare app's "/"), and a worker's first batch (a malformed record). No AWS call is made.

The same three conditions for *plain registration*: an ``app.py`` (generated here from the
package's own manifest, bench-only) that imports every blueprint and handler module and registers
them at import, as Chalice's samples do, instead of app.py's lazy proxies (``chalicelib/manifest.py``).
Its ratio to the bare app is what decides whether the manifest earns its keep (the 1.3x target).

Three conditions: *as deployed* (the zip as it is: Lambda's /var/task is read-only, so what
has no ``.pyc`` in the zip is compiled at every cold start; ``make package`` ships bytecode for
our code and, within the size budget, for the libraries a cold start loads), *all bytecode
cached* (a warm-up run wrote the missing ``.pyc`` first: what shipping bytecode for everything
would give), and *source tree* (``import app`` from the repository with the venv, what a
developer sees). The import tree of the deployed package (``-X importtime``) names
the heaviest imports and the first-party module that pulls each one in.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STAGE = "prod"
RUNS = 5
RATIO_TARGET = 1.3
ZIP_TARGET_BYTES = 10 * 1024 * 1024
BARE_APP = '''from chalice import Chalice
import boto3

app = Chalice(app_name="bare")


@app.route("/")
def index():
    return {"hello": "world"}
'''
TIMER = ("import time, sys; t = time.perf_counter(); import app; "
         "sys.stdout.write(repr(time.perf_counter() - t))")
FIRST_PARTY = ("app", "chalicelib")
# ``import app`` and then the first event, timed together: the app loads a blueprint (or a worker's
# module) on first use, so this is the whole cold start a caller waits for. argv: path, method,
# worker name (or "-"); the bare app answers its "/" route.
FIRST_EVENT = r"""
import json, re, sys, time
t = time.perf_counter()
import app
path, method, worker = sys.argv[1:4]


class Context:
    aws_request_id = "bench"
    function_name = "bench"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"


if worker != "-":
    record = {"messageId": "m1", "receiptHandle": "h", "body": "not json",
              "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "md5OfBody": "",
              "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bench",
              "awsRegion": "us-east-1"}
    getattr(app, worker)({"Records": [record]}, Context())
else:
    concrete = re.sub(r"{\w+}", "bench", path)
    event = {"resource": path, "path": concrete, "httpMethod": method,
             "headers": {"authorization": "Bearer not-a-token"}, "multiValueHeaders": {},
             "queryStringParameters": None, "multiValueQueryStringParameters": None,
             "pathParameters": {k: "bench" for k in re.findall(r"{(\w+)}", path)} or None,
             "stageVariables": None, "body": None, "isBase64Encoded": False,
             "requestContext": {"resourcePath": path, "httpMethod": method, "requestId": "bench",
                                "path": concrete, "stage": "api"}}
    assert app.app(event, Context())["statusCode"] in (200, 401)
sys.stdout.write("\nSECONDS " + repr(time.perf_counter() - t))
"""


def plain_app(manifest: dict[str, Any]) -> str:
    """app.py with plain registration: every module of ``manifest`` imported and registered at import time."""
    modules = list(dict.fromkeys(r["module"] for r in manifest["routes"]))
    targets = [entry["target"].partition(":")[0] for entry in (*manifest["queues"], *manifest["schedules"])]
    lines = ['"""Plain registration (infra.bench.package): everything imported and registered at import."""', "",
             "from chalice import Chalice, Rate", "",
             "from chalicelib import config",
             "from chalicelib.api.middleware import request_context",
             "from chalicelib.observability import invocation_middleware",
             "from chalicelib.registry import queue", ""]
    lines += [f"import {name}" for name in dict.fromkeys([*modules, *targets])]
    lines += ["", "config.check_startup()", 'app = Chalice(app_name="seo-content-engine")',
              'app.register_middleware(request_context, "http")',
              'app.register_middleware(invocation_middleware, "all")', "prefix = config.resource_prefix()"]
    lines += [f"app.register_blueprint({name}.bp)" for name in modules]
    lines += ["from chalicelib import manifest", "from chalicelib.api import cors",
              'cors.register_preflights(app, manifest.load()["routes"])']
    for q in manifest["queues"]:
        module, _, factory = q["target"].partition(":")
        lines.append(f"{q['name']} = app.on_sqs_message(queue=prefix + '-{q['queue_suffix']}', "
                     f"batch_size={q['batch_size']}, name='{q['name']}', "
                     f"maximum_concurrency={q['maximum_concurrency']})({module}.{factory}(queue('{q['queue_key']}')))")
    for sch in manifest["schedules"]:
        module, _, function = sch["target"].partition(":")
        lines.append(f"{sch['name']} = app.schedule(Rate({sch['rate_minutes']}, unit=Rate.MINUTES), "
                     f"name='{sch['name']}')({module}.{function})")
    return "\n".join(lines) + "\n"


def _plain_dir(dest: Path, package_dir: Path) -> Path:
    """A directory whose app.py registers plainly; the package's code comes after it on the path."""
    import json

    dest.mkdir(parents=True, exist_ok=True)
    (dest / "app.py").write_text(plain_app(json.loads((package_dir / "chalicelib" / "manifest.json").read_text())))
    return dest


@dataclass
class Timing:
    app: float
    bare: float

    @property
    def ratio(self) -> float:
        return self.app / self.bare if self.bare else float("inf")


def _bare_dir(dest: Path, package_dir: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(package_dir / "chalice", dest / "chalice")  # the chalice runtime as shipped
    (dest / "app.py").write_text(BARE_APP)
    return dest


def _env(extra_path: list[Path], *, write_bytecode: bool) -> dict[str, str]:
    from infra.cloud.functions import stage_environment

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON", "APP_", "RESOURCE_"))}
    env.update(stage_environment(STAGE))
    env.update(AWS_DEFAULT_REGION="us-east-1", PYTHONPATH=os.pathsep.join(str(p) for p in extra_path),
               PYTHONHASHSEED="0")
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _time_import(cwd: Path, env: dict[str, str], *, isolated: bool) -> float:
    # -S: no site-packages, so only the package and the runtime directory are importable.
    flags = ["-S"] if isolated else []
    out = subprocess.run([sys.executable, *flags, "-c", TIMER], cwd=cwd, env=env, capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        raise RuntimeError(f"import app failed in {cwd}:\n{out.stderr[-2000:]}")
    return float(out.stdout.strip())


def _measure(app_cwd: Path, app_env: dict[str, str], bare_cwd: Path, bare_env: dict[str, str], *,
             isolated: bool, warm_up: bool) -> Timing:
    if warm_up:
        _time_import(app_cwd, app_env, isolated=isolated)
        _time_import(bare_cwd, bare_env, isolated=isolated)
    apps, bares = [], []
    for _ in range(RUNS):  # interleaved, so a busy moment hurts both sides alike
        apps.append(_time_import(app_cwd, app_env, isolated=isolated))
        bares.append(_time_import(bare_cwd, bare_env, isolated=isolated))
    return Timing(statistics.median(apps), statistics.median(bares))


def _time_first_event(cwd: Path, env: dict[str, str], args: list[str]) -> float:
    out = subprocess.run([sys.executable, "-S", "-c", FIRST_EVENT, *args], cwd=cwd, env=env, capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"first event failed in {cwd}:\n{out.stderr[-2000:]}")
    return float(out.stdout.rpartition("\nSECONDS ")[2])


def _first_events(package_dir: Path, app_env: dict[str, str], bare: Path,
                  bare_env: dict[str, str]) -> list[tuple[str, Timing | float]]:
    """Cold start + first event, as deployed: an authenticated route of the biggest blueprint module
    (invalid token: middleware, the lazy import, authentication, the 401) against the bare app's
    "/", and a worker's first batch (a malformed record; the bare app has no worker)."""
    import json

    data = json.loads((package_dir / "chalicelib" / "manifest.json").read_text())
    modules = [r["module"] for r in data["routes"]]
    biggest = max(dict.fromkeys(modules), key=modules.count)
    route = next(r for r in data["routes"] if r["module"] == biggest and r["auth"] in ("user", "staff"))
    worker = data["queues"][0]["name"]
    apis, bares, workers = [], [], []
    for _ in range(RUNS):
        apis.append(_time_first_event(package_dir, app_env, [route["path"], route["method"], "-"]))
        bares.append(_time_first_event(bare, bare_env, ["/", "GET", "-"]))
        workers.append(_time_first_event(package_dir, app_env, ["-", "-", worker]))
    return [(f"{route['method']} {route['path']} ({biggest.rsplit('.', 1)[-1]})",
             Timing(statistics.median(apis), statistics.median(bares))),
            (f"{worker}, one batch", statistics.median(workers))]


def _drop_bytecode(directory: Path) -> None:
    for cache in directory.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


def registration_verdict(manifest: dict[str, Timing], plain: dict[str, Timing]) -> str:
    """Which registration holds ``import app`` within the target, judged where plain registration is
    at its best (every module's bytecode cached): the manifest is kept only if plain would not do."""
    label = "all bytecode cached"
    ours, theirs = manifest[label], plain[label]
    keep = theirs.ratio > RATIO_TARGET >= ours.ratio
    return (f"registration ({label}): manifest with lazy proxies x{ours.ratio:.2f}, plain registration "
            f"x{theirs.ratio:.2f} of the bare app (target x{RATIO_TARGET}): "
            + ("the manifest is what holds the target" if keep else
               "plain registration holds the target too: the manifest is not needed" if theirs.ratio <= RATIO_TARGET
               else "neither holds the target"))


# --- where the import time goes ------------------------------------------------------------------

@dataclass
class ImportLine:
    self_us: int
    cumulative_us: int
    depth: int
    name: str
    parent: int | None = None


def parse_importtime(stderr: str) -> list[ImportLine]:
    """``-X importtime`` lines (children before their parent), with each line's parent index."""
    lines: list[ImportLine] = []
    for raw in stderr.splitlines():
        if not raw.startswith("import time:"):
            continue
        parts = raw[len("import time:"):].split("|")
        if len(parts) != 3:
            continue
        try:
            self_us, cumulative_us = int(parts[0]), int(parts[1])
        except ValueError:  # the header line
            continue
        depth = (len(parts[2]) - len(parts[2].lstrip(" ")) - 1) // 2
        lines.append(ImportLine(self_us, cumulative_us, depth, parts[2].strip()))
    for i, line in enumerate(lines):
        for j in range(i + 1, len(lines)):
            if lines[j].depth < line.depth:
                line.parent = j
                break
    return lines


def heavy_imports(lines: list[ImportLine], limit: int = 8) -> tuple[list[str], list[str]]:
    """(heaviest first-party modules by own time, heaviest third-party packages and who imports them)."""
    own = sorted((ln for ln in lines if ln.name.split(".")[0] in FIRST_PARTY), key=lambda ln: -ln.self_us)
    first_party = [f"{ln.name}: {ln.self_us / 1000:.0f} ms own time" for ln in own[:limit]]
    # Third-party modules imported directly by a first-party one, summed per package: what a
    # lazy import would move out of the cold start (a module is listed once, where first imported).
    totals: dict[str, int] = {}
    importer: dict[str, tuple[int, str]] = {}
    for ln in lines:
        if ln.parent is None or ln.name.split(".")[0] in FIRST_PARTY:
            continue
        parent = lines[ln.parent].name
        if parent.split(".")[0] not in FIRST_PARTY:
            continue
        top = ln.name.split(".")[0]
        totals[top] = totals.get(top, 0) + ln.cumulative_us
        if ln.cumulative_us > importer.get(top, (-1, ""))[0]:
            importer[top] = (ln.cumulative_us, parent)
    third = [f"{top}: {us / 1000:.0f} ms (mostly via {importer[top][1]})"
             for top, us in sorted(totals.items(), key=lambda item: -item[1])[:limit]]
    return first_party, third


def _importtime(cwd: Path, env: dict[str, str]) -> list[ImportLine]:
    out = subprocess.run([sys.executable, "-S", "-X", "importtime", "-c", "import app"], cwd=cwd, env=env,
                         capture_output=True, text=True, check=False)
    return parse_importtime(out.stderr)


# --- the benchmark ---------------------------------------------------------------------------------

def run() -> dict[str, Any]:
    from infra.cloud.package import fresh_result, package, runtime_dir

    result = fresh_result(STAGE)
    reused = result is not None
    if result is None:
        result = package(STAGE)
    zip_path = ROOT / result.out_dir / "deployment.zip"
    rows: list[dict[str, Any]] = [
        {"measure": "deployment.zip, zipped", "value": f"{result.zip_bytes / 1e6:.2f} MB ({result.zip_mb:.2f} MiB)",
         "target": "<= 10 MiB", "ok": result.zip_bytes <= ZIP_TARGET_BYTES},
        {"measure": "deployment.zip, unzipped", "value": f"{result.unzipped_bytes / 1e6:.1f} MB, {result.files} files"},
        {"measure": "cfn-lint on sam.json", "value": f"{result.lint_errors} errors, {result.lint_warnings} warnings",
         "target": "0 errors", "ok": result.lint_errors == 0},
    ]
    notes = [f"package {'reused (inputs unchanged)' if reused else 'built'}: {result.out_dir}; "
             f"removed as runtime-provided: {', '.join(result.removed) or 'nothing'}; "
             f"{result.pruned_files} unused files pruned (-{result.pruned_bytes / 1e6:.2f} MB); bytecode shipped "
             f"for {result.bytecode_files} modules, those most cold starts load first "
             f"(+{result.bytecode_bytes / 1e6:.2f} MB)"]

    with tempfile.TemporaryDirectory(prefix="bench-package-") as tmp:
        base = Path(tmp)
        package_dir = base / "task"
        with zipfile.ZipFile(zip_path) as z:
            z.extractall(package_dir)
        runtime = runtime_dir(base / "runtime")
        bare = _bare_dir(base / "bare", package_dir)
        plain = _plain_dir(base / "plain", package_dir)

        from infra.cloud.package import _probe_env

        # Invocation settings (signing secret, KMS key id, Lambda's function name) and every AWS
        # endpoint closed: the first events must not leave the machine.
        invoke = {k: v for k, v in _probe_env(package_dir, runtime, {}).items() if k != "PYTHONPATH"}
        first = _first_events(package_dir, {**_env([package_dir, runtime], write_bytecode=False), **invoke},
                              bare, {**_env([bare, runtime], write_bytecode=False), **invoke})
        conditions: list[tuple[str, Timing]] = []
        deployed = _measure(package_dir, _env([package_dir, runtime], write_bytecode=False),
                            bare, _env([bare, runtime], write_bytecode=False), isolated=True, warm_up=False)
        conditions.append(("as deployed (zip as built)", deployed))
        # Plain registration, each condition right after the manifest's (before bytecode is written).
        plain_conditions: list[tuple[str, Timing]] = []
        plain_conditions.append(("as deployed (zip as built)", _measure(
            plain, _env([plain, package_dir, runtime], write_bytecode=False),
            bare, _env([bare, runtime], write_bytecode=False), isolated=True, warm_up=False)))
        lines = _importtime(package_dir, _env([package_dir, runtime], write_bytecode=False))
        cached = _measure(package_dir, _env([package_dir, runtime], write_bytecode=True),
                          bare, _env([bare, runtime], write_bytecode=True), isolated=True, warm_up=True)
        conditions.append(("all bytecode cached", cached))
        plain_conditions.append(("all bytecode cached", _measure(
            plain, _env([plain, package_dir, runtime], write_bytecode=True),
            bare, _env([bare, runtime], write_bytecode=True), isolated=True, warm_up=True)))
        _drop_bytecode(bare)
        source = _measure(ROOT, _env([ROOT], write_bytecode=True), bare, _env([bare], write_bytecode=True),
                          isolated=False, warm_up=True)
        conditions.append(("source tree, venv", source))
        plain_conditions.append(("source tree, venv", _measure(
            plain, _env([plain, ROOT], write_bytecode=True), bare, _env([bare], write_bytecode=True),
            isolated=False, warm_up=True)))

    for label, timing in conditions:
        rows.append({"measure": f"import app: {label}", "value": f"{timing.app * 1000:.0f} ms",
                     "baseline": f"{timing.bare * 1000:.0f} ms", "ratio": round(timing.ratio, 2),
                     "target": f"<= {RATIO_TARGET}x", "ok": timing.ratio <= RATIO_TARGET})
    for label, timing in plain_conditions:
        rows.append({"measure": f"import app, plain registration: {label}", "value": f"{timing.app * 1000:.0f} ms",
                     "baseline": f"{timing.bare * 1000:.0f} ms", "ratio": round(timing.ratio, 2),
                     "target": f"<= {RATIO_TARGET}x", "ok": timing.ratio <= RATIO_TARGET})
    for label, measured in first:
        if isinstance(measured, Timing):
            rows.append({"measure": f"cold start + first request, as deployed: {label}",
                         "value": f"{measured.app * 1000:.0f} ms", "baseline": f"{measured.bare * 1000:.0f} ms",
                         "ratio": round(measured.ratio, 2)})
        else:
            rows.append({"measure": f"cold start + first event, as deployed: {label}",
                         "value": f"{measured * 1000:.0f} ms"})
    first_party, third_party = heavy_imports(lines)
    notes.append(f"baseline: a bare Chalice app importing boto3; medians of {RUNS} fresh processes each, "
                 "interleaved; 'as deployed' is the Lambda cold-start condition")
    notes.append(registration_verdict(dict(conditions), dict(plain_conditions)))
    notes.append("heaviest own modules (as deployed): " + "; ".join(first_party))
    notes.append("heaviest third-party imports (as deployed): " + "; ".join(third_party))
    return {"title": "Lambda package: size and import time (bare Chalice + boto3 as the baseline)", "rows": rows,
            "notes": notes, "package": {"zip_bytes": result.zip_bytes, "unzipped_bytes": result.unzipped_bytes,
                                        "lint_errors": result.lint_errors},
            "import_seconds": {label: {"app": round(t.app, 4), "bare": round(t.bare, 4), "ratio": round(t.ratio, 3)}
                               for label, t in conditions},
            "plain_import_seconds": {label: {"app": round(t.app, 4), "bare": round(t.bare, 4),
                                             "ratio": round(t.ratio, 3)} for label, t in plain_conditions},
            "first_event_seconds": {label: ({"app": round(m.app, 4), "bare": round(m.bare, 4)}
                                            if isinstance(m, Timing) else round(m, 4)) for label, m in first}}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
