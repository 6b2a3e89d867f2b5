"""Shared fixtures: an isolated AWS (moto in-process), the Chalice test client, accounts.

Every test runs with a guard that fails on any DynamoDB Scan (DESIGN.md rule 2).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Settings before any chalicelib import: table names are fixed when models are imported.
for _name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_S3",
              "AWS_PROFILE"):
    os.environ.pop(_name, None)
os.environ.update(
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    APP_SIGNING_SECRET="test-signing-secret-0123456789abcdef0123456789",
    ALLOW_LOOPBACK_TARGETS="1",
    POWERTOOLS_LOG_LEVEL="WARNING",
    DELETION_GRACE_SECONDS="0",  # workers here run one at a time: nothing is in flight when a delete is accepted
)

import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402
from pynamodb.connection.base import Connection  # noqa: E402

from infra.local import provision  # noqa: E402


class ScanForbidden(AssertionError):
    pass


@dataclass
class DynamoCalls:
    """Counts DynamoDB operations made through PynamoDB during a test."""

    counts: Counter = field(default_factory=Counter)

    def reset(self) -> None:
        self.counts.clear()

    @property
    def total(self) -> int:
        return sum(self.counts.values())


_calls = DynamoCalls()
_original_make_api_call = Connection._make_api_call


def _guarded_make_api_call(self: Connection, operation_name: str, operation_kwargs: dict) -> Any:
    if operation_name == "Scan":
        raise ScanForbidden("A DynamoDB Scan was made; every access must be a GetItem or a Query.")
    _calls.counts[operation_name] += 1
    return _original_make_api_call(self, operation_name, operation_kwargs)


Connection._make_api_call = _guarded_make_api_call  # type: ignore[method-assign]


def _serialise_moto_writes() -> None:
    """Make moto's in-process DynamoDB apply each write atomically, as DynamoDB does.

    moto checks a condition and then writes without a lock, so two threads can both pass
    the same condition; the real service (and DynamoDB Local) never lets that happen.
    Without this, race tests on moto would fail for moto's sake, not ours.
    """
    import functools
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        @functools.wraps(original)
        def locked(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(*args, **kwargs)

        setattr(DynamoDBBackend, name, locked)


_serialise_moto_writes()

from infra.bench import moto_patch  # noqa: E402

moto_patch.apply()  # transactions copy only the items they touch (moto copies whole tables)


@pytest.fixture
def dynamo_calls() -> DynamoCalls:
    _calls.reset()
    return _calls


@pytest.fixture
def aws():
    """A fresh, empty AWS (moto in-process) with every table, queue and the bucket."""
    # PynamoDB's cached clients are kept: moto intercepts every client once it is
    # imported, and building ~30 botocore clients per test would dominate the run time.
    from chalicelib.services import ttl_cache

    ttl_cache.clear_all()  # platform records cached by one test must not leak into the next
    with mock_aws():
        provision.create_tables(wait=False, assume_empty=True)
        provision.create_queues()
        provision.create_bucket()
        provision.create_mail_identity()
        yield
    ttl_cache.clear_all()


@pytest.fixture
def app(aws):
    from app import app as chalice_app

    return chalice_app


@dataclass
class Resp:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    @property
    def error_code(self) -> str | None:
        body = self.json
        return body.get("error", {}).get("code") if isinstance(body, dict) else None


class Api:
    """A thin JSON client over chalice.test.Client's HTTP interface."""

    def __init__(self, client: Any) -> None:
        self._http = client.http

    def request(self, method: str, path: str, *, json_body: Any = None, token: str | None = None,
                body: bytes | str | None = None, headers: dict[str, str] | None = None) -> Resp:
        hdrs = {"content-type": "application/json"}
        if token:
            hdrs["authorization"] = f"Bearer {token}"
        hdrs.update(headers or {})
        if json_body is not None:
            body = json.dumps(json_body)
        r = self._http.request(method, path, body=body or b"", headers=hdrs)
        raw = r.body if isinstance(r.body, bytes) else (r.body or "").encode()
        return Resp(r.status_code, dict(r.headers), raw)

    def get(self, path: str, **kw: Any) -> Resp:
        return self.request("GET", path, **kw)

    def post(self, path: str, json_body: Any = None, **kw: Any) -> Resp:
        return self.request("POST", path, json_body=json_body, **kw)

    def patch(self, path: str, json_body: Any = None, **kw: Any) -> Resp:
        return self.request("PATCH", path, json_body=json_body, **kw)

    def put(self, path: str, json_body: Any = None, **kw: Any) -> Resp:
        return self.request("PUT", path, json_body=json_body, **kw)

    def delete(self, path: str, **kw: Any) -> Resp:
        return self.request("DELETE", path, **kw)


