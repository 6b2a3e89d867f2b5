"""``make package STAGE=prod``: the deployable artefacts in ``build/<stage>/``.

1. regenerate the IAM policies and per-function settings (``infra.cloud.policies``),
2. generate the merge template (``infra.cloud.template``, in a fresh process with the
   stage's environment, as ``chalice package`` imports the app),
3. ``chalice package --merge-template`` -> ``sam.json`` + ``deployment.zip``,
4. slim ``deployment.zip``: drop what the Lambda runtime already has (boto3, botocore and
   their dependencies: botocore alone is 16 MB zipped), recompress at the highest level, and
   add bytecode: Lambda's /var/task is read-only, so whatever has no .pyc is compiled again
   at every cold start. Ours (app.py, chalicelib) always; the libraries ``import app`` loads
   (found by importing it from the zip alone, which also proves the zip is complete) while
   the zip stays under ``BYTECODE_BUDGET_BYTES``,
5. check the merged template (every resource typed, every SQS event source with
   ReportBatchItemFailures) and run ``cfn-lint`` on it (errors fail the build),
6. write ``build/<stage>/package.json``: sizes, lint result, and a fingerprint of the inputs
   (``make bench`` reuses a fresh build instead of packaging again).

Needs no AWS account or credentials; ``chalice package`` downloads Linux wheels from PyPI
(cached in ``.chalice/deployments`` after the first run).
"""

from __future__ import annotations

import argparse
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


