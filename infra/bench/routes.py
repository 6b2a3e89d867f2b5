"""DynamoDB calls and consumed capacity per API route, through the real routes.

Each route of a representative set (auth, account, sites and sectors, planner, writer, jobs,
credits, publishing) is called through ``chalice.test.Client`` against moto in-process and,
when it is installed, against Amazon's DynamoDB Local, whose ``ConsumedCapacity`` is computed
from item sizes like the service's (moto's is nominal). Every route is called once to warm
the per-container caches (platform settings, 30 s), then measured: what a warm Lambda pays.

Counting: botocore events on every client PynamoDB makes (as ``infra.bench.dynamodb_calls``):
``provide-client-params`` asks for ``ReturnConsumedCapacity=TOTAL``, ``after-call`` counts the
operation and adds its capacity to reads (GetItem, Query, BatchGetItem, TransactGetItems) or
writes (the rest). Any Scan fails the benchmark.

Standalone: ``PYTHONPATH=. .venv/bin/python -m infra.bench.routes``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
CAPACITY_OPS = READS | {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
# Route classes: each DynamoDB call is one round trip, so a class's figure is its routes' call counts.
CLASSES = ("auth", "list", "get", "create", "update", "delete", "bulk", "import", "job")


@dataclass
class RouteMeter:
    calls: Counter = field(default_factory=Counter)
    read_units: float = 0.0
    write_units: float = 0.0
    reported: int = 0

    def reset(self) -> None:
        self.calls.clear()
        self.read_units = self.write_units = 0.0
        self.reported = 0

    def ask_capacity(self, params: dict, model: Any, **_: Any) -> None:
        if model.name in CAPACITY_OPS:
            params["ReturnConsumedCapacity"] = "TOTAL"

    def after_call(self, parsed: dict, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1
        consumed = parsed.get("ConsumedCapacity") if isinstance(parsed, dict) else None
        for entry in consumed if isinstance(consumed, list) else [consumed] if consumed else []:
            units = float(entry.get("CapacityUnits", 0) or 0)
            if model.name in READS:
                self.read_units += units
            else:
                self.write_units += units
            self.reported += 1


METER = RouteMeter()


def _install_hooks() -> None:
    import botocore.session
    import pynamodb.connection.base as base

    if getattr(base, "_route_bench_hooked", False):
        return
    original = base.get_session if hasattr(base, "get_session") else botocore.session.get_session

    def get_session(*args: Any, **kwargs: Any) -> Any:
        session = original(*args, **kwargs)
        session.register("provide-client-params.dynamodb", METER.ask_capacity)
        session.register("after-call.dynamodb", METER.after_call)
        return session

    base.get_session = get_session
    base._route_bench_hooked = True


@contextmanager
def _backend(name: str) -> Iterator[None]:
    """Every table, queue and the bucket on moto, or the tables on DynamoDB Local (SQS / S3 on moto)."""
    from moto import mock_aws

    from chalicelib.services import ttl_cache
    from infra.bench import moto_patch
    from infra.local import provision

    ttl_cache.clear_all()
    if name == "moto":
        moto_patch.apply()
        with mock_aws():
            provision.reset_model_connections()
            provision.provision_all()
            yield
        provision.reset_model_connections()
        return
    from infra.local import dynamodb_local

    server = dynamodb_local.start()
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = server.endpoint
    try:
        with mock_aws(config={"core": {"passthrough": {"urls": [rf"{server.endpoint}.*"]}}}):
            provision.reset_model_connections()
            provision.provision_all()
            yield
    finally:
        os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
        provision.reset_model_connections()
        ttl_cache.clear_all()
        server.stop()


class _Http:
    def __init__(self, client: Any) -> None:
        self.http = client.http
        self.token: str | None = None

    def call(self, method: str, path: str, body: Any = None, expect: int = 200, token: str | None = None) -> Any:
        headers = {"content-type": "application/json"}
        bearer = token or self.token
        if bearer:
            headers["authorization"] = f"Bearer {bearer}"
        r = self.http.request(method, path, body=json.dumps(body) if body is not None else b"", headers=headers)
        if r.status_code != expect:
            raise RuntimeError(f"{method} {path} answered {r.status_code}: {r.body[:300]!r}")
        return json.loads(r.body) if r.body else None


@dataclass
class Route:
    cls: str
    name: str
    call: Callable[[], Any]
    warm: bool = True  # call once before measuring


def _routes(c: _Http, backend: str) -> list[Route]:
    """The set of routes, with the records they need made first (not measured)."""
    from chalicelib.models.accounts import Account
    from chalicelib.services import credits
    from infra.bench.pipeline import bench_keywords

    email, password = f"routes-{backend}@example.com", "bench password 123"
    reg = c.call("POST", "/v1/auth/register", {"account_name": "Routes", "email": email, "password": password}, 201)
    c.token = reg["tokens"]["access_token"]
    state = {"refresh": reg["tokens"]["refresh_token"], "n": 0}
    account_id = reg["account"]["account_id"]
    Account(account_id).update(actions=[Account.plan_id.set("growth")])
    credits.grant(account_id, credit_type="idea", amount=10_000, key="routes-idea", bucket="pack",
                  operation="pack_purchase")
    site_id = c.call("POST", "/v1/sites", {"name": "Routes", "time_zone": "Europe/Berlin"}, 201)["site_id"]
    b = f"/v1/sites/{site_id}"
    sector = c.call("POST", f"{b}/sectors", {"name": "Coffee"}, 201)["sector_id"]
    c.call("POST", f"{b}/keywords/import", {"sector_id": sector, "keywords": bench_keywords(200)})
    keyword = c.call("GET", f"{b}/keywords?limit=1")["items"][0]["keyword_id"]
    cluster = c.call("POST", f"{b}/clusters", {"name": "Espresso", "sector_id": sector}, 201)["cluster_id"]
    idea = c.call("POST", f"{b}/ideas", {"title": "Dial in espresso", "cluster_id": cluster}, 201)["idea_id"]
    ideas = [c.call("POST", f"{b}/ideas", {"title": f"Idea {n}", "sector_id": sector}, 201)["idea_id"]
             for n in range(10)]
    content = c.call("POST", f"{b}/content", {"title": "Grinders", "sector_id": sector,
                                              "body_html": "<h2>One</h2><p>" + "word " * 800 + "</p>"}, 201)
    job = c.call("POST", f"{b}/jobs", {"stage": "cluster_keywords", "filter": {"limit": 20}}, 202)["job_id"]
    # A job claims its keywords until it finishes (nothing runs the workers here): each measured
    # start clusters 20 keywords of a sector of their own, as a new job on new keywords would.
    fresh_sectors = []
    for n in range(4):
        other = c.call("POST", f"{b}/sectors", {"name": f"Coffee {n + 2}"}, 201)["sector_id"]
        words = bench_keywords(200 + 20 * (n + 1))[-20:]  # none of them in another sector
        c.call("POST", f"{b}/keywords/import", {"sector_id": other, "keywords": words})
        fresh_sectors.append(other)
    next_sector = iter(fresh_sectors)

    tasks = iter([c.call("POST", f"{b}/tasks", {"title": f"Doomed {n}", "sector_id": sector}, 201)["task_id"]
                  for n in range(2)])

    def fresh(prefix: str) -> str:
        state["n"] += 1
        return f"{prefix} {state['n']}"

    def refresh() -> Any:
        out = c.call("POST", "/v1/auth/refresh", {"refresh_token": state["refresh"]})
        state["refresh"] = out["refresh_token"]
        return out

    imports = iter(range(1000))

    def import_100() -> Any:
        n = next(imports)
        rows = [{"keyword": f"{r['keyword']} batch{n}"} for r in bench_keywords(100)]
        return c.call("POST", f"{b}/keywords/import", {"sector_id": sector, "keywords": rows})

    return [
        Route("auth", "POST /auth/login", lambda: c.call("POST", "/v1/auth/login", {"email": email,
                                                                                    "password": password})),
        Route("auth", "POST /auth/refresh", refresh),
        Route("get", "GET /me", lambda: c.call("GET", "/v1/me")),
        Route("list", "GET /sites", lambda: c.call("GET", "/v1/sites")),
        Route("get", "GET /sites/{id}", lambda: c.call("GET", b)),
        Route("update", "PATCH /sites/{id}", lambda: c.call("PATCH", b, {"name": fresh("Routes")})),
        Route("list", "GET /sites/{id}/sectors", lambda: c.call("GET", f"{b}/sectors")),
        Route("create", "POST /sites/{id}/sectors", lambda: c.call("POST", f"{b}/sectors", {"name": fresh("S")}, 201)),
        Route("list", "GET /keywords (page of 50)", lambda: c.call("GET", f"{b}/keywords?limit=50")),
        Route("list", "GET /keywords?sector&status (50)",
              lambda: c.call("GET", f"{b}/keywords?limit=50&sector_id={sector}&status=pending")),
        Route("get", "GET /keywords/{id}", lambda: c.call("GET", f"{b}/keywords/{keyword}")),
        Route("create", "POST /keywords", lambda: c.call("POST", f"{b}/keywords", {
            "keyword": fresh("routes keyword"), "sector_id": sector}, 201)),
        Route("update", "PATCH /keywords/{id}", lambda: c.call("PATCH", f"{b}/keywords/{keyword}", {
            "search_volume": state["n"] + 10})),
        Route("import", "POST /keywords/import (100)", import_100),
        Route("list", "GET /clusters (50)", lambda: c.call("GET", f"{b}/clusters?limit=50")),
        Route("list", "GET /ideas (50)", lambda: c.call("GET", f"{b}/ideas?limit=50")),
        Route("create", "POST /ideas (in a cluster)", lambda: c.call("POST", f"{b}/ideas", {
            "title": fresh("Idea"), "cluster_id": cluster}, 201)),
        Route("create", "POST /ideas (in a sector)", lambda: c.call("POST", f"{b}/ideas", {
            "title": fresh("Idea"), "sector_id": sector}, 201)),
        Route("update", "PATCH /ideas/{id} (approve)", lambda: c.call("PATCH", f"{b}/ideas/{idea}",
                                                                      {"status": "approved"}), warm=False),
        Route("bulk", "POST /ideas/bulk-status (10)", lambda: c.call("POST", f"{b}/ideas/bulk-status", {
            "ids": ideas, "status": "approved"}), warm=False),
        Route("list", "GET /tasks (50)", lambda: c.call("GET", f"{b}/tasks?limit=50")),
        Route("create", "POST /tasks", lambda: c.call("POST", f"{b}/tasks", {"title": fresh("Task"),
                                                                            "sector_id": sector}, 201)),
        Route("delete", "DELETE /tasks/{id}", lambda: c.call("DELETE", f"{b}/tasks/{next(tasks)}")),
        Route("list", "GET /content (50)", lambda: c.call("GET", f"{b}/content?limit=50")),
        Route("get", "GET /content/{id} (with body)", lambda: c.call("GET", f"{b}/content/{content['content_id']}")),
        Route("create", "POST /content (800 words)", lambda: c.call("POST", f"{b}/content", {
            "title": fresh("Article"), "sector_id": sector, "body_html": "<p>" + "word " * 800 + "</p>"}, 201)),
        Route("job", "POST /jobs (cluster 20 keywords)", lambda: c.call("POST", f"{b}/jobs", {
            "stage": "cluster_keywords", "filter": {"sector_id": next(next_sector), "limit": 20}}, 202)),
        Route("get", "GET /jobs/{id}", lambda: c.call("GET", f"{b}/jobs/{job}")),
        Route("list", "GET /jobs", lambda: c.call("GET", f"{b}/jobs?limit=20")),
        Route("get", "GET /credits", lambda: c.call("GET", "/v1/credits")),
        Route("list", "GET /credits/ledger (50)", lambda: c.call("GET", "/v1/credits/ledger?limit=50")),
        Route("get", "GET /publishing/settings", lambda: c.call("GET", f"{b}/publishing/settings")),
        Route("update", "PUT /publishing/settings", lambda: c.call("PUT", f"{b}/publishing/settings", {
            "daily_publish_limit": 1 + state["n"] % 3})),
        Route("get", "GET /calendar (7 days)", lambda: c.call("GET", f"{b}/calendar")),
    ]


def round_trips_by_class(rows: list[dict[str, Any]], backend: str = "moto") -> dict[str, dict[str, Any]]:
    """Per route class: the fewest and most round trips (DynamoDB calls) a route of it makes, and which."""
    out: dict[str, dict[str, Any]] = {}
    for cls in CLASSES:
        mine = [r for r in rows if r["class"] == cls and r["backend"] == backend]
        if mine:
            most = max(mine, key=lambda r: r["calls"])
            out[cls] = {"routes": len(mine), "min": min(r["calls"] for r in mine), "max": most["calls"],
                        "max_route": most["route"]}
    return out


def _run_backend(backend: str, rows: list[dict[str, Any]]) -> None:
    from chalice.test import Client

    with _backend(backend):
        from app import app

        with Client(app) as client:
            c = _Http(client)
            for route in _routes(c, backend):
                if route.warm:
                    route.call()
                METER.reset()
                started = time.perf_counter()
                route.call()
                millis = (time.perf_counter() - started) * 1000
                calls = dict(sorted(METER.calls.items()))
                rows.append({"backend": backend, "class": route.cls, "route": route.name,
                             "calls": sum(calls.values()), "by_operation": calls,
                             "read_units": round(METER.read_units, 1) if METER.reported else None,
                             "write_units": round(METER.write_units, 1) if METER.reported else None,
                             "scans": calls.get("Scan", 0), "ms": round(millis, 1)})


def run(*, backends: tuple[str, ...] | None = None) -> dict[str, Any]:
    from infra.bench import dynamodb_calls

    dynamodb_calls._environment()
    os.environ["RESOURCE_PREFIX"] = "seo-dev"  # chalice.test.Client applies the dev stage's variables
    _install_hooks()
    wanted = backends or tuple(os.environ.get("BENCH_BACKENDS", "moto,dynamodb_local").split(","))
    rows: list[dict[str, Any]] = []
    notes = ["warm calls (each route called once before): what a Lambda container that has served before pays; "
             "calls include the one read every route makes first (services.caller: one BatchGetItem of the user "
             "and account, and for site routes the module switches and the site)"]
    if "moto" in wanted:
        _run_backend("moto", rows)
        notes.append("moto: call counts; its capacity is nominal (1 unit per read/write, none for transactions)")
    if "dynamodb_local" in wanted:
        if dynamodb_calls._dynamodb_local_available():
            _run_backend("dynamodb_local", rows)
            notes.append("dynamodb_local: capacity units as DynamoDB Local reports them for "
                         "ReturnConsumedCapacity=TOTAL (from item sizes; an estimate of the service's, not a bill)")
        else:
            notes.append("DynamoDB Local not installed (make setup): no capacity figures")
    scans = sum(r["scans"] for r in rows)
    if scans:
        raise AssertionError(f"{scans} Scan calls were made")
    by_class = round_trips_by_class(rows, "moto" if "moto" in wanted else "dynamodb_local")
    notes.append("round trips per route class (DynamoDB calls, min-max): " + "; ".join(
        f"{cls} {c['min']}" + (f"-{c['max']} (most: {c['max_route']})" if c["max"] != c["min"] else "")
        for cls, c in by_class.items()))
    by_route: dict[str, dict[str, Any]] = {}
    for r in rows:
        entry = by_route.setdefault(r["route"], {"class": r["class"]})
        entry[f"{r['backend']}_calls"] = r["calls"]
        if r["backend"] == "dynamodb_local":
            entry["read_units"], entry["write_units"] = r["read_units"], r["write_units"]
    return {"title": "DynamoDB calls and consumed capacity per API route (warm)", "rows": rows, "notes": notes,
            "by_route": by_route, "by_class": by_class, "scans": scans}


def main() -> int:
    from infra.bench.__main__ import format_table

    started = time.perf_counter()
    result = run()
    print(f"\n{result['title']}  ({time.perf_counter() - started:.1f}s)")
    print(format_table(result["rows"]))
    for note in result["notes"]:
        print(f"  note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
