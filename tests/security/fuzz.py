"""Schemathesis against the API's own OpenAPI document, every operation, authenticated.

``run_fuzz(schema, target, ...)`` generates cases for each operation (positive: valid per
the schema; negative: invalid in one place), sends them with a real token and checks each
answer:

- no 5xx (schemathesis ``not_a_server_error``);
- the status, content type and body match the operation's documented responses
  (``status_code_conformance``, ``content_type_conformance``, ``response_schema_conformance``);
- invalid input is refused with a 4xx (``negative_data_rejection``: reported, not failed, as
  pydantic's lax mode accepts ``true``/``1.0``/``"1"`` for an integer);
- every 4xx/5xx is the standard error body ``{"error": {code, message, details, request_id}}``
  with an ``X-Request-Id`` header (checked here, on every error whatever the schema says);
- no secret in any answer (the secret sentinel's shapes: tokens, password hashes).

Path parameters are replaced by the ids of real records of the fuzzing account (from the
security world), so the cases reach the handlers rather than stopping at "not found"; a
negative case that mutates the path keeps its generated value. Staff routes are called with
a staff token. Operations run reads first and deletes last (deepest paths first), and the
account's modules are switched back on after each operation, so one case cannot make the
rest shallow. Any URL in a body points at a closed loopback port: fuzzing never leaves the
machine.

Failing cases are collected, not raised, so one run reports every failure.
"""

from __future__ import annotations

import io
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter

from tests.security.sentinel import TOKEN_ROUTES, SecretSentinel, webhook_secret_allowed

LOOPBACK_URL = "http://127.0.0.1:9/"  # the discard port: nothing listens, a connection is refused at once
URL_FIELDS = ("url", "api_endpoint", "link", "product_url")


# --- an in-process transport: requests -> the Chalice test client ---------------------------

class ChaliceAdapter(BaseAdapter):
    """Lets ``requests`` (and so schemathesis) talk to ``chalice.test.Client`` without a socket."""

    def __init__(self, client: Any) -> None:
        super().__init__()
        self._http = client.http

    def send(self, request: requests.PreparedRequest, **_: Any) -> requests.Response:
        from urllib3._collections import HTTPHeaderDict
        from urllib3.response import HTTPResponse

        parts = urlsplit(request.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        answer = self._http.request(request.method, path, headers=dict(request.headers), body=body)
        raw = answer.body if isinstance(answer.body, bytes) else (answer.body or "").encode()
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers = requests.structures.CaseInsensitiveDict(answer.headers)
        response._content = raw
        response.raw = HTTPResponse(body=io.BytesIO(raw), headers=HTTPHeaderDict(answer.headers),
                                    status=answer.status_code, preload_content=False, version=11)
        response.url = request.url
        response.request = request
        response.reason = ""
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


# --- the target --------------------------------------------------------------------------

@dataclass
class Target:
    """Where and as whom to fuzz."""

    base_url: str
    session: requests.Session
    owner_token: str
    staff_token: str
    ids: dict[str, str]
    fresh_token: Callable[[], str]  # a new session of the owner (for logout)
    repair: Callable[[], None] = lambda: None  # undo what one operation's cases may have switched off
    after_operation: Callable[[str], None] = lambda label: None  # e.g. to sample the API's memory
    auth_of: dict[tuple[str, str], str] = field(default_factory=dict)  # (METHOD, path) -> user|staff|none


@dataclass
class FuzzResult:
    operations: int = 0
    cases: int = 0
    by_status: Counter = field(default_factory=Counter)
    by_mode: Counter = field(default_factory=Counter)
    failures: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    no_cases: list[str] = field(default_factory=list)
    # Invalid input the API accepted anyway: pydantic's lax mode turns true, 1.0 and "1" into the
    # integer 1. Reported (the figures, docs/security-testing.md), not failed: a product decision.
    lenient: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    seconds: float = 0.0

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.by_status.items() if status >= 500)

    def summary(self) -> str:
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(self.by_status.items()))
        return (f"{self.operations} operations, {self.cases} cases ({dict(self.by_mode)}), "
                f"{self.server_errors} 5xx, {len(self.failures)} operations with failures, "
                f"{len(self.lenient)} operations accepting some invalid input, "
                f"{self.seconds:.1f}s; statuses {statuses}")

    def report(self, limit: int = 40) -> str:
        lines = []
        for label, problems in sorted(self.failures.items()):
            distinct = list(dict.fromkeys(problems))
            lines.append(f"{label}: {len(problems)} failing cases; first: {distinct[0]}")
        return "\n".join(lines[:limit])


