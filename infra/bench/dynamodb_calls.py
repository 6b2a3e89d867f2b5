"""DynamoDB calls and consumed capacity per keyword API operation, through the real routes.

Runs the Chalice app with its test client against moto in-process (and, when it is
installed, against Amazon's DynamoDB Local too, whose capacity figures are computed from
item sizes like the service's; moto reports fixed nominal units and none for
transactions). Counting is done with botocore events on every client PynamoDB creates:
``provide-client-params`` asks for ``ReturnConsumedCapacity=TOTAL``, ``after-call`` counts
the operation and adds up ``ConsumedCapacity``. Any Scan makes the benchmark fail.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

CAPACITY_OPS = {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
                "BatchWriteItem", "TransactWriteItems", "TransactGetItems"}
IMPORT_ROWS = 10_000


@dataclass
class Meter:
    calls: Counter = field(default_factory=Counter)
    capacity: float = 0.0
    capacity_reported: int = 0

    def reset(self) -> None:
        self.calls.clear()
        self.capacity = 0.0
        self.capacity_reported = 0

    def ask_capacity(self, params: dict, model: Any, **_: Any) -> None:
        if model.name in CAPACITY_OPS:
            params["ReturnConsumedCapacity"] = "TOTAL"

    def after_call(self, parsed: dict, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1
        consumed = parsed.get("ConsumedCapacity") if isinstance(parsed, dict) else None
        entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
        for entry in entries:
            self.capacity += float(entry.get("CapacityUnits", 0) or 0)
            self.capacity_reported += 1


METER = Meter()


def _install_hooks() -> None:
    """Every botocore session PynamoDB makes gets the two handlers (clients inherit them)."""
    import botocore.session
    import pynamodb.connection.base as base

    if getattr(base, "_bench_hooked", False):
        return
    original = botocore.session.get_session

    def get_session(*args: Any, **kwargs: Any) -> Any:
        session = original(*args, **kwargs)
        session.register("provide-client-params.dynamodb", METER.ask_capacity)
        session.register("after-call.dynamodb", METER.after_call)
        return session

    base.get_session = get_session
    base._bench_hooked = True


def _environment() -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        os.environ.pop(name, None)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_REGION", os.environ["AWS_DEFAULT_REGION"])
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("APP_SIGNING_SECRET", "bench-signing-secret-0123456789abcdef0123456789")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("RESOURCE_PREFIX", "seo-bench")
    # The bench repeats a route a thousand times a minute for one account: limits far above that, so
    # every limited route still pays (and the figures show) its counter write, and none is refused.
    os.environ.setdefault("RATE_LIMITS", "jobs=1000000/60,keyword_imports=1000000/60,automation_runs=1000000/60")


@contextmanager
def _backend(name: str):
    from infra.local import provision

    if name == "moto":
        from moto import mock_aws

        from infra.bench import moto_patch

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
        from moto import mock_aws

        # SQS/S3 stay on moto; only DynamoDB goes to the real local implementation.
        with mock_aws(config={"core": {"passthrough": {"urls": [rf"{server.endpoint}.*"]}}}):
            provision.reset_model_connections()
            provision.create_tables()
            yield
    finally:
        os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
        provision.reset_model_connections()
        server.stop()


class _Client:
    def __init__(self, http: Any) -> None:
        self.http = http
        self.token: str | None = None

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        import json

        headers = {"content-type": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        r = self.http.request(method, path, body=json.dumps(body) if body is not None else b"", headers=headers)
        if r.status_code != expect:
            raise RuntimeError(f"{method} {path} answered {r.status_code}: {r.body[:500]!r}")
        return json.loads(r.body) if r.body else None


def _measure(rows: list[dict], backend: str, label: str, fn: Any) -> Any:
    METER.reset()
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    calls = dict(sorted(METER.calls.items()))
    rows.append({
        "backend": backend,
        "operation": label,
        "calls": sum(calls.values()),
        "by_operation": calls,
        "capacity_units": round(METER.capacity, 1) if METER.capacity_reported else None,
        "scans": calls.get("Scan", 0),
        "seconds": round(seconds, 3),
    })
    return result


def _run_backend(backend: str, rows: list[dict]) -> None:
    from chalice.test import Client

    from infra.demo_data import synthetic_keywords

    with _backend(backend):
        from app import app
        from chalicelib.models.accounts import Account

        with Client(app) as test_client:
            c = _Client(test_client.http)
            reg = c.call("POST", "/v1/auth/register", {"account_name": "Bench Coffee", "email": f"bench-{backend}@"
                                                       "example.com", "password": "bench password 123"}, 201)
            c.token = reg["tokens"]["access_token"]
            Account(reg["account"]["account_id"]).update(actions=[Account.plan_id.set("growth")])
            site = c.call("POST", "/v1/sites", {"name": "Bench site"}, 201)
            base = f"/v1/sites/{site['site_id']}"
            sector = c.call("POST", f"{base}/sectors", {"name": "Espresso"}, 201)["sector_id"]
            keywords = synthetic_keywords(IMPORT_ROWS)

            result = _measure(rows, backend, f"import {IMPORT_ROWS:,} keywords (JSON)", lambda: c.call(
                "POST", f"{base}/keywords/import", {"sector_id": sector, "keywords": keywords}))
            assert result["created"] == IMPORT_ROWS, result
            again = _measure(rows, backend, f"re-import the same {IMPORT_ROWS:,} (all duplicates)", lambda: c.call(
                "POST", f"{base}/keywords/import", {"sector_id": sector, "keywords": keywords}))
            assert again["created"] == 0 and again["skipped_duplicates"] == IMPORT_ROWS, again
            page = _measure(rows, backend, "list keywords (page of 50)",
                            lambda: c.call("GET", f"{base}/keywords?limit=50"))
            assert len(page["items"]) == 50 and page["next_cursor"]
            _measure(rows, backend, "list keywords, next page (cursor)",
                     lambda: c.call("GET", f"{base}/keywords?limit=50&cursor={page['next_cursor']}"))
            _measure(rows, backend, "list keywords by sector+status (50)",
                     lambda: c.call("GET", f"{base}/keywords?limit=50&sector_id={sector}&status=pending"))
            keyword_id = page["items"][0]["keyword_id"]
            _measure(rows, backend, "get keyword", lambda: c.call("GET", f"{base}/keywords/{keyword_id}"))
            _measure(rows, backend, "create keyword", lambda: c.call(
                "POST", f"{base}/keywords", {"keyword": "bench new keyword", "sector_id": sector,
                                             "search_volume": 10}, 201))
            second = c.call("GET", f"{base}/keywords?limit=50&cursor={page['next_cursor']}")["items"]
            ids = [k["keyword_id"] for k in page["items"] + second]
            _measure(rows, backend, "bulk status (100 keywords)", lambda: c.call(
                "POST", f"{base}/keywords/bulk-status", {"ids": ids, "status": "archived"}))


def _dynamodb_local_available() -> bool:
    try:
        import shutil

        from infra.local import dynamodb_local

        return bool(shutil.which("java")) and bool(dynamodb_local.jar_dir(install=False))
    except Exception:
        return False


def run() -> dict[str, Any]:
    _environment()
    _install_hooks()
    rows: list[dict[str, Any]] = []
    _run_backend("moto", rows)
    notes = ["calls include the 3 reads every site route makes first: the caller (users), the module "
             "switches (module_settings) and the site (sites)",
             "moto reports nominal capacity (1 unit per read/write, nothing for transactions)"]
    backends = os.environ.get("BENCH_BACKENDS", "moto,dynamodb_local").split(",")
    if "dynamodb_local" in backends:
        if _dynamodb_local_available():
            _run_backend("dynamodb_local", rows)
            notes.append("dynamodb_local capacity is what DynamoDB Local reports for ReturnConsumedCapacity=TOTAL "
                         "(from item sizes; an estimate of the service's, not a bill)")
        else:
            notes.append("DynamoDB Local not installed (make setup): capacity figures from moto only")
    scans = sum(r["scans"] for r in rows)
    if scans:
        raise AssertionError(f"{scans} Scan calls were made")
    return {"title": "DynamoDB calls per keyword API operation", "rows": rows, "notes": notes, "scans": scans}
