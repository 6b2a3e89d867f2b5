"""The secret sentinel: no secret in any API response or log line, across the whole test run.

Registered for every test session by ``tests/conftest.py``. It sees

- every response of the ``Api`` test client (body and headers), and the request that
  caused it: secret-named fields of request bodies (``password``, ``api_key``,
  ``app_password``, ``webhook_secret``, ``refresh_token``, ...) are *learned* as known
  secrets, so a test that sets a provider key or a WordPress application password makes
  that value forbidden in every later response and log line;
- every log record that reaches the root logger or the app's logger (after the app's own
  masking filter, i.e. what would be written): the app's at every level, the libraries' from
  INFO up (their DEBUG output dumps raw requests and responses, DynamoDB items included).

What is looked for: learned secrets, secret-looking environment values (``*_API_KEY``,
``*SECRET*``, ``*PASSWORD*``, ``*TOKEN*``: the signing secret, provider keys set by tests),
and by shape, anything that looks like an access token (JWT), a refresh token
(``<account>.<session>.<256-bit secret>``), an API key (``sk_<prefix>_<secret>``) or a password
hash (``scrypt$...``). Tokens are allowed only in the answers of register, login and refresh,
and an API key only in the answer that creates it, which exist to return them (the
refresh token also in their Set-Cookie header: the browser's httpOnly cookie).

A test during which anything leaked fails (at the end of the phase that leaked), naming
the kind of secret and where it was seen, never the secret itself. Cost: a few regular
expressions per response and per emitted log line.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
REFRESH_TOKEN = re.compile(rf"{_UUID}\.{_UUID}\.[A-Za-z0-9_-]{{43}}")
PASSWORD_HASH = re.compile(r"scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]{8,}")
API_KEY = re.compile(r"sk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}")
SHAPES = {"access token (JWT)": JWT, "refresh token": REFRESH_TOKEN, "password hash": PASSWORD_HASH,
          "API key": API_KEY}
TOKEN_KINDS = frozenset({"access token (JWT)", "refresh token", "API key"})

# Request body fields whose values are secrets (whole name parts, like the app's log mask).
SECRET_FIELD = re.compile(r"(?:^|_)(?:pass(?:word)?|passwd|secrets?|token|api_?key|app_password|"
                          r"private_key|credentials?)(?:$|_)", re.I)
SECRET_ENV = re.compile(r"(?:API_?KEY|SECRET|PASSWORD|PASSWD|TOKEN)", re.I)
ENV_IGNORED = frozenset({"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "PYTEST_CURRENT_TEST"})
# The answers that exist to hand out tokens.
APP_LOGGER = "seo-content-engine"
TOKEN_ROUTES = frozenset({("POST", "/v1/auth/register"), ("POST", "/v1/auth/login"), ("POST", "/v1/auth/refresh"),
                          ("POST", "/v1/auth/invites/accept"), ("POST", "/v1/me/password"),
                          ("POST", "/v1/api-keys")})  # an API key is shown once, in the answer that creates it


def is_secret_like(value: str) -> bool:
    """Long and varied enough that finding it in a response cannot be a coincidence."""
    return len(value) >= 8 and len(set(value)) >= 5


@dataclass
class Leak:
    kind: str
    where: str

    def __str__(self) -> str:
        return f"{self.kind} in {self.where}"


@dataclass
class SecretSentinel:
    known: set[str] = field(default_factory=set)
    responses: int = 0
    log_lines: int = 0
    leaks: list[Leak] = field(default_factory=list)
    total_leaks: int = 0  # leaks that failed a test
    _env_snapshot: tuple[tuple[str, str], ...] = ()
    _env_secrets: frozenset[str] = frozenset()
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _seen: weakref.WeakSet = field(default_factory=weakref.WeakSet)

    # --- learning ---------------------------------------------------------------------

    def learn(self, value: Any) -> None:
        if isinstance(value, str) and is_secret_like(value):
            self.known.add(value)

    def learn_from(self, body: Any, depth: int = 0) -> None:
        """Secret-named fields of a request body, however nested."""
        if depth > 8:
            return
        if isinstance(body, dict):
            for key, value in body.items():
                if isinstance(key, str) and SECRET_FIELD.search(key) and isinstance(value, str):
                    self.learn(value)
                else:
                    self.learn_from(value, depth + 1)
        elif isinstance(body, list):
            for item in body[:100]:
                self.learn_from(item, depth + 1)

    def _secrets_from_env(self) -> frozenset[str]:
        snapshot = tuple(os.environ.items())
        if snapshot != self._env_snapshot:
            self._env_snapshot = snapshot
            self._env_secrets = frozenset(v for k, v in snapshot
                                          if k not in ENV_IGNORED and SECRET_ENV.search(k) and is_secret_like(v))
        return self._env_secrets

    # --- looking ------------------------------------------------------------------------

    def find(self, text: str, *, tokens_allowed: bool = False) -> list[str]:
        """The kinds of secrets in ``text`` (never the secrets themselves)."""
        found = [kind for kind, pattern in SHAPES.items()
                 if not (tokens_allowed and kind in TOKEN_KINDS) and pattern.search(text)]
        if any(secret in text for secret in self.known):
            found.append("a secret sent by the test (password, API key, application password, ...)")
        if any(secret in text for secret in self._secrets_from_env()):
            found.append("a secret from the environment (signing secret, provider key, ...)")
        return found

    def _record(self, kinds: Iterable[str], where: str) -> None:
        with self._lock:
            self.leaks.extend(Leak(kind, where) for kind in kinds)

    def check_response(self, method: str, path: str, status: int, headers: dict[str, str], raw: bytes) -> None:
        self.responses += 1
        route = (method.upper(), path.split("?", 1)[0])
        text = raw.decode("utf-8", errors="replace") if raw else ""
        tokens_allowed = route in TOKEN_ROUTES and 200 <= status < 300
        # Those answers also hand the browser its refresh token as a cookie: that one, nothing else.
        cookie = "\n".join(v for k, v in headers.items() if tokens_allowed and k.lower() == "set-cookie")
        head = "\n".join(f"{k}: {v}" for k, v in headers.items() if not (tokens_allowed and k.lower() == "set-cookie"))
        kinds = (self.find(text, tokens_allowed=tokens_allowed) + self.find(head)
                 + [kind for kind in self.find(cookie) if kind != "refresh token"])
        if kinds:
            self._record(kinds, f"the response to {method.upper()} {route[1]} ({status})")

    def check_log_record(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.INFO and not record.name.startswith(APP_LOGGER):
            return  # libraries' DEBUG wire dumps (botocore: raw DynamoDB items), never on in production
        with self._lock:
            if record in self._seen:
                return  # the same record, seen again after propagating to the root logger
            self._seen.add(record)
        self.log_lines += 1
        try:
            parts = [record.getMessage()]
        except Exception:  # a broken log call is not ours to judge
            parts = [str(record.msg)]
        for name, value in vars(record).items():
            if name not in _STANDARD_FIELDS:
                parts.append(f"{name}={value!r}")
        if record.exc_info and record.exc_info[1] is not None:
            parts.append(repr(record.exc_info[1]))
        kinds = self.find("\n".join(parts))
        if kinds:
            self._record(kinds, f"a log line of {record.name} ({record.levelname}): {record.msg!s:.60}")

    def take(self) -> list[Leak]:
        with self._lock:
            leaks, self.leaks = self.leaks, []
        return leaks

    # --- wiring -------------------------------------------------------------------------

    def wrap_client(self, api_class: type) -> None:
        """Wrap ``api_class.request`` (the tests' JSON client) so every answer is looked at."""
        original = api_class.request
        if getattr(original, "_sentinel", False):
            return
        sentinel = self

        def request(client: Any, method: str, path: str, *, json_body: Any = None, body: Any = None,
                    **kw: Any) -> Any:
            if json_body is not None:
                sentinel.learn_from(json_body)
            resp = original(client, method, path, json_body=json_body, body=body, **kw)
            sentinel.check_response(method, path, resp.status, resp.headers, resp.raw)
            return resp

        request._sentinel = True  # type: ignore[attr-defined]
        api_class.request = request

    def handler(self) -> logging.Handler:
        return _SentinelHandler(self)


_STANDARD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class _SentinelHandler(logging.Handler):
    def __init__(self, sentinel: SecretSentinel) -> None:
        super().__init__(logging.NOTSET)
        self.sentinel = sentinel


    def emit(self, record: logging.LogRecord) -> None:
        self.sentinel.check_log_record(record)


class SentinelPlugin:
    """The pytest side: fail the test phase that leaked, print the figures at the end."""

    def __init__(self, sentinel: SecretSentinel, logger_names: Iterable[str] = ("", APP_LOGGER)) -> None:
        self.sentinel = sentinel
        # One handler per logger: Powertools puts a filter on the root logger's handlers that
        # drops its own records there (so they are not written twice).
        self._handlers = {name: sentinel.handler() for name in logger_names}

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        for name, handler in self._handlers.items():
            logging.getLogger(name).addHandler(handler)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        for name, handler in self._handlers.items():
            logging.getLogger(name).removeHandler(handler)

    def _fail_on_leaks(self, phase: str) -> None:
        leaks = self.sentinel.take()
        if leaks:
            self.sentinel.total_leaks += len(leaks)
            listed = "\n  ".join(sorted({str(leak) for leak in leaks}))
            raise AssertionError(f"secret sentinel: a secret leaked during {phase}:\n  {listed}")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Any:
        self.sentinel.take()  # whatever happened between tests is not this test's doing
        result = yield
        self._fail_on_leaks("setup")
        return result

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        result = yield
        self._fail_on_leaks("the test")
        return result

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        result = yield
        self._fail_on_leaks("teardown")
        return result

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        s = self.sentinel
        if s.responses or s.log_lines:
            terminalreporter.write_line(
                f"secret sentinel: {s.responses} API responses and {s.log_lines} log lines checked, "
                f"{len(s.known)} learned secrets, {s.total_leaks} leaks")