def _checks() -> tuple[list[Any], list[Any]]:
    """The checks that fail a case, and the one that is only reported (see ``FuzzResult.lenient``)."""
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        negative_data_rejection,
        response_schema_conformance,
        status_code_conformance,
    )

    return ([not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
            [negative_data_rejection])


def header(headers: Any, name: str) -> str | None:
    """A header's value from a plain, case-insensitive or multi-valued (name -> [values]) mapping."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value[0] if isinstance(value, list | tuple) and value else value
    return None


def error_body_problems(status: int, headers: Any, raw: bytes) -> list[str]:
    """What is wrong with an error answer (empty: the standard error body)."""
    problems = []
    if not header(headers, "X-Request-Id"):
        problems.append("no X-Request-Id header")
    if status < 400:
        return problems
    content_type = header(headers, "Content-Type") or ""
    if "application/json" not in content_type:
        problems.append(f"error with Content-Type {content_type!r}")
    try:
        body = json.loads(raw)
    except ValueError:
        return [*problems, f"error body is not JSON: {raw[:80]!r}"]
    error = body.get("error") if isinstance(body, dict) else None
    if not (isinstance(body, dict) and set(body) == {"error"} and isinstance(error, dict)):
        return [*problems, f"not the standard error body: {raw[:120]!r}"]
    if not isinstance(error.get("code"), str) or not isinstance(error.get("message"), str):
        problems.append(f"error without code/message: {raw[:120]!r}")
    if "details" not in error or "request_id" not in error:
        problems.append(f"error without details/request_id: {raw[:120]!r}")
    return problems


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().replace("\n", " | ")
    return text[:600] or type(exc).__name__


def _order(operations: list[Any]) -> list[Any]:
    """Reads first, writes next, deletes last (deepest first): later cases keep their records."""
    rank = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}

    def key(op: Any) -> tuple[int, int, str]:
        depth = op.path.count("/")
        return rank.get(op.method.upper(), 1), -depth if op.method.upper() == "DELETE" else 0, op.label

    return sorted(operations, key=key)


def _point_urls_at_loopback(body: Any) -> bool:
    changed = False
    if isinstance(body, dict):
        for name in URL_FIELDS:
            if isinstance(body.get(name), str) and body[name] != LOOPBACK_URL:
                body[name] = LOOPBACK_URL
                changed = True
    return changed


def run_fuzz(schema: Any, target: Target, *, positive: int, negative: int, seed: int = 0,
             include: Callable[[Any], bool] = lambda op: True) -> FuzzResult:
    """Fuzz every operation of ``schema`` (a schemathesis schema) against ``target``."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.core.parameters import ParameterLocation

    sentinel = SecretSentinel()  # shapes only: tokens and password hashes never leave the API
    checks, lenient_checks = _checks()
    result = FuzzResult()
    started = time.monotonic()
    operations = [r.ok() for r in schema.get_all_operations()]
    for op in _order([op for op in operations if include(op)]):
        method, path = op.method.upper(), op.path
        auth = target.auth_of.get((method, path), "user")
        result.operations += 1

        def one(case: Any, mode: str, method: str = method, path: str = path, auth: str = auth) -> None:
            components = getattr(case.meta, "components", {}) if case.meta else {}

            def negated(location: Any) -> bool:
                info = components.get(location)
                return info is not None and info.mode == GenerationMode.NEGATIVE

            if not negated(ParameterLocation.PATH):
                for name in list(case.path_parameters):
                    if name in target.ids:
                        case.path_parameters[name] = target.ids[name]
            # A changed body no longer carries its mutation: then only the other checks apply.
            body_changed = _point_urls_at_loopback(case.body)
            if auth == "none" or negated(ParameterLocation.HEADER):
                headers = {}  # a case without (or with a broken) Authorization is sent as made
            elif path == "/v1/auth/logout":
                headers = {"Authorization": f"Bearer {target.fresh_token()}"}
            else:
                token = target.staff_token if auth == "staff" else target.owner_token
                headers = {"Authorization": f"Bearer {token}"}
            response = case.call(base_url=target.base_url, session=target.session, headers=headers, timeout=60)
            result.cases += 1
            result.by_mode[mode] += 1
            result.by_status[response.status_code] += 1
            label = f"{method} {path}"
            try:
                case.validate_response(response, checks=checks, headers=headers)
            except BaseException as exc:  # schemathesis raises groups of failures
                result.failures[label].append(f"[{mode} {response.status_code}] {_describe(exc)}")
            if mode == "negative" and not body_changed:
                try:
                    case.validate_response(response, checks=lenient_checks, headers=headers)
                except BaseException as exc:
                    result.lenient[label].append(f"[{response.status_code}] {_describe(exc)}")
            for problem in error_body_problems(response.status_code, response.headers, response.content):
                result.failures[label].append(f"[{mode} {response.status_code}] {problem}")
            text = response.content.decode("utf-8", errors="replace")
            tokens_allowed = (method, path) in TOKEN_ROUTES and response.status_code < 300
            for kind in sentinel.find(text, tokens_allowed=tokens_allowed):
                if webhook_secret_allowed(method, path, response.status_code, kind):
                    continue
                result.failures[label].append(f"[{mode} {response.status_code}] {kind} in the response")

        def runner(mode: str, count: int, op: Any = op) -> Callable[[], None]:
            generation = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE

            @hypothesis_seed(seed)
            @settings(max_examples=count, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate],
                      report_multiple_bugs=False)
            @given(case=op.as_strategy(generation_mode=generation))
            def run(case: Any) -> None:
                one(case, mode)

            return run

        for mode, count in (("positive", positive), ("negative", negative)):
            if count <= 0:
                continue
            try:
                runner(mode, count)()
            except Unsatisfiable:
                result.no_cases.append(f"{op.label} ({mode})")
            except BaseException as exc:
                result.failures[op.label].append(f"[{mode}] generation: {_describe(exc)}")
        target.repair()
        target.after_operation(op.label)
    result.seconds = time.monotonic() - started
    return result


