"""``make demo``: start the local stack, walk the product over real HTTP, stop, summarise.

The demo is a list of steps. Each step is a function ``step(demo) -> str`` that calls the
API through ``demo.http``, keeps what later steps need in ``demo.facts``, counts what it
made in ``demo.counts`` (these feed the summary line) and returns one line saying what it
did. To extend the demo (the pipeline, publishing ...) write more steps and add them to
``STEPS``; ``demo.wait_until`` polls for work that the workers finish in the background.

Exit code 0 and a one-line summary on success; on a failed step, the HTTP error body and a
non-zero exit code. The stack is always stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from infra.demo_data import step_import_keywords
from infra.local.processes import ROOT, BackgroundStack


class StepFailed(Exception):
    """A call answered something other than expected; carries what the API said."""

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class Http:
    """A small JSON client: ``call`` raises StepFailed unless the status is one of ``expect``."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.token: str | None = None
        self.calls = 0

    def call(self, method: str, path: str, body: Any = None, *, token: str | None = None,
             expect: int | Sequence[int] = 200, headers: dict[str, str] | None = None) -> Any:
        expected = (expect,) if isinstance(expect, int) else tuple(expect)
        hdrs = {"Accept": "application/json", **(headers or {})}
        bearer = token if token is not None else self.token
        if bearer:
            hdrs["Authorization"] = f"Bearer {bearer}"
        self.calls += 1
        try:
            r = self.session.request(method, f"{self.base_url}{path}", json=body, headers=hdrs, timeout=self.timeout)
        except requests.RequestException as exc:
            raise StepFailed(f"{method} {path}: {exc}") from None
        if r.status_code not in expected:
            raise StepFailed(f"{method} {path} answered {r.status_code}, expected {'/'.join(map(str, expected))}",
                             status=r.status_code, body=r.text)
        if not r.content:
            return None
        if "json" in r.headers.get("Content-Type", ""):
            return r.json()
        return r.text

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.call("POST", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.call("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.call("DELETE", path, **kw)


@dataclass
class Demo:
    http: Http
    stack: BackgroundStack | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)

    def wait_until(self, what: str, check: Callable[[], Any], *, timeout: float = 60.0,
                   interval: float = 0.5) -> Any:
        """Poll ``check`` until it returns something truthy (background work), else fail the step."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise StepFailed(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(interval)


# -- the steps ----------------------------------------------------------------------------

def step_health(demo: Demo) -> str:
    body = demo.http.get("/v1/health")
    docs = demo.http.get("/v1/openapi.json")
    return f"API {body['status']}, {len(docs.get('paths', {}))} paths documented at /v1/docs"


def step_register(demo: Demo) -> str:
    tag = uuid.uuid4().hex[:10]
    email, password = f"demo-{tag}@example.com", f"demo-password-{uuid.uuid4().hex}"
    body = demo.http.post("/v1/auth/register", {
        "account_name": f"Demo Roastery {tag}", "email": email, "password": password,
        "first_name": "Dana", "last_name": "Demo"}, expect=201)
    demo.facts.update(email=email, password=password, account_id=body["account"]["account_id"],
                      user_id=body["user"]["user_id"])
    demo.counts["account"] += 1
    return f"account {body['account']['account_id']} ({body['account']['name']}), owner {email}"


def step_login(demo: Demo) -> str:
    tokens = demo.http.post("/v1/auth/login", {"email": demo.facts["email"], "password": demo.facts["password"]})
    demo.http.token = tokens["access_token"]
    demo.facts["refresh_token"] = tokens["refresh_token"]
    return f"signed in as {demo.facts['email']} ({tokens['token_type']} token, {tokens['expires_in']}s)"


def step_create_site(demo: Demo) -> str:
    site = demo.http.post("/v1/sites", {"name": "Demo Coffee Blog", "domain": "coffee.example.com",
                                        "time_zone": "Europe/Berlin"}, expect=201)
    demo.facts["site_id"] = site["site_id"]
    demo.counts["site"] += 1
    return f"site {site['site_id']} {site['name']!r} ({site['domain']}, {site['time_zone']})"


def step_create_sector(demo: Demo) -> str:
    site_id = demo.facts["site_id"]
    sector = demo.http.post(f"/v1/sites/{site_id}/sectors", {
        "name": "Espresso at home", "description": "Machines, grinders and technique"}, expect=201)
    demo.facts["sector_id"] = sector["sector_id"]
    demo.counts["sector"] += 1
    return f"sector {sector['sector_id']} {sector['name']!r}"


def step_me(demo: Demo) -> str:
    me = demo.http.get("/v1/me")
    if me["account"]["account_id"] != demo.facts["account_id"]:
        raise StepFailed("/v1/me answered for another account", body=json.dumps(me))
    account, plan = me["account"], me["plan"]
    return (f"{me['user']['email']} is {me['user']['role']} of {account['name']!r}: plan {plan['name']}, "
            f"{account['site_count']}/{plan['max_sites']} sites, {account['user_count']}/{plan['max_users']} users")


STEPS: list[Callable[[Demo], str]] = [
    step_health,
    step_register,
    step_login,
    step_create_site,
    step_create_sector,
    step_import_keywords,
    step_me,
]


# -- running ------------------------------------------------------------------------------

def _title(step: Callable[[Demo], str]) -> str:
    return step.__name__.removeprefix("step_").replace("_", " ")


def run_steps(demo: Demo, steps: Sequence[Callable[[Demo], str]]) -> None:
    for n, step in enumerate(steps, 1):
        started = time.perf_counter()
        try:
            line = step(demo)
        except StepFailed as exc:
            raise StepFailed(f"step {n}/{len(steps)} ({_title(step)}): {exc}", status=exc.status,
                             body=exc.body) from None
        print(f"  [{n}/{len(steps)}] {_title(step):<14} {line}  ({(time.perf_counter() - started) * 1000:.0f} ms)",
              flush=True)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def summary(demo: Demo, api_seconds: float, stack_seconds: float) -> str:
    made = ", ".join(_plural(n, noun) for noun, n in demo.counts.items() if noun != "account")
    account = demo.facts.get("account_id", "?")
    return (f"demo: account {account} ({demo.facts.get('email', '?')}), {made}, API ok in {api_seconds:.1f}s "
            f"({demo.http.calls} calls; stack up in {stack_seconds:.1f}s)")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m infra.demo", description="Run the product locally and walk it.")
    p.add_argument("--dynamodb", choices=("moto", "local"), default="moto", help="passed to the local stack")
    p.add_argument("--state-dir", type=Path, default=ROOT / ".local" / "demo",
                   help="the demo stack's state and log (default .local/demo)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the stack to come up")
    args = p.parse_args(argv)

    started = time.monotonic()
    print("demo: starting the local stack (moto, API, workers, clock) on free ports ...", flush=True)
    stack = BackgroundStack.start(state_dir=args.state_dir.resolve(),
                                  extra_args=["--dynamodb", args.dynamodb, "--clock-speed", "60"])
    failed = False
    try:
        try:
            stack.wait_healthy(timeout=args.timeout)
        except (TimeoutError, RuntimeError) as exc:
            print(f"demo: the local stack did not start: {exc}\n--- {stack.log_path} (tail) ---\n"
                  f"{stack.log_tail()}", file=sys.stderr, flush=True)
            failed = True
            return 1
        stack_seconds = time.monotonic() - started
        print(f"demo: stack up in {stack_seconds:.1f}s, API {stack.api_url}/v1 (docs {stack.api_url}/v1/docs)",
              flush=True)
        demo = Demo(Http(stack.api_url), stack)
        api_started = time.monotonic()
        try:
            run_steps(demo, STEPS)
        except StepFailed as exc:
            print(f"demo: FAILED {exc}", file=sys.stderr)
            if exc.body:
                print(f"demo: the API answered: {exc.body}", file=sys.stderr)
            print(f"demo: stack log: {stack.log_path}", file=sys.stderr, flush=True)
            failed = True
            return 1
        api_seconds = time.monotonic() - api_started
    finally:
        code = stack.interrupt()
        if code not in (0, None) and not failed:
            print(f"demo: the local stack exited with code {code}; see {stack.log_path}", file=sys.stderr)
    print(summary(demo, api_seconds, stack_seconds), flush=True)
    return 0 if code in (0, None) else 1


if __name__ == "__main__":
    sys.exit(main())
