"""Memory of a warm API container: what warming up costs, and what 1,000 more requests add.

A Lambda container serves thousands of requests in one process at 512 MB, so anything a
request leaves behind adds up. This runs the app as such a container does: one fresh
process (a child of ``make bench``), one thread, requests in sequence through
``chalice.test.Client``, with AWS in another process (moto's server: what it stores is not
ours to count). ``tracemalloc`` traces every allocation from ``import app`` on:

1. **warm-up**: set-up records, then every route of the set called ``--warm`` times (the
   first call imports its blueprint, builds the DynamoDB client, fills the caches);
2. **growth**: per route class (``auth``, ``read``, ``write``, ``job``: the classes of
   ``infra/load.py``), rounds of every route of the class until ``--requests`` requests,
   measured as what is still allocated afterwards (after ``gc.collect()``), per 1,000
   requests; the largest sources (file:line) of what all classes left are listed.

The route set is ``infra.bench.routes``' plus the routes the full fuzz run saw grow (the
account's AI settings, a 93-day calendar, setting overrides). The process's RSS is given
too, for scale: it includes tracemalloc's own bookkeeping (~2x the traced memory).

Standalone: ``PYTHONPATH=. .venv/bin/python -m infra.bench.memory [--requests 300]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from infra.bench.routes import CLASSES, Route

ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024
TARGET_MIB_PER_1000 = 1.0
DEFAULT_REQUESTS = 120  # per class, once warm
DEFAULT_WARM = 2  # calls of every route before measuring
_RESULT_MARK = "MEMORY-BENCH-RESULT "


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@contextmanager
def moto_server(state_dir: Path) -> Iterator[str]:
    """moto's server in its own process (with the benches' fast transactions: infra/bench/moto_patch.py),
    provisioned from the registry; the endpoint for every AWS client of this one."""
    from infra.local.processes import LOOPBACK, free_port, spawn, wait_for_port

    port = free_port()
    serve = ("import sys; from infra.bench import moto_patch; moto_patch.apply(); from moto.server import main; "
             "main(sys.argv[1:])")
    child = spawn("moto", [sys.executable, "-c", serve, "-H", LOOPBACK, "-p", str(port)],
                  env={**os.environ, "PYTHONPATH": str(ROOT)}, log_path=state_dir / "moto.log")
    endpoint = f"http://{LOOPBACK}:{port}"
    try:
        wait_for_port(port, timeout=60, alive=child.alive)
        # Tables, queues and bucket from another process too: creating a table builds its model's
        # DynamoDB client, which a container serving requests never does for every table.
        subprocess.run([sys.executable, "-c", "from infra.local import provision; provision.provision_all()"],
                       cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "AWS_ENDPOINT_URL": endpoint},
                       check=True, timeout=300, capture_output=True)
        yield endpoint
    finally:
        child.stop()


def _extra_routes(c: Any) -> list[Route]:
    """The routes whose first use grew the API in the full fuzz run, beyond infra.bench.routes' set."""
    site_id = c.call("GET", "/v1/sites")["items"][0]["site_id"]
    state = {"n": 0}

    def put_setting() -> Any:
        state["n"] += 1
        return c.call("PUT", "/v1/account/settings/ai.temperature", {"value": round(0.1 * (state["n"] % 10), 1)})

    return [
        Route("read", "GET /account/ai-settings", lambda: c.call("GET", "/v1/account/ai-settings")),
        Route("read", "GET /account/settings", lambda: c.call("GET", "/v1/account/settings")),
        Route("read", "GET /calendar (93 days)",
              lambda: c.call("GET", f"/v1/sites/{site_id}/calendar?from=2026-01-01&to=2026-04-03")),
        Route("write", "PUT /account/settings/{key}", put_setting),
    ]


def dynamodb_clients() -> int:
    """Distinct botocore clients behind the tables' models (built ones only)."""
    from chalicelib.registry import table_models

    tables = [model._connection for model in table_models() if model._connection is not None]
    return len({id(table.connection._client) for table in tables if table.connection._client is not None})


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def _snapshot() -> tracemalloc.Snapshot:
    gc.collect()
    return tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])


def _top_sources(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, n: int = 5) -> list[str]:
    sources = []
    for stat in after.compare_to(before, "lineno")[:n]:
        if stat.size_diff < 1024:
            break
        frame = stat.traceback[0]
        where = frame.filename.replace(str(ROOT) + "/", "").split("site-packages/")[-1].split("lib/python3")[-1]
        sources.append(f"{where}:{frame.lineno} +{stat.size_diff / 1024:.0f} KiB")
    return sources