def slim_zip(path: Path, *, compile_own: bool = True) -> tuple[int, list[str]]:
    """Rewrite the zip without the runtime-provided packages; return (bytes removed, tops removed).

    ``compile_own``: add bytecode for app.py and chalicelib. Lambda's /var/task is read-only,
    so without it every cold start compiles our ~90 modules again; the .pyc files are made
    from the very sources in the zip by the Python that chose the runtime (Chalice takes the
    runtime version from it), as unchecked-hash .pyc (zip entries carry no usable mtime).
    """
    before = path.stat().st_size
    removed: set[str] = set()
    tmp = path.with_suffix(".slim.zip")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            if _RUNTIME_ENTRY.match(info.filename):
                removed.add(info.filename.split("/", 1)[0])
                continue
            if "/__pycache__/" in f"/{info.filename}":  # the developer's own bytecode, stale or not
                continue
            data = src.read(info)
            dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
            own = info.filename == "app.py" or (info.filename.startswith("chalicelib/")
                                                and info.filename.endswith(".py"))
            if compile_own and own:
                name, pyc = _bytecode(info.filename, data)
                entry = zipfile.ZipInfo(name, date_time=info.date_time)
                entry.external_attr = info.external_attr
                dst.writestr(entry, pyc, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    tmp.replace(path)
    return before - path.stat().st_size, sorted(removed)


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


_PROBE = ("import json, sys, app; print(json.dumps(sorted({getattr(m, '__file__', None) or '' "
          "for m in list(sys.modules.values())})))")


def cold_start_files(zip_path: Path, stage_env: dict[str, str]) -> list[str]:
    """Zip entries (.py) that ``import app`` loads, with only the zip and the runtime on the path."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="cold-start-") as tmp:
        task = Path(tmp) / "task"
        with zipfile.ZipFile(zip_path) as z:
            z.extractall(task)
        runtime = runtime_dir(Path(tmp) / "runtime")
        env = {"PATH": os.environ.get("PATH", ""), **stage_env, "PYTHONDONTWRITEBYTECODE": "1",
               "PYTHONPATH": f"{task}{os.pathsep}{runtime}", "AWS_DEFAULT_REGION": "us-east-1"}
        proc = subprocess.run([sys.executable, "-S", "-c", _PROBE], cwd=task, env=env, capture_output=True,
                              text=True, check=False)
        if proc.returncode != 0:
            raise PackageError(f"`import app` fails from deployment.zip alone:\n{proc.stderr[-3000:]}")
        prefix = str(task) + os.sep
        return sorted(f[len(prefix):] for f in json.loads(proc.stdout.splitlines()[-1])
                      if f.startswith(prefix) and f.endswith(".py"))


def add_bytecode(zip_path: Path, names: Sequence[str], budget: int = BYTECODE_BUDGET_BYTES) -> tuple[int, int]:
    """Add unchecked-hash .pyc for ``names`` (largest first) while the zip stays under ``budget``.

    Returns (files added, bytes added to the zip)."""
    import zlib

    before = zip_path.stat().st_size
    size = before
    added = 0
    with zipfile.ZipFile(zip_path, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        present = set(z.namelist())
        sources = [(name, z.read(name)) for name in names if name in present]
        for name, source in sorted(sources, key=lambda item: -len(item[1])):
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
    inputs = fingerprint()  # before building: an edit made meanwhile makes the result stale, not wrong
    out_dir = out_dir or ROOT / "build" / stage
    out_dir.mkdir(parents=True, exist_ok=True)
    for previous in ("sam.json", "deployment.zip", "package.json"):
        (out_dir / previous).unlink(missing_ok=True)
    if write_policies:
        changed = policies.write()
    else:
        changed = []
        stale = policies.stale()
        if stale:
            raise PackageError(f"stale generated files: {', '.join(stale)} (run `python -m infra.cloud.policies`)")
    env = _env(stage_environment(stage))
    merge = out_dir / "merge.json"
    _run([sys.executable, "-m", "infra.cloud.template", "--stage", stage, "--out", str(merge)], env, "the template")
    _run([_tool("chalice"), "package", "--stage", stage, "--merge-template", str(merge), str(out_dir)], env,
         "chalice package")
    removed_bytes, removed = slim_zip(out_dir / "deployment.zip", compile_own=bytecode)
    if bytecode:
        cold = [n for n in cold_start_files(out_dir / "deployment.zip", stage_environment(stage))
                if n != "app.py" and not n.startswith("chalicelib/")]  # ours: compiled by slim_zip
        bytecode_files, bytecode_bytes = add_bytecode(out_dir / "deployment.zip", cold)
    else:
        bytecode_files = bytecode_bytes = 0
    sam = json.loads((out_dir / "sam.json").read_text())
    problems = check_template(sam)
    if problems:
        raise PackageError("the merged template is broken:\n  " + "\n  ".join(problems))
    errors, warnings, output = cfn_lint(out_dir / "sam.json") if lint else (-1, -1, "not run")
    zipped, unzipped, files = zip_sizes(out_dir / "deployment.zip")
    result = PackageResult(stage=stage, out_dir=str(out_dir.relative_to(ROOT) if out_dir.is_relative_to(ROOT)
                                                    else out_dir),
                           fingerprint=inputs, zip_bytes=zipped, unzipped_bytes=unzipped, files=files,
                           removed_bytes=removed_bytes, removed=removed, lint_errors=errors, lint_warnings=warnings,
                           lint_output=output.strip(), seconds=round(time.perf_counter() - started, 1),
                           policies_changed=changed, bytecode_files=bytecode_files,
                           bytecode_bytes=bytecode_bytes)
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
    print(f"{result.out_dir}/sam.json, {result.out_dir}/deployment.zip ({result.seconds}s)")
    print(f"deployment.zip: {result.zip_bytes / 1e6:.2f} MB zipped ({result.zip_mb:.2f} MiB), "
          f"{result.unzipped_bytes / 1e6:.1f} MB unzipped, {result.files} files; "
          f"runtime-provided {', '.join(result.removed) or 'nothing'} removed (-{result.removed_bytes / 1e6:.1f} MB); "
          f"bytecode for {result.bytecode_files} cold-start library modules (+{result.bytecode_bytes / 1e6:.2f} MB)")
    if result.lint_errors >= 0:
        print(f"cfn-lint: {result.lint_errors} errors, {result.lint_warnings} warnings")
        if result.lint_output:
            print(result.lint_output)
    failed = result.lint_errors > 0
    if result.zip_bytes > MAX_ZIP_BYTES:
        print(f"error: deployment.zip is over {MAX_ZIP_BYTES // 1024 // 1024} MiB", file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
