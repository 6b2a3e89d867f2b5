"""`make run` for real: the stack as a process tree, driven over HTTP, stopped with Ctrl-C."""

from __future__ import annotations

import base64
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.demo import Http, StepFailed
from infra.local.processes import BackgroundStack, descendants, is_running

pytestmark = pytest.mark.e2e


def _start(state_dir: Path, *extra: str) -> BackgroundStack:
    stack = BackgroundStack.start(state_dir=state_dir, extra_args=list(extra))
    try:
        stack.wait_healthy(timeout=150)
    except Exception:
        stack.interrupt(timeout=30)
        pytest.fail(f"the local stack did not start:\n{stack.log_tail(60)}")
    return stack


@pytest.fixture
def moto_stack(tmp_path: Path) -> Iterator[BackgroundStack]:
    stack = _start(tmp_path / "state")
    yield stack
    stack.interrupt(timeout=30)


@pytest.fixture
def ddb_local_stack(tmp_path: Path) -> Iterator[BackgroundStack]:
    if not shutil.which("java"):
        if os.environ.get("CI") or os.environ.get("REQUIRE_DYNAMODB_LOCAL"):
            pytest.fail("java is required for DynamoDB Local here")
        pytest.skip("java is not installed: DynamoDB Local cannot run")
    stack = _start(tmp_path / "state", "--dynamodb", "local")
    yield stack
    stack.interrupt(timeout=30)


def _register(http: Http, prefix: str) -> tuple[str, str]:
    email, password = f"{prefix}-{uuid.uuid4().hex[:10]}@example.com", "correct horse battery staple"
    body = http.post("/v1/auth/register", {"account_name": f"{prefix} Inc", "email": email, "password": password},
                     expect=201)
    tokens = http.post("/v1/auth/login", {"email": email, "password": password})
    return body["account"]["account_id"], tokens["access_token"]


def _tampered(token: str, account_id: str) -> list[str]:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["acc"] = account_id
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    mid = len(signature) // 2
    flipped = signature[:mid] + ("A" if signature[mid] != "A" else "B") + signature[mid + 1:]
    return [f"{header}.{forged}.{signature}", f"{header}.{payload}.{flipped}", token + "x"]


def _exercise(stack: BackgroundStack) -> None:
    http = Http(stack.api_url)
    assert http.get("/v1/health") == {"status": "ok"}

    account_a, token_a = _register(http, "e2e-a")
    site = http.post("/v1/sites", {"name": "E2E blog", "domain": "e2e.example.com", "time_zone": "Europe/Berlin"},
                     token=token_a, expect=201)
    sector = http.post(f"/v1/sites/{site['site_id']}/sectors", {"name": "Grinders"}, token=token_a, expect=201)
    me = http.get("/v1/me", token=token_a)
    assert me["account"]["account_id"] == account_a and me["account"]["site_count"] == 1
    site_path = f"/v1/sites/{site['site_id']}"
    sector_path = f"{site_path}/sectors/{sector['sector_id']}"
    assert http.get(sector_path, token=token_a)["name"] == "Grinders"

    # Another account sees nothing of account A: not even that the records exist.
    _account_b, token_b = _register(http, "e2e-b")
    for method, path in (("GET", site_path), ("GET", sector_path), ("GET", f"{site_path}/sectors"),
                         ("PATCH", site_path), ("DELETE", sector_path)):
        body = {"name": "hijack"} if method == "PATCH" else None
        answer = http.call(method, path, body, token=token_b, expect=404)
        assert answer["error"]["code"] == "not_found", (method, path, answer)
    assert http.get("/v1/sites", token=token_b)["items"] == []

    # A token whose claims or signature were touched is no token at all.
    for bad in _tampered(token_b, account_a):
        with pytest.raises(StepFailed) as failed:
            http.get(site_path, token=bad)
        assert failed.value.status == 401, failed.value.body
    assert http.get(site_path, token=token_a)["site_id"] == site["site_id"]

    document = http.get("/v1/openapi.json")
    assert document["openapi"].startswith("3.") and "/v1/sites" in document["paths"]
    docs = http.session.get(f"{stack.api_url}/v1/docs", timeout=10)
    assert docs.status_code == 200 and "text/html" in docs.headers["Content-Type"]
    assert "openapi.json" in docs.text


def _interrupt_and_check_no_orphans(stack: BackgroundStack, expected_children: set[str]) -> None:
    info = stack.info()
    assert set(info["children"]) == expected_children
    tree = descendants(stack.child.pid)
    assert set(info["children"].values()) <= tree
    assert all(is_running(pid) for pid in tree)

    code = stack.interrupt(timeout=60)  # SIGINT, as Ctrl-C in a terminal

    assert code == 0, stack.log_tail()
    assert [pid for pid in tree if is_running(pid)] == [], "processes outlived the stack"
    assert not (stack.state_dir / "stack.json").exists()
    assert "local stack stopped." in stack.log_tail()


def test_local_stack_on_moto(moto_stack: BackgroundStack) -> None:
    info = moto_stack.info()
    assert info["dynamodb"] == "moto" and info["dynamodb_endpoint"] == info["moto_endpoint"]
    assert info["moto_endpoint"] == f"http://127.0.0.1:{moto_stack.moto_port}"
    assert info["api_url"] == f"{moto_stack.api_url}/v1"
    secret = moto_stack.state_dir / "signing-secret"
    assert secret.stat().st_mode & 0o777 == 0o600
    _exercise(moto_stack)
    _interrupt_and_check_no_orphans(moto_stack, {"moto", "chalice"})


@pytest.mark.ddb_local
def test_local_stack_on_dynamodb_local(ddb_local_stack: BackgroundStack) -> None:
    info = ddb_local_stack.info()
    assert info["dynamodb"] == "local" and info["dynamodb_endpoint"] != info["moto_endpoint"]
    _exercise(ddb_local_stack)
    _interrupt_and_check_no_orphans(ddb_local_stack, {"moto", "chalice", "dynamodb_local"})


def test_killing_the_stack_outright_leaves_no_orphans(tmp_path: Path) -> None:
    """Even `kill -9` (no clean-up possible) takes the children down: they die with their parent."""
    import signal
    import time

    stack = _start(tmp_path / "state", "--no-clock")
    try:
        tree = descendants(stack.child.pid)
        assert set(stack.info()["children"].values()) <= tree
        os.kill(stack.child.pid, signal.SIGKILL)
        stack.child.process.wait(timeout=10)
        deadline = time.monotonic() + 15
        while any(is_running(pid) for pid in tree) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [pid for pid in tree if is_running(pid)] == []
    finally:
        stack.child.stop(timeout=5)