def measure(requests_per_class: int = DEFAULT_REQUESTS, warm: int = DEFAULT_WARM) -> dict[str, Any]:
    """In this process: the app against moto's server; tracemalloc from ``import app`` on."""
    from chalice.test import Client

    from infra.bench import dynamodb_calls, routes

    dynamodb_calls._environment()
    os.environ["RESOURCE_PREFIX"] = "seo-dev"  # chalice.test.Client applies the dev stage's variables
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as state_dir, moto_server(Path(state_dir)) as endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        tracemalloc.start(1)
        cold = {"traced": _traced(), "rss": rss_bytes()}
        from app import app

        with Client(app) as client:
            c = routes._Http(client)
            route_set = [r for r in routes._routes(c, "memory") if r.warm] + _extra_routes(c)
            for _ in range(warm):
                for route in route_set:
                    route.call()
            warm_state = {"traced": _traced(), "rss": rss_bytes()}
            # On disk while measuring: a snapshot holds a record per live allocation (tens of MiB).
            warm_file = Path(state_dir) / "warm.snapshot"
            _snapshot().dump(str(warm_file))
            rows = []
            for cls in CLASSES:
                members = [r for r in route_set if r.cls == cls]
                rounds = math.ceil(requests_per_class / len(members))
                traced, rss, clock = _traced(), rss_bytes(), time.perf_counter()
                for _ in range(rounds):
                    for route in members:
                        route.call()
                seconds = time.perf_counter() - clock
                grown = _traced() - traced
                count = rounds * len(members)
                rows.append({"class": cls, "routes": len(members), "requests": count,
                             "growth_kib": round(grown / 1024, 1),
                             "mib_per_1000_requests": round(grown / count * 1000 / MiB, 3),
                             "rss_growth_mib": round((rss_bytes() - rss) / MiB, 1),
                             "ms_per_request": round(seconds / count * 1000, 1)})
            end = {"traced": _traced(), "rss": rss_bytes()}
            sources = _top_sources(tracemalloc.Snapshot.load(str(warm_file)), _snapshot())
            clients = dynamodb_clients()
        tracemalloc.stop()
    total_requests = sum(r["requests"] for r in rows)
    return {
        "rows": rows,
        "routes": {cls: [r.name for r in route_set if r.cls == cls] for cls in CLASSES},
        "all": {"requests": total_requests,
                "mib_per_1000_requests": round((end["traced"] - warm_state["traced"]) / total_requests * 1000 / MiB,
                                               3),
                "largest_sources": sources},
        "warm_up": {"traced_mib": round((warm_state["traced"] - cold["traced"]) / MiB, 1),
                    "rss_mib": round((warm_state["rss"] - cold["rss"]) / MiB, 1)},
        "rss_mib": {"cold": round(cold["rss"] / MiB, 1), "warm": round(warm_state["rss"] / MiB, 1)},
        "dynamodb_clients": clients,
        "measure_seconds": round(time.perf_counter() - started, 1),
    }


def run(*, requests_per_class: int = DEFAULT_REQUESTS, warm: int = DEFAULT_WARM) -> dict[str, Any]:
    """``make bench``: measured in a fresh child process (a new container, nothing from other benches)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "infra.bench.memory", "--child", "--requests", str(requests_per_class),
            "--warm", str(warm)]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith(_RESULT_MARK)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"the memory bench failed ({done.returncode}): {done.stderr[-2000:]}")
    result = json.loads(lines[-1][len(_RESULT_MARK):])
    over = [r["class"] for r in result["rows"] if r["mib_per_1000_requests"] > TARGET_MIB_PER_1000]
    notes = [
        f"growth = what is still allocated (tracemalloc, after gc) after N more requests of the class, once every "
        f"route was called {warm} times; target under {TARGET_MIB_PER_1000} MiB per 1,000 requests",
        f"warm-up (import app -> every route warm): +{result['warm_up']['traced_mib']} MiB traced, "
        f"+{result['warm_up']['rss_mib']} MiB RSS (cold {result['rss_mib']['cold']} -> warm "
        f"{result['rss_mib']['warm']} MiB, with tracemalloc's own bookkeeping)",
        f"DynamoDB clients (botocore) behind the tables once warm: {result['dynamodb_clients']}",
        f"all classes: {result['all']['mib_per_1000_requests']} MiB per 1,000 requests "
        f"({result['all']['requests']} requests); largest sources still allocated: "
        f"{'; '.join(result['all']['largest_sources']) or 'none over 1 KiB'}",
    ]
    if over:
        notes.append(f"OVER TARGET: {', '.join(over)}")
    return {"title": "Memory growth per 1,000 requests per route class, once warm (tracemalloc, one process)",
            **result, "notes": notes, "target_mib_per_1000": TARGET_MIB_PER_1000}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m infra.bench.memory", description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=DEFAULT_REQUESTS, help="requests per route class, once warm")
    p.add_argument("--warm", type=int, default=DEFAULT_WARM, help="calls of every route before measuring")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(_RESULT_MARK + json.dumps(measure(args.requests, args.warm)), flush=True)
        return 0
    from infra.bench.__main__ import format_table

    result = run(requests_per_class=args.requests, warm=args.warm)
    print(f"\n{result['title']}  ({result['measure_seconds']}s)")
    print(format_table(result["rows"]))
    for note in result["notes"]:
        print(f"  note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