@pytest.fixture
def client(app):
    from chalice.test import Client

    with Client(app) as c:
        yield c


@pytest.fixture
def api(client) -> Api:
    return Api(client)


@dataclass
class Member:
    account_id: str
    user_id: str
    token: str
    refresh_token: str
    email: str
    password: str


_counter = {"n": 0}


def _unique_email(prefix: str) -> str:
    _counter["n"] += 1
    return f"{prefix}{_counter['n']}@example.com"


@pytest.fixture
def register(api):
    """register(plan="growth") -> Member (owner of a new account)."""

    def _register(prefix: str = "owner", *, plan: str | None = "growth") -> Member:
        email, password = _unique_email(prefix), "correct horse battery"
        r = api.post("/v1/auth/register", {"account_name": f"{prefix} Inc", "email": email, "password": password})
        assert r.status == 201, r.json
        body = r.json
        member = Member(body["account"]["account_id"], body["user"]["user_id"], body["tokens"]["access_token"],
                        body["tokens"]["refresh_token"], email, password)
        if plan:
            set_plan(member.account_id, plan)
        return member

    return _register


def set_plan(account_id: str, plan_id: str) -> None:
    from chalicelib.models.accounts import Account

    Account(account_id).update(actions=[Account.plan_id.set(plan_id)])


@pytest.fixture
def add_member(api):
    """add_member(owner, role) -> Member of the owner's account with that role."""

    def _add(owner: Member, role: str) -> Member:
        email, password = _unique_email(role), "another good password"
        r = api.post("/v1/users", {"email": email, "password": password, "role": role}, token=owner.token)
        assert r.status == 201, r.json
        login = api.post("/v1/auth/login", {"email": email, "password": password}).json
        return Member(owner.account_id, r.json["user_id"], login["access_token"], login["refresh_token"],
                      email, password)

    return _add


@pytest.fixture
def make_staff():
    """make_staff(member): flag a user as platform staff (only possible from inside)."""
    from chalicelib.models.accounts import User

    def _make(member: Member) -> Member:
        User(member.account_id, member.user_id).update(actions=[User.is_staff.set(True)])
        return member

    return _make


@dataclass
class Mail:
    """The mail the product sent during a test: ``deliver()`` runs the mail queue's worker, then
    ``latest(to)`` is the newest message to that address (infra.local.mailbox reads the .eml files)."""

    box: Any

    def deliver(self) -> int:
        import app as app_module
        from chalicelib import registry
        from infra.local.worker import WorkerLoop

        loop = WorkerLoop(app_module, queues=[registry.queue("mail")], backoff=lambda receive_count: 0)
        return sum(len(r.message_ids) for r in loop.drain())

    def latest(self, to: str) -> Any:
        self.deliver()
        return self.box.latest(to)

    def token(self, to: str, path: str) -> str:
        from infra.local import mailbox

        return mailbox.token(self.latest(to), path)

    def count(self, to: str | None = None) -> int:
        self.deliver()
        return len(self.box.messages(to))


@pytest.fixture
def mail(aws, tmp_path, monkeypatch) -> Mail:
    """Sent e-mail, kept as .eml files in a temporary MAIL_OUTBOX_DIR (moto's SES takes them too)."""
    from infra.local.mailbox import Mailbox

    monkeypatch.setenv("MAIL_OUTBOX_DIR", str(tmp_path / "mail"))
    return Mail(Mailbox(tmp_path / "mail"))


# --- the secret sentinel: no secret in any API response or log line of the whole run ----------
# (tests/security/sentinel.py; it fails the test during which something leaked)
from tests.security.sentinel import SecretSentinel, SentinelPlugin  # noqa: E402

SENTINEL = SecretSentinel()
SENTINEL.wrap_client(Api)


def pytest_configure(config):
    config.pluginmanager.register(SentinelPlugin(SENTINEL), "secret-sentinel")


# --- figures of the chaos and load suites, printed at the end of the session --------------------

_FIGURES = pytest.StashKey[list]()


@pytest.fixture
def report(request):
    """report(title, lines): printed in the terminal summary, so ``make test`` shows them though it captures."""
    figures = request.config.stash.setdefault(_FIGURES, [])

    def add(title: str, lines: list[str]) -> None:
        figures.append((title, lines))

    return add


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    for title, lines in config.stash.get(_FIGURES, []):
        terminalreporter.write_sep("-", title)
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(autouse=True)
def _product_clock_back_to_now():
    """A test that moves the product clock (timeutil.advance) must not move it for the tests after it."""
    yield
    from chalicelib import timeutil

    timeutil.reset()
