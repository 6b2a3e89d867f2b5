"""cfn-lint on the merged template, and the real ``chalice package`` output.

- ``test_cfn_lint_passes_on_the_merged_template``: Chalice's template made offline, merged
  with ours, linted (about 15 s of cfn-lint, no network): part of the default run.
- ``test_the_built_package``: checks ``build/prod`` when ``make package STAGE=prod`` left a
  build that is fresh (its inputs unchanged). Otherwise it builds one itself only when asked
  (``RUN_PACKAGE=1``: it needs PyPI for the Linux wheels and takes 30-60 s); else it skips.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra.cloud import chalice_sam
from infra.cloud.package import (
    MAX_ZIP_BYTES,
    PRUNE,
    RUNTIME_PROVIDED,
    PackageError,
    PackageResult,
    _metadata_headers,
    cfn_lint,
    check_template,
    fresh_result,
    package,
    pruned,
)

pytestmark = pytest.mark.slow
STAGE = "prod"
ROOT = Path(__file__).resolve().parents[2]


def test_cfn_lint_passes_on_the_merged_template(tmp_path: Path) -> None:
    merged = chalice_sam.merged_template(STAGE)
    assert check_template(merged) == []
    path = tmp_path / "sam.json"
    path.write_text(json.dumps(merged))
    errors, _warnings, output = cfn_lint(path)
    assert errors == 0, output


def _pypi_reachable(dest: Path) -> bool:
    probe = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest",
                            str(dest), "--only-binary=:all:", "six==1.17.0"],
                           capture_output=True, text=True, check=False, timeout=60)
    return probe.returncode == 0


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> PackageResult:
    result = fresh_result(STAGE)
    if result is not None:
        return result
    if os.environ.get("RUN_PACKAGE") != "1":
        pytest.skip("no fresh build/prod: run `make package STAGE=prod` first, or RUN_PACKAGE=1 to build here")
    if not _pypi_reachable(tmp_path_factory.mktemp("probe")):
        pytest.skip("PyPI is not reachable: chalice package needs it for the Linux wheels")
    try:
        return package(STAGE, out_dir=tmp_path_factory.mktemp("package"), write_policies=False)
    except PackageError as exc:
        pytest.fail(str(exc))


def test_the_built_package(built: PackageResult) -> None:
    out = Path(built.out_dir) if Path(built.out_dir).is_absolute() else ROOT / built.out_dir
    assert built.lint_errors == 0, built.lint_output
    assert built.zip_bytes <= MAX_ZIP_BYTES
    sam = json.loads((out / "sam.json").read_text())
    assert check_template(sam) == []
    with zipfile.ZipFile(out / "deployment.zip") as z:
        names = z.namelist()
        metadata = z.read(next(n for n in names if n.startswith("pydantic-") and n.endswith(".dist-info/METADATA")))
    tops = {name.split("/", 1)[0] for name in names}
    assert {"app.py", "chalicelib", "chalice", "pynamodb", "pydantic", "aws_lambda_powertools", "stripe",
            "openai"} <= tops
    assert "chalicelib/manifest.json" in names
    runtime = {m for modules in RUNTIME_PROVIDED.values() for m in modules}
    assert not tops & runtime, "boto3/botocore and their dependencies come with the Lambda runtime"
    assert not {"pip", "setuptools", "yaml"} & tops
    assert not [n for n in names if pruned(n)], "PRUNE'd files are in the zip"
    assert any(n.startswith("stripe/_") for n in names) and not any(n.startswith("stripe/params/") for n in names)
    assert b"Version: " in metadata and len(metadata) < 4000  # headers only, no README
    assert built.pruned_files > 0 and built.bytecode_files > 0


def test_pruning_rules() -> None:
    assert pruned("stripe/params/_customer_create_params.py")
    assert pruned("openai-3.57.0.dist-info/RECORD") and pruned("pydantic_core/core_schema.pyi")
    assert pruned("aws_lambda_powertools/utilities/idempotency/base.py")
    for kept in ("stripe/_customer.py", "stripe/_webhook.py", "aws_lambda_powertools/utilities/batch/base.py",
                 "openai-3.57.0.dist-info/METADATA", "nh3/nh3.abi3.so", "chalicelib/manifest.json"):
        assert pruned(kept) is None, kept
    assert all(why for why in PRUNE.values())
    metadata = (b"Metadata-Version: 2.4\nName: x\nVersion: 1.0\nDescription: old style\n        | more\n"
                b"Requires-Dist: y>=1\n\n# README\nlots of text\n")
    assert _metadata_headers(metadata) == b"Metadata-Version: 2.4\nName: x\nVersion: 1.0\nRequires-Dist: y>=1\n"


INVOKE = r'''
import json
import app

class Context:
    aws_request_id = "req-1"
    function_name = "seo-content-engine-prod"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:seo-content-engine-prod"

def http(path):
    return {"resource": path, "path": path, "httpMethod": "GET", "headers": {"accept": "application/json"},
            "multiValueHeaders": {}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
            "pathParameters": None, "stageVariables": None, "body": None, "isBase64Encoded": False,
            "requestContext": {"resourcePath": path, "httpMethod": "GET", "requestId": "api-req-1",
                               "path": "/api" + path, "stage": "api"}}

out = {name: app.app(http(path), Context()) for name, path in (("health", "/v1/health"),
                                                             ("me", "/v1/me"),
                                                             ("openapi", "/v1/openapi.json"))}
worker = next(n for n in dir(app) if n.startswith("worker_"))
record = {"messageId": "m1", "receiptHandle": "h", "body": "not json", "attributes": {"ApproximateReceiveCount": "1"},
          "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
          "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"}
out["worker"] = getattr(app, worker)({"Records": [record]}, Context())
print("RESULT " + json.dumps({k: (v if k == "worker" else {"statusCode": v["statusCode"]}) for k, v in out.items()}))
'''


def test_the_built_package_runs_on_the_lambda_runtime_alone(built: PackageResult, tmp_path: Path) -> None:
    """The zip plus what the runtime provides, nothing from the venv: the API answers (each
    blueprint imported on its first request), a worker reports a bad record as a batch item
    failure (the SQS path's lazy imports included)."""
    from infra.cloud.functions import stage_environment
    from infra.cloud.package import runtime_dir

    out = Path(built.out_dir) if Path(built.out_dir).is_absolute() else ROOT / built.out_dir
    task = tmp_path / "task"
    with zipfile.ZipFile(out / "deployment.zip") as z:
        z.extractall(task)
    runtime = runtime_dir(tmp_path / "runtime")
    env = {"PATH": os.environ.get("PATH", ""), **stage_environment(STAGE),
           "PYTHONPATH": f"{task}{os.pathsep}{runtime}", "PYTHONDONTWRITEBYTECODE": "1",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
           "AWS_LAMBDA_FUNCTION_NAME": "seo-content-engine-prod",
           "SECRETS_KMS_KEY_ID": "alias/seo-prod-secrets", "APP_SIGNING_SECRET": "x" * 40,
           "AWS_ACCESS_KEY_ID": "none", "AWS_SECRET_ACCESS_KEY": "none"}
    proc = subprocess.run([sys.executable, "-S", "-c", INVOKE], cwd=task, env=env, capture_output=True, text=True,
                          check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))[7:])
    assert result["health"]["statusCode"] == 200 and result["openapi"]["statusCode"] == 200
    assert result["me"]["statusCode"] == 401  # a blueprint imported on first use, from the zip alone
    assert result["worker"] == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