def auth_by_operation() -> dict[tuple[str, str], str]:
    from chalicelib.api.routing import ROUTES

    return {(spec.method, spec.path): spec.auth for spec in ROUTES}


def module_repair(call: Callable[..., Any], owner_token: str) -> Callable[[], None]:
    """Switch every module back on (a case may have switched some off)."""

    def repair() -> None:
        current = call("GET", "/v1/account/modules", token=owner_token)
        if current.status == 200 and isinstance(current.json, dict) and not all(current.json.values()):
            call("PATCH", "/v1/account/modules", json_body={k: True for k in current.json}, token=owner_token)

    return repair


FUZZ_STRIPE_WEBHOOK_SECRET = "whsec_fuzz0123456789abcdefghij"


def configure_platform(call: Callable[..., Any], staff_token: str) -> None:
    """The payment provider's webhook secret, as production has it: Stripe's webhook then checks
    signatures (400) instead of answering 503 "not configured". No API key: nothing may call
    Stripe from here, so checkout and portal answer 503 billing_unavailable (counted apart)."""
    fields = {"api_endpoint": LOOPBACK_URL, "webhook_secret": FUZZ_STRIPE_WEBHOOK_SECRET, "is_active": True}
    r = call("POST", "/v1/admin/providers", token=staff_token, json_body={
        "provider_id": "stripe", "display_name": "Stripe", "provider_type": "payment", **fields})
    if r.status == 409:  # seeded already: set its secret
        r = call("PATCH", "/v1/admin/providers/stripe", token=staff_token, json_body=fields)
    assert r.status in (200, 201), (r.status, r.json)
