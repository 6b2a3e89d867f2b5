"""Load: concurrent API clients and 8 workers against the local stack on DynamoDB Local (``infra.load``).

``make test`` runs the fast profile (10 s, 4 clients); ``make load`` the full one (60 s, 12
clients) with its table. Both fail on any error (5xx or an unexpected 4xx) or a broken invariant.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from infra.local.processes import ROOT

pytestmark = [pytest.mark.load, pytest.mark.e2e, pytest.mark.ddb_local]

SECONDS = os.environ.get("LOAD_SECONDS", "10")
CLIENTS = os.environ.get("LOAD_CLIENTS", "4")


def test_concurrent_clients_and_workers_make_no_errors_and_keep_the_invariants(tmp_path, report):
    if not shutil.which("java"):
        if os.environ.get("CI") or os.environ.get("REQUIRE_DYNAMODB_LOCAL"):
            pytest.fail("java is required for DynamoDB Local here")
        pytest.skip("java is not installed: DynamoDB Local cannot run")
    out = tmp_path / "load.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in [n for n in env if n.startswith("AWS_ENDPOINT_URL")]:
        env.pop(name)
    done = subprocess.run([sys.executable, "-m", "infra.load", "--seconds", SECONDS, "--clients", CLIENTS,
                           "--workers", "8", "--output", str(out), "--state-dir", str(tmp_path / "stack")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    printed = done.stdout.strip().splitlines()
    report(f"load (fast profile: {SECONDS}s, {CLIENTS} clients, 8 workers, DynamoDB Local)",
           printed[-20:] or done.stderr.splitlines()[-20:])
    assert out.exists(), done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["errors"] == 0, result["error_examples"]
    assert result["invariants"]["ok"], result["invariants"]["problems"]
    classes = {row["class"]: row for row in result["rows"]}
    assert {"read", "write", "job", "auth", "all"} <= set(classes), classes
    assert classes["all"]["requests"] > 0 and classes["job"]["requests"] > 0
    assert result["invariants"]["job_items"] > 0  # the workers really worked
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
