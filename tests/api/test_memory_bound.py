"""Once warm, the routes that grew in the full fuzz run leave (next to) nothing behind.

A Lambda container serves thousands of requests in one process. Here the app runs as in
one (``chalice.test.Client``, one thread, requests in sequence) with AWS in another process
(moto's server: what it stores is not ours to count), and ``tracemalloc`` traces from
before the first request. Each group of routes is called a few times (imports, the
DynamoDB client, caches), then ``REQUESTS`` more times: what is still allocated afterwards
(after ``gc.collect()``) must stay under ``BOUND``. A memory bound, not a timing.

In the full fuzz run the API grew from 364 to 581 MiB, the most on these routes: each first
reached tables whose PynamoDB model built its own botocore client (~9 MiB of Python objects
each; chalicelib/models/connection.py). ``make bench`` (infra/bench/memory.py) gives the
figures per route class.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from infra.bench.memory import dynamodb_clients, moto_server

pytestmark = pytest.mark.slow

KiB = 1024
REQUESTS = 150  # per group, once warm
WARM_ROUNDS = 3
BOUND = REQUESTS * KiB  # 1 KiB a request: the bench's target of 1 MiB per 1,000 (measured: ~0.1-0.2 KiB)


@dataclass
class Container:
    call: Callable[..., Any]
    site: str
    sector: str


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


@pytest.fixture(scope="module")
def container(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    import json

    from chalice.test import Client

    from app import app
    from chalicelib.models.accounts import Account
    from chalicelib.services import credits, ttl_cache
    from infra.bench.pipeline import bench_keywords
    from infra.local import provision

    started_here = not tracemalloc.is_tracing()
    with pytest.MonkeyPatch.context() as env, moto_server(tmp_path_factory.mktemp("moto")) as endpoint:
        env.setenv("AWS_ENDPOINT_URL", endpoint)
        provision.reset_model_connections()  # the suite's clients point at moto in-process
        ttl_cache.clear_all()
        if started_here:
            tracemalloc.start(1)
        try:
            with Client(app) as client:
                def call(method: str, path: str, body: Any = None, expect: int = 200, token: str | None = None) -> Any:
                    headers = {"content-type": "application/json"}
                    if token or owner:
                        headers["authorization"] = f"Bearer {token or owner[0]}"
                    r = client.http.request(method, path, body=json.dumps(body) if body is not None else b"",
                                            headers=headers)
                    assert r.status_code == expect, f"{method} {path} -> {r.status_code}: {r.body[:300]!r}"
                    return json.loads(r.body) if r.body else None

                owner: list[str] = []
                reg = call("POST", "/v1/auth/register", {"account_name": "Memory", "email": "memory@example.com",
                                                         "password": "memory test password"}, 201)
                owner.append(reg["tokens"]["access_token"])
                account_id = reg["account"]["account_id"]
                Account(account_id).update(actions=[Account.plan_id.set("growth")])
                credits.grant(account_id, credit_type="idea", amount=100_000, key="memory-idea", bucket="pack",
                              operation="pack_purchase")
                site = call("POST", "/v1/sites", {"name": "Memory", "time_zone": "Europe/Berlin"}, 201)["site_id"]
                sector = call("POST", f"/v1/sites/{site}/sectors", {"name": "Coffee"}, 201)["sector_id"]
                call("POST", f"/v1/sites/{site}/keywords/import", {"sector_id": sector, "keywords": bench_keywords(40)})
                yield Container(call, site, sector)
        finally:
            if started_here:
                tracemalloc.stop()
            provision.reset_model_connections()
            ttl_cache.clear_all()


def _calendar(c: Container) -> list[Callable[[], Any]]:
    b = f"/v1/sites/{c.site}"
    return [lambda: c.call("GET", f"{b}/calendar?from=2026-01-01&to=2026-04-03"),
            lambda: c.call("GET", f"{b}/calendar"),
            lambda: c.call("PUT", f"{b}/publishing/settings", {"publish_time_slots": ["09:00", "14:00", "18:30"]})]


def _ai_settings(c: Container) -> list[Callable[[], Any]]:
    return [lambda: c.call("GET", "/v1/account/ai-settings"),
            lambda: c.call("PUT", "/v1/account/settings/ai.temperature", {"value": 0.4}),
            lambda: c.call("GET", "/v1/account/settings"),
            lambda: c.call("DELETE", "/v1/account/settings/ai.temperature")]


def _jobs(c: Container) -> list[Callable[[], Any]]:
    b = f"/v1/sites/{c.site}"
    job = c.call("POST", f"{b}/jobs", {"stage": "cluster_keywords", "filter": {"limit": 20}}, 202)["job_id"]
    c.call("POST", f"{b}/jobs/{job}/cancel")

    def create_and_cancel() -> Any:
        # A running job holds its keywords (services/claims.py): cancelling frees them for the next one.
        created = c.call("POST", f"{b}/jobs", {"stage": "cluster_keywords", "filter": {"limit": 20}}, 202)
        return c.call("POST", f"{b}/jobs/{created['job_id']}/cancel")

    return [create_and_cancel,
            lambda: c.call("GET", f"{b}/jobs/{job}"),
            lambda: c.call("GET", f"{b}/jobs?limit=20"),
            lambda: c.call("GET", f"{b}/jobs/{job}/items")]


@pytest.mark.parametrize("group", [_calendar, _ai_settings, _jobs], ids=["calendar", "account AI settings", "jobs"])
def test_a_few_hundred_more_requests_leave_next_to_nothing(container: Container,
                                                           group: Callable[[Container], list]) -> None:
    calls = group(container)
    for _ in range(WARM_ROUNDS):
        for call in calls:
            call()
    before = _traced()
    for n in range(REQUESTS):
        calls[n % len(calls)]()
    grown = _traced() - before
    assert grown < BOUND, f"{REQUESTS} requests left {grown / KiB:.0f} KiB allocated (bound {BOUND / KiB:.0f} KiB)"


def test_every_table_the_routes_reached_shares_one_dynamodb_client(container: Container) -> None:
    for group in (_calendar, _ai_settings, _jobs):
        for call in group(container):
            call()
    assert dynamodb_clients() == 1
