"""``make fuzz``: schemathesis and hostile input against the running local stack, over real HTTP.

The stack (infra/local/stack.py: moto's server, or Amazon's DynamoDB Local when Java is
there, and ``chalice local``) runs without workers and clock, so nothing the fuzzer starts
ever calls a provider. The security world is built through its API; the schema is the one
the stack serves at ``/v1/openapi.json``. Afterwards the stack's own log is read for secrets.

Only in the full profile (``FUZZ_PROFILE=full``): plain ``make test`` runs the same generator
in-process (test_fuzz_api.py, test_hostile_input.py).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from infra.local.processes import BackgroundStack
from tests.security import figures
from tests.security.fuzz import FUZZ_STRIPE_WEBHOOK_SECRET, Target, auth_by_operation, configure_platform, run_fuzz
from tests.security.hostile import MiB, check_answer, fixed_cases, per_route_cases
from tests.security.sentinel import SecretSentinel
from tests.security.world import PASSWORD, HttpApi, Member, StackBackend, World, build_world, login, path_params

pytestmark = [
    pytest.mark.fuzz,
    pytest.mark.e2e,
    pytest.mark.skipif(figures.fuzz_profile() != "full",
                       reason="the running-stack fuzz is the full profile: make fuzz (FUZZ_PROFILE=full)"),
]

POSITIVE, NEGATIVE = figures.fuzz_examples(fast=(3, 2), full=(25, 15))
# The API process (chalice local: the app, boto3, PynamoDB) starts at ~110 MiB resident; bodies of up to
# 6 MiB may add a few times their size while one is handled, and nothing may stay behind. It used to start at
# ~300 MiB and grow to ~580 during the fuzz run: a botocore client per table (chalicelib/models/connection.py).
RSS_BOUND = 384 * MiB
GROWTH_BOUND = 48 * MiB


def _dynamodb() -> str:
    wanted = os.environ.get("FUZZ_DYNAMODB", "local" if shutil.which("java") else "moto")
    return "local" if wanted == "local" and shutil.which("java") else "moto"


@dataclass
class Memory:
    peak: int  # VmHWM: the most the process ever had resident, bytes
    current: int  # VmRSS


def memory(pid: int) -> Memory:
    text = Path(f"/proc/{pid}/status").read_text()

    def kib(name: str) -> int:
        match = re.search(rf"^{name}:\s+(\d+) kB", text, re.M)
        return int(match.group(1)) * 1024 if match else 0

    return Memory(kib("VmHWM"), kib("VmRSS"))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundStack]:
    env = {**os.environ, "SYSTEM_CONFIG_CACHE_SECONDS": "1"}  # staff changes show at once
    args = ["--no-workers", "--no-clock", "--dynamodb", _dynamodb()]
    started = BackgroundStack.start(state_dir=tmp_path_factory.mktemp("fuzz-stack"), extra_args=args, env=env)
    try:
        started.wait_healthy(timeout=180)
    except Exception:
        started.interrupt(timeout=30)
        pytest.fail(f"the local stack did not start:\n{started.log_tail(60)}")
    yield started
    started.interrupt(timeout=60)


@pytest.fixture(scope="module")
def http_world(stack: BackgroundStack) -> tuple[HttpApi, World]:
    api = HttpApi(stack.api_url)

    def http_job(owner: Member, site_id: str) -> str | None:
        ideas = api.request("GET", f"/v1/sites/{site_id}/ideas?limit=1", token=owner.token).json["items"]
        if not ideas:
            return None
        r = api.request("POST", f"/v1/sites/{site_id}/jobs", token=owner.token,
                        json_body={"stage": "create_tasks", "item_ids": [ideas[0]["idea_id"]]})
        return r.json["job_id"] if r.status == 202 else None

    world = build_world(api, StackBackend(stack.info()), make_job=http_job)
    configure_platform(api.request, world.staff.token)
    time.sleep(1.5)  # the provider cache (1 s here)
    return api, world


def _api_pid(stack: BackgroundStack) -> int:
    return int(stack.info()["children"]["chalice"])


def _send_all(stack: BackgroundStack, session: requests.Session, cases: list[Any]) -> tuple[dict, tuple]:
    problems: dict[str, list[str]] = {}
    slowest = (0.0, "")
    for case in cases:
        headers = {"content-type": case.content_type}
        if case.token:
            headers["authorization"] = f"Bearer {case.token}"
        started = time.monotonic()
        r = session.request(case.method, f"{stack.api_url}{case.path}", data=case.make(), headers=headers,
                            timeout=120, allow_redirects=False)
        slowest = max(slowest, (time.monotonic() - started, case.label))
        found = check_answer(case, r.status_code, dict(r.headers), r.content)
        if found:
            problems[case.label] = found
    return problems, slowest


def test_hostile_input_against_the_running_stack(stack: BackgroundStack,
                                                 http_world: tuple[HttpApi, World]) -> None:
    """Every hostile case, twice: clear 4xx each time, and the second pass takes no new memory."""
    api, world = http_world
    session = requests.Session()
    pid = _api_pid(stack)
    cases = [*per_route_cases(world), *fixed_cases(world)]
    before = memory(pid)
    problems, slowest = _send_all(stack, session, cases)
    first = memory(pid)
    again, _ = _send_all(stack, session, cases)
    second = memory(pid)
    figures.record("hostile input (local stack)", cases=2 * len(cases),
                   api_peak_rss=f"{before.peak / MiB:.0f} -> {first.peak / MiB:.0f} -> {second.peak / MiB:.0f} MiB "
                                f"(start, first pass, second pass)",
                   slowest=f"{slowest[0]:.2f}s ({slowest[1]})")
    problems.update({f"{label} (second pass)": p for label, p in again.items() if label not in problems})
    assert not problems, "\n".join(f"{label}: {'; '.join(p)}" for label, p in problems.items())
    assert second.peak - first.peak < GROWTH_BOUND, "the same hostile requests again took more memory"
    assert second.peak < RSS_BOUND, f"the API process peaked at {second.peak / MiB:.0f} MiB"
    assert api.request("GET", "/v1/health").status == 200, "the API still answers"


def test_schemathesis_against_the_running_stack(stack: BackgroundStack, http_world: tuple[HttpApi, World]) -> None:
    import schemathesis

    from chalicelib.api.routing import ROUTES

    api, world = http_world
    ids = world.a_ids()
    for spec in ROUTES:
        for name in path_params(spec.path) - set(ids):
            ids[name] = f"no-such-{name.replace('_', '-')}"
    owner = world.a.owner

    def repair() -> None:
        current = api.request("GET", "/v1/account/modules", token=owner.token)
        if current.status == 200 and not all(current.json.values()):
            api.request("PATCH", "/v1/account/modules", json_body={k: True for k in current.json}, token=owner.token)

    pid = _api_pid(stack)
    growth: list[tuple[int, str]] = []
    last = [memory(pid).current]

    def sample_memory(label: str) -> None:
        now = memory(pid).current
        growth.append((now - last[0], label))
        last[0] = now

    target = Target(base_url=stack.api_url, session=requests.Session(), owner_token=owner.token,
                    staff_token=world.staff.token, ids=ids, fresh_token=lambda: login(api, owner).token,
                    repair=repair, auth_of=auth_by_operation(), after_operation=sample_memory)
    schema = schemathesis.openapi.from_url(f"{stack.api_url}/v1/openapi.json")
    rss_before = memory(_api_pid(stack))
    result = run_fuzz(schema, target, positive=POSITIVE, negative=NEGATIVE, seed=20261125)
    rss_after = memory(_api_pid(stack))
    figures.record("fuzz (local stack)", dynamodb=stack.info()["dynamodb"], operations=result.operations,
                   cases=result.cases, examples_per_operation=f"{POSITIVE} positive + {NEGATIVE} negative",
                   server_errors=result.server_errors, lenient_operations=sorted(result.lenient),
                   seconds=round(result.seconds, 1),
                   api_rss=f"peak {rss_before.peak / MiB:.0f} -> {rss_after.peak / MiB:.0f} MiB, "
                           f"now {rss_after.current / MiB:.0f} MiB",
                   rss_growth_by_operation=", ".join(f"{label} +{delta / MiB:.0f} MiB"
                                                     for delta, label in sorted(growth, reverse=True)[:5]))
    assert result.operations >= 100
    assert not result.failures, f"{result.summary()}\n{result.report()}"
    assert rss_after.current - rss_before.current < GROWTH_BOUND, "the API kept memory across the fuzz run"
    assert rss_after.peak < RSS_BOUND, f"the API process peaked at {rss_after.peak / MiB:.0f} MiB"


def test_the_stack_log_holds_no_secret(stack: BackgroundStack, http_world: tuple[HttpApi, World]) -> None:
    """Everything the API and the stack wrote during the run: no token, hash, password or key."""
    sentinel = SecretSentinel()
    for secret in (PASSWORD, FUZZ_STRIPE_WEBHOOK_SECRET, (stack.state_dir / "signing-secret").read_text().strip()):
        sentinel.learn(secret)
    text = stack.log_path.read_text(errors="replace")
    lines = text.splitlines()
    leaks = [(i, kinds) for i, line in enumerate(lines, start=1) if (kinds := sentinel.find(line))]
    figures.record("stack log", lines=len(lines), leaks=len(leaks))
    assert not leaks, "secrets in the stack's log:\n" + "\n".join(f"line {i}: {', '.join(k)}" for i, k in leaks[:20])
