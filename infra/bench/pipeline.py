"""The generation pipeline end to end: wall time and DynamoDB calls for 100 and 1,000 keywords.

Each size gets a fresh moto (in-process) with every table, queue and the bucket, a new
account with enough pack credits, one site and one sector (the worst case: every
per-sector read sees all of the sector's records). Then, through the real routes
(chalice.test.Client) and the real SQS handlers (``WorkerLoop.drain``, the offline AI
provider): import N keywords -> cluster -> ideas for every cluster -> approve every idea ->
tasks -> an article per task -> image prompts -> images.

A stage's figures cover its requests and the processing of its messages; finding the ids
to pass to the next stage (and checking the jobs) happens between the measurements.
DynamoDB calls are counted by the botocore hook of ``infra.bench.dynamodb_calls``.

The target: the 1,000 run costs at most 11x the 100 run, in calls and in time. Wall time
on moto is not DynamoDB's: moto answers a Query on an index by going through every item of
the table, so a run's later stages get slower as its tables fill up; the call counts are
the backend-independent figure.

Standalone: ``PYTHONPATH=. .venv/bin/python -m infra.bench.pipeline [--sizes 100,1000]
[--profile STAGE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from infra.bench import generation

SIZES = (100, 1000)
IDEAS_PER_CLUSTER = 1
CLUSTER_CHUNK = 100
TARGET_RATIO = 11.0
CREDITS = 1_000_000
STAGES = ("import", "cluster_keywords", "generate_ideas", "approve_ideas", "create_tasks", "generate_content",
          "generate_image_prompts", "generate_images")
# item ids per job request: the API takes up to 1,000, the content selectors at most 500
CHUNK = 500


@dataclass
class StageFigures:
    stage: str
    items: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    jobs: int = 0
    calls: Counter = field(default_factory=Counter)
    items_read: int = 0
    seconds: float = 0.0

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


class Meter:
    """DynamoDB calls and items read, counted where every PynamoDB request passes
    (``Connection._make_api_call``, as tests/conftest.py does). Items read shows what call
    counts hide: a Query is one call whether it returns 10 items or 10,000."""

    def __init__(self) -> None:
        self.calls: Counter = Counter()
        self.items_read = 0

    def reset(self) -> None:
        self.calls.clear()
        self.items_read = 0

    def record(self, operation: str, response: Any) -> None:
        self.calls[operation] += 1
        if not isinstance(response, dict):
            return
        if "ScannedCount" in response:
            self.items_read += int(response["ScannedCount"])
        elif operation == "GetItem":
            self.items_read += 1 if response.get("Item") else 0
        elif operation == "BatchGetItem":
            self.items_read += sum(len(v) for v in (response.get("Responses") or {}).values())


METER = Meter()


def _install_meter() -> None:
    from pynamodb.connection.base import Connection

    if getattr(Connection, "_pipeline_bench_meter", False):
        return
    original = Connection._make_api_call

    def counted(self: Any, operation_name: str, operation_kwargs: dict) -> Any:
        response = original(self, operation_name, operation_kwargs)
        METER.record(operation_name, response)
        return response

    Connection._make_api_call = counted  # type: ignore[method-assign]
    Connection._pipeline_bench_meter = True  # type: ignore[attr-defined]


class _Http:
    def __init__(self, client: Any) -> None:
        self.http = client.http
        self.token: str | None = None

    def call(self, method: str, path: str, body: Any = None, expect: int | tuple[int, ...] = 200) -> Any:
        headers = {"content-type": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        r = self.http.request(method, path, body=json.dumps(body) if body is not None else b"", headers=headers)
        expected = (expect,) if isinstance(expect, int) else expect
        if r.status_code not in expected:
            raise RuntimeError(f"{method} {path} answered {r.status_code}: {r.body[:500]!r}")
        return json.loads(r.body) if r.body else None


def bench_keywords(n: int) -> list[dict[str, Any]]:
    """``n`` keywords whose work downstream grows in proportion to ``n``.

    The first 100 synthetic keywords (``infra.demo_data``), then the same 100 again in
    further "vocabularies" that share no word with each other (every letter shifted by the
    vocabulary's number: "how to dial in espresso" -> "ipx up ejbm jo ftqsfttp"), so each
    100 makes the same clusters, ideas and articles. ``synthetic_keywords(1000)`` would not
    do for this: it repeats ~250 stems with place and year suffixes, which join their stems'
    clusters (1,000 of them make about 3x the clusters of 100).
    """
    from infra.demo_data import _metrics, synthetic_keywords

    base = synthetic_keywords(min(n, 100))
    rows = list(base)
    family = 1
    while len(rows) < n:
        for row in base[: n - len(rows)]:
            keyword = " ".join(_vocabulary_word(w, family) for w in row["keyword"].split())
            rows.append({"keyword": keyword, **_metrics(keyword)})
        family += 1
    return rows


def _shift(word: str, by: int) -> str:
    return "".join(chr((ord(ch) - 97 + by) % 26 + 97) if "a" <= ch <= "z" else ch for ch in word)


def _vocabulary_word(word: str, family: int) -> str:
    """``word`` in vocabulary ``family``: shifted by family % 26 letters; from the 27th vocabulary on
    (more than 2,600 keywords) a tag of the round (family // 26) follows, since shifts repeat after 26."""
    shifted = _shift(word, family % 26)
    if family < 26 or word.isdigit():
        return shifted
    return f"{shifted}q{family // 26}"


def _environment() -> None:
    from infra.bench import dynamodb_calls

    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        os.environ.pop(name, None)
    # chalice.test.Client applies the dev stage's variables to each request: queue and bucket
    # names are read at call time, so the workers (outside requests) must use the same prefix.
    os.environ["RESOURCE_PREFIX"] = "seo-dev"
    dynamodb_calls._environment()
    os.environ.setdefault("ALLOW_LOOPBACK_TARGETS", "1")


@contextmanager
def _fresh_aws() -> Iterator[None]:
    """A new, empty moto with every table, queue and the bucket, plus the seeded platform data."""
    from moto import mock_aws

    from chalicelib.services import ttl_cache
    from chalicelib.services.plans import seed_builtin_plans
    from chalicelib.services.system_defaults import seed_system_defaults
    from infra.local import provision

    ttl_cache.clear_all()
    with mock_aws():
        provision.reset_model_connections()
        provision.provision_all()
        seed_builtin_plans()
        seed_system_defaults()
        ttl_cache.clear_all()
        yield
    provision.reset_model_connections()
    ttl_cache.clear_all()


class _Run:
    """One size: a new account, site and sector, and the stages in order."""

    def __init__(self, client: Any, loop: Any, size: int, *, ideas_per_cluster: int = IDEAS_PER_CLUSTER,
                 profile: str | None = None) -> None:
        self.c = _Http(client)
        self.ideas_per_cluster = ideas_per_cluster
        self.loop = loop
        self.size = size
        self.profile = profile
        self.figures: dict[str, StageFigures] = {}
        self.account_id = ""
        self.base = ""
        self.site_key = ""
        self.sector_id = ""

    @contextmanager
    def measure(self, stage: str) -> Iterator[StageFigures]:
        figures = self.figures.setdefault(stage, StageFigures(stage))
        profiler = None
        if self.profile and self.profile == stage:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        METER.reset()
        started = time.perf_counter()
        try:
            yield figures
        finally:
            figures.seconds += time.perf_counter() - started
            figures.calls.update(METER.calls)
            figures.items_read += METER.items_read
            if profiler is not None:
                import pstats

                profiler.disable()
                order = os.environ.get("BENCH_PROFILE_SORT", "cumulative")
                print(f"\n--- profile of {stage} ({self.size} keywords), by {order} ---", file=sys.stderr)
                lines = int(os.environ.get("BENCH_PROFILE_LINES", "35"))
                pstats.Stats(profiler, stream=sys.stderr).sort_stats(order).print_stats(lines)

    def setup(self) -> None:
        from chalicelib.services import credits

        reg = self.c.call("POST", "/v1/auth/register", {
            "account_name": f"Bench pipeline {self.size}", "email": f"bench-pipeline-{self.size}@example.com",
            "password": "bench password 123"}, 201)
        self.c.token = reg["tokens"]["access_token"]
        self.account_id = reg["account"]["account_id"]
        for credit_type in ("idea", "content", "image"):
            credits.grant(self.account_id, credit_type=credit_type, amount=CREDITS, key=f"bench-{credit_type}",
                          bucket="pack", operation="pack_purchase")
        site = self.c.call("POST", "/v1/sites", {"name": "Bench coffee"}, 201)
        self.base = f"/v1/sites/{site['site_id']}"
        self.site_key = f"{self.account_id}#{site['site_id']}"
        self.sector_id = self.c.call("POST", f"{self.base}/sectors", {"name": "Coffee at home"}, 201)["sector_id"]

    def job_stage(self, stage: str, ids: list[str], *, chunk: int = CHUNK, drain_each: bool = False,
                  **job_filter: Any) -> list[dict[str, Any]]:
        """Start ``stage`` on ``ids`` (a job per ``chunk`` ids), drain the queues (after each job
        with ``drain_each``), return the done items' results."""
        from chalicelib.models.jobs import Job

        job_ids = []
        with self.measure(stage) as figures:
            for start in range(0, len(ids), chunk):
                part = ids[start:start + chunk]
                # an explicit limit: the selectors cap even explicit ids at their default limit
                job = self.c.call("POST", f"{self.base}/jobs", {
                    "stage": stage, "item_ids": part, "filter": {"limit": len(part), **job_filter}}, 202)
                job_ids.append(job["job_id"])
                if drain_each:
                    self.loop.drain(max_seconds=3600)
            self.loop.drain(max_seconds=3600)
        results = []
        for job_id in job_ids:
            job = Job.get(self.site_key, job_id, consistent_read=True)
            if job.status == "running":
                raise RuntimeError(f"{stage} job {job_id} still running after the queues drained")
            figures.jobs += 1
            figures.items += job.total
            figures.done += job.done
            figures.failed += job.failed
            figures.skipped += job.skipped
            results += self._results(job_id)
        return results

    def _results(self, job_id: str) -> list[dict[str, Any]]:
        from chalicelib.models.jobs import JobItem, job_key

        return [{**(item.result or {}), "item_id": item.item_id}
                for item in JobItem.query(job_key(self.account_id, job_id)) if item.status == "done"]

    def run(self) -> dict[str, StageFigures]:
        from chalicelib.models.planner import Cluster
        self.setup()
        rows = bench_keywords(self.size)
        with self.measure("import") as figures:
            result = self.c.call("POST", f"{self.base}/keywords/import", {"sector_id": self.sector_id,
                                                                         "keywords": rows})
        figures.items = figures.done = result["created"]
        if result["created"] != self.size:
            raise RuntimeError(f"imported {result['created']} of {self.size} keywords")

        # Clustering as keywords arrive, 100 at a time (in import order: one vocabulary each):
        # each job joins what fits the sector's clusters so far and makes new ones of the rest.
        self.job_stage("cluster_keywords", self._keyword_ids(), chunk=CLUSTER_CHUNK, drain_each=True)
        cluster_ids = [c.cluster_id for c in Cluster.query(self.site_key)]
        self.job_stage("generate_ideas", cluster_ids, ideas_per_cluster=self.ideas_per_cluster)
        idea_ids = self._pending_idea_ids()
        with self.measure("approve_ideas") as figures:
            for start in range(0, len(idea_ids), 100):
                out = self.c.call("POST", f"{self.base}/ideas/bulk-status",
                                  {"ids": idea_ids[start:start + 100], "status": "approved"})
                figures.done += len(out.get("succeeded", []))
        figures.items = len(idea_ids)
        tasks = self.job_stage("create_tasks", idea_ids)
        articles = self.job_stage("generate_content", [r["task_id"] for r in tasks])
        content_ids = [r["content_id"] for r in articles]
        self.job_stage("generate_image_prompts", content_ids)
        self.job_stage("generate_images", content_ids)
        generation.FROM_PIPELINE[self.size] = generation.collect(self.site_key)  # its quality bench reads them
        return self.figures

    def _keyword_ids(self) -> list[str]:
        from chalicelib.models.planner import Keyword

        # ids are time-ordered (UUIDv7) and the import writes rows in order
        return [k.keyword_id for k in Keyword.query(self.site_key)]

    def _pending_idea_ids(self) -> list[str]:
        from chalicelib.models.planner import ContentIdea

        return [i.idea_id for i in ContentIdea.query(self.site_key) if i.status == "pending"]


def run_size(size: int, *, ideas_per_cluster: int = IDEAS_PER_CLUSTER,
             profile: str | None = None) -> dict[str, StageFigures]:
    from chalice.test import Client

    with _fresh_aws():
        import app as app_module
        from infra.local.worker import WorkerLoop

        loop = WorkerLoop(app_module, backoff=lambda receive_count: 0)
        with Client(app_module.app) as client:
            return _Run(client, loop, size, ideas_per_cluster=ideas_per_cluster, profile=profile).run()


def _stage_row(size: int | str, f: StageFigures) -> dict[str, Any]:
    return {"keywords": size, "stage": f.stage, "jobs": f.jobs or None, "items": f.items,
            "failed": f.failed + f.skipped or None, "seconds": round(f.seconds, 2),
            "ms_per_item": round(1000 * f.seconds / f.items, 1) if f.items else None,
            "ddb_calls": f.total_calls, "calls_per_item": round(f.total_calls / f.items, 1) if f.items else None,
            "items_read": f.items_read,
            "read_per_item": round(f.items_read / f.items, 1) if f.items else None}


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(b / a, 2) if a and b is not None else None


def run(sizes: Sequence[int] = SIZES, *, ideas_per_cluster: int = IDEAS_PER_CLUSTER, profile: str | None = None,
        progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    import logging

    from infra.bench import moto_patch

    saved = {k: os.environ.get(k) for k in ("RESOURCE_PREFIX", "ACCESS_TOKEN_TTL")}
    _environment()
    # 10,000 keywords take longer than an access token lives (15 minutes): one token for the run
    os.environ["ACCESS_TOKEN_TTL"] = str(24 * 3600)
    _install_meter()
    moto_patch.apply()
    # The worker loop logs one line per batch: thousands here.
    logging.getLogger("infra.local.worker").setLevel(logging.WARNING)
    say = progress or (lambda line: print(line, file=sys.stderr, flush=True))

    figures: dict[int, dict[str, StageFigures]] = {}
    try:
        for size in sizes:
            started = time.perf_counter()
            figures[size] = run_size(size, ideas_per_cluster=ideas_per_cluster, profile=profile)
            say(f"  pipeline bench: {size:,} keywords in {time.perf_counter() - started:.1f}s")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    rows: list[dict[str, Any]] = []
    totals: dict[int, dict[str, Any]] = {}
    for size, stages in figures.items():
        for stage in STAGES:
            if stage in stages:
                rows.append(_stage_row(size, stages[stage]))
        by_op: Counter = Counter()
        for f in stages.values():
            by_op.update(f.calls)
        calls, seconds = sum(by_op.values()), sum(f.seconds for f in stages.values())
        read = sum(f.items_read for f in stages.values())
        totals[size] = {"seconds": round(seconds, 2), "ddb_calls": calls, "items_read": read,
                        "calls_per_keyword": round(calls / size, 1), "ms_per_keyword": round(1000 * seconds / size, 1),
                        "articles": stages["generate_content"].done, "clusters": stages["generate_ideas"].items,
                        "by_operation": dict(sorted(by_op.items())), "scans": by_op.get("Scan", 0),
                        "stages": {f.stage: _stage_row(size, f) for f in stages.values()}}
        rows.append({"keywords": size, "stage": "TOTAL (per keyword)", "items": size, "seconds": round(seconds, 2),
                     "ms_per_item": totals[size]["ms_per_keyword"], "ddb_calls": calls,
                     "calls_per_item": totals[size]["calls_per_keyword"], "items_read": read,
                     "read_per_item": round(read / size, 1)})

    ratios: dict[str, Any] = {}
    notes = [f"one site, one sector; keywords clustered in jobs of {CLUSTER_CHUNK}; {ideas_per_cluster} idea(s) per "
             "cluster, every idea approved and written, image prompts and images for every article; offline AI "
             "provider; moto in-process",
             "seconds: the stage's requests + draining its queues; items: job items (sectors for clustering, "
             "clusters for ideas, ideas for tasks, tasks for articles, articles for images); items_read: items "
             "DynamoDB returned or scanned (Query ScannedCount, GetItem, BatchGetItem)"]
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        for stage in STAGES:
            a, b = figures[small].get(stage), figures[large].get(stage)
            if a is None or b is None:
                continue
            ra, rb = _stage_row(small, a), _stage_row(large, b)
            rows.append({"keywords": f"{large}/{small}", "stage": stage,
                         **{k: _ratio(ra[k], rb[k]) for k in ("items", "seconds", "ms_per_item", "ddb_calls",
                                                              "calls_per_item", "items_read", "read_per_item")}})
        ta, tb = totals[small], totals[large]
        ratios = {"keywords": large / small, "target": TARGET_RATIO,
                  **{k: _ratio(ta[k], tb[k]) for k in ("seconds", "ddb_calls", "items_read", "articles")}}
        rows.append({"keywords": f"{large}/{small}", "stage": "TOTAL", "items": large / small,
                     "seconds": ratios["seconds"], "ddb_calls": ratios["ddb_calls"],
                     "items_read": ratios["items_read"]})
        for what in ("seconds", "ddb_calls", "items_read"):
            value = ratios[what]
            verdict = "within" if value is not None and value <= TARGET_RATIO else "OVER"
            notes.append(f"{large:,} vs {small:,} keywords: {what} x{value} ({verdict} the x{TARGET_RATIO:g} target; "
                         f"articles x{ratios['articles']})")
    scans = sum(t["scans"] for t in totals.values())
    if scans:
        raise AssertionError(f"{scans} Scan calls were made")
    return {"title": "Generation pipeline end to end: wall time and DynamoDB calls", "rows": rows, "notes": notes,
            "totals": {str(k): v for k, v in totals.items()}, "ratios": ratios, "scans": scans}


def main(argv: Sequence[str] | None = None) -> int:
    from infra.bench.__main__ import format_table

    p = argparse.ArgumentParser(prog="python -m infra.bench.pipeline", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default=",".join(map(str, SIZES)), help="keyword counts, smallest first")
    p.add_argument("--ideas-per-cluster", type=int, default=IDEAS_PER_CLUSTER)
    p.add_argument("--profile", choices=STAGES, help="print a cProfile of this stage (each size) to stderr; "
                   "BENCH_PROFILE_SORT=tottime to sort by own time")
    args = p.parse_args(argv)
    started = time.perf_counter()
    result = run([int(s) for s in args.sizes.split(",")], ideas_per_cluster=args.ideas_per_cluster,
                 profile=args.profile)
    print(f"\n{result['title']}  ({time.perf_counter() - started:.1f}s)")
    print(format_table(result["rows"]))
    for note in result["notes"]:
        print(f"  note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
