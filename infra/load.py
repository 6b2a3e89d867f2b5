"""``make load``: concurrent API clients and a pool of workers against the local stack, for a bounded time.

Starts ``python -m infra.local.stack --dynamodb local --workers 8`` on free ports (the API in
``chalice local``, SQS / S3 on moto's server, the tables on Amazon's DynamoDB Local, 8 worker
threads shared by every queue), then runs ``--clients`` threads for ``--seconds``. Each client
is a customer with its own account, site and sector, doing a realistic mix:

- **read** (60%): its account, sites, sectors, keywords (pages, filters, one by id), clusters,
  ideas, jobs (list and one), credits and the ledger, publishing settings, the calendar;
- **write** (25%): keyword imports of 10 new keywords, single keywords, keyword edits,
  publishing settings, site edits;
- **job** (10%): clustering its pending keywords, then ideas for its new clusters -- one
  job at a time, as the app does (the next starts when the last has finished);
- **auth** (5%): sign in, refresh (token rotation).

Every request has the statuses it may answer; anything else (and every 5xx) is an error.
Afterwards it waits for the queues to drain and checks the chaos suite's invariants on every
account (jobs final and their counters exact, ledger = balance, one charge per item, job
credits = ledger debits, no duplicate or empty clusters, ideas as the jobs report them).

Figures: requests per second, p50 / p95 / p99 latency per route class (and per route with
``--routes``), errors, and the invariants; as a table and, with ``--output``, as JSON.

    python -m infra.load [--seconds 60] [--clients 12] [--workers 8] [--dynamodb local|moto]
                         [--output load.json] [--routes]

Needs nothing but the repository's venv (and Java + the DynamoDB Local jar for ``--dynamodb local``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from infra.local.processes import ROOT, BackgroundStack

CLASSES = ("read", "write", "job", "auth")
MIX = {"read": 0.60, "write": 0.25, "job": 0.10, "auth": 0.05}
CREDITS = 100_000


@dataclass
class Sample:
    cls: str
    route: str
    status: int
    millis: float
    ok: bool


@dataclass
class Recorder:
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    measuring: bool = False

    def add(self, sample: Sample, detail: str = "") -> None:
        with self.lock:
            if self.measuring:
                self.samples.append(sample)
            if not sample.ok:
                self.errors.append(f"{sample.route} -> {sample.status}: {detail[:300]}")


class Unexpected(Exception):
    pass


class Customer:
    """One API client: an account with a site and a sector, its own session and random choices."""

    def __init__(self, n: int, api: str, recorder: Recorder, seed: int) -> None:
        self.n = n
        self.api = api.rstrip("/")
        self.rec = recorder
        self.rng = random.Random(seed * 1000 + n)
        self.http = requests.Session()
        self.email = f"load-{seed}-{n}-{os.getpid()}@example.com"
        self.password = "load test password 1"
        self.token = ""
        self.refresh = ""
        self.account_id = ""
        self.site_id = ""
        self.sector_id = ""
        self.keyword_ids: list[str] = []
        self.job: dict[str, Any] | None = None
        self.imported = 0
        self.pending_since_job = 0

    # --- one request ------------------------------------------------------------------------

    def call(self, cls: str, route: str, method: str, path: str, body: Any = None,
             expect: tuple[int, ...] = (200,), *, token: bool = True) -> Any:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {self.token}"
        started = time.perf_counter()
        try:
            r = self.http.request(method, f"{self.api}{path}", json=body, headers=headers, timeout=60)
            status, text = r.status_code, r.text
        except requests.RequestException as exc:
            status, text = 0, repr(exc)
        millis = (time.perf_counter() - started) * 1000
        ok = status in expect
        self.rec.add(Sample(cls, route, status, millis, ok), f"{method} {path}: {text}")
        if not ok:
            raise Unexpected(f"{method} {path} -> {status}")
        return {"_status": status, **r.json()} if text and text.startswith("{") else {"_status": status}

    @property
    def base(self) -> str:
        return f"/v1/sites/{self.site_id}"

    # --- set-up -------------------------------------------------------------------------------

    def setup(self) -> None:
        reg = self.call("auth", "POST /auth/register", "POST", "/v1/auth/register", {
            "account_name": f"Load {self.n}", "email": self.email, "password": self.password}, (201,), token=False)
        self.token, self.refresh = reg["tokens"]["access_token"], reg["tokens"]["refresh_token"]
        self.account_id = reg["account"]["account_id"]
        grant_credits(self.account_id)
        self.site_id = self.call("write", "POST /sites", "POST", "/v1/sites", {
            "name": f"Load site {self.n}", "time_zone": "Europe/Berlin"}, (201,))["site_id"]
        self.sector_id = self.call("write", "POST /sites/{id}/sectors", "POST", f"{self.base}/sectors", {
            "name": "Coffee"}, (201,))["sector_id"]
        self.import_keywords(20)

    def import_keywords(self, n: int) -> None:
        from infra.bench.pipeline import bench_keywords

        # each client its own vocabulary (letter-shifted), each import a new slice of it
        rows = bench_keywords(self.imported + n)[self.imported:]
        rows = [{**r, "keyword": f"{r['keyword']} {_word(self.n)}"} for r in rows]
        out = self.call("write", "POST /sites/{id}/keywords/import", "POST", f"{self.base}/keywords/import", {
            "sector_id": self.sector_id, "keywords": rows}, (200, 201))
        self.imported += n
        self.pending_since_job += int(out.get("created", 0))

    # --- the mix ------------------------------------------------------------------------------

    def step(self) -> None:
        roll, total = self.rng.random(), 0.0
        for cls in CLASSES:
            total += MIX[cls]
            if roll < total:
                break
        getattr(self, f"do_{cls}")()

    def do_read(self) -> None:
        b = self.base
        choices: list[tuple[str, str]] = [
            ("GET /me", "/v1/me"), ("GET /sites", "/v1/sites"), ("GET /sites/{id}", b),
            ("GET /sites/{id}/sectors", f"{b}/sectors"),
            ("GET /sites/{id}/keywords", f"{b}/keywords?limit=50"),
            ("GET /sites/{id}/keywords?status", f"{b}/keywords?limit=20&status=pending&sector_id={self.sector_id}"),
            ("GET /sites/{id}/clusters", f"{b}/clusters?limit=50"), ("GET /sites/{id}/ideas", f"{b}/ideas?limit=50"),
            ("GET /sites/{id}/jobs", f"{b}/jobs?limit=20"), ("GET /credits", "/v1/credits"),
            ("GET /credits/ledger", "/v1/credits/ledger?limit=50"),
            ("GET /sites/{id}/publishing/settings", f"{b}/publishing/settings"),
            ("GET /sites/{id}/calendar", f"{b}/calendar"),
        ]
        if self.keyword_ids:
            choices.append(("GET /sites/{id}/keywords/{id}", f"{b}/keywords/{self.rng.choice(self.keyword_ids)}"))
        if self.job:
            choices.append(("GET /sites/{id}/jobs/{id}", f"{b}/jobs/{self.job['job_id']}"))
        route, path = self.rng.choice(choices)
        out = self.call("read", route, "GET", path)
        if route == "GET /sites/{id}/keywords" and out.get("items"):
            self.keyword_ids = [k["keyword_id"] for k in out["items"]]

    def do_write(self) -> None:
        b = self.base
        roll = self.rng.random()
        if roll < 0.35:
            self.import_keywords(10)
        elif roll < 0.55:
            word = f"{_word(self.n)} {_word(self.rng.randrange(10**6))} brew"
            out = self.call("write", "POST /sites/{id}/keywords", "POST", f"{b}/keywords", {
                "keyword": word, "sector_id": self.sector_id, "search_volume": self.rng.randrange(10, 5000)},
                (201, 409))
            self.pending_since_job += 1 if out["_status"] == 201 else 0
        elif roll < 0.7 and self.keyword_ids:
            self.call("write", "PATCH /sites/{id}/keywords/{id}", "PATCH",
                      f"{b}/keywords/{self.rng.choice(self.keyword_ids)}",
                      {"search_volume": self.rng.randrange(10, 5000)})
        elif roll < 0.85:
            slots = sorted(self.rng.sample(["08:00", "10:00", "12:00", "14:00", "16:00", "18:00"], 3))
            self.call("write", "PUT /sites/{id}/publishing/settings", "PUT", f"{b}/publishing/settings", {
                "publish_time_slots": slots, "daily_publish_limit": self.rng.randrange(1, 4)})
        else:
            self.call("write", "PATCH /sites/{id}", "PATCH", b,
                      {"name": f"Load site {self.n} v{self.rng.random():.4f}"})

    def do_job(self) -> None:
        b = self.base
        if self.job is not None:
            job = self.call("job", "GET /sites/{id}/jobs/{id}", "GET", f"{b}/jobs/{self.job['job_id']}")
            if job["status"] == "running":
                return
            self.job = None
        if self.pending_since_job:
            job = self.call("job", "POST /sites/{id}/jobs (cluster)", "POST", f"{b}/jobs",
                            {"stage": "cluster_keywords"}, (202, 422))
            self.pending_since_job = 0
        else:
            job = self.call("job", "POST /sites/{id}/jobs (ideas)", "POST", f"{b}/jobs",
                            {"stage": "generate_ideas", "filter": {"limit": 5, "ideas_per_cluster": 1}}, (202, 422))
        if job["_status"] == 202:
            self.job = job

    def do_auth(self) -> None:
        if self.rng.random() < 0.5:
            out = self.call("auth", "POST /auth/login", "POST", "/v1/auth/login",
                            {"email": self.email, "password": self.password}, token=False)
        else:
            out = self.call("auth", "POST /auth/refresh", "POST", "/v1/auth/refresh",
                            {"refresh_token": self.refresh}, token=False)
        self.token, self.refresh = out["access_token"], out["refresh_token"]


def _word(n: int) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = letters[r] + out
    return "z" + out


# --- the product's records, read directly (this process points at the stack's DynamoDB) ------

def use_stack(stack: BackgroundStack) -> None:
    """Point this process's AWS clients at the running stack (before chalicelib is imported)."""
    for line in (stack.state_dir / "stack.env").read_text().splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            os.environ[key] = value


def grant_credits(account_id: str) -> None:
    # No route sells credits yet: the harness grants a pack directly, as a purchase would.
    from chalicelib.models.accounts import Account
    from chalicelib.services import credits

    Account(account_id).update(actions=[Account.plan_id.set("growth")])
    for credit_type in ("idea", "content", "image"):
        credits.grant(account_id, credit_type=credit_type, amount=CREDITS, key=f"load-{credit_type}", bucket="pack",
                      operation="pack_purchase")


def wait_for_jobs(customers: list[Customer], timeout: float) -> float:
    from chalicelib.models.jobs import Job

    started = time.monotonic()
    while True:
        running = [j for c in customers for j in Job.query(f"{c.account_id}#{c.site_id}", consistent_read=True)
                   if j.status == "running"]
        if not running:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{len(running)} jobs still running after {timeout:.0f}s")
        time.sleep(1.0)


def check_invariants(customers: list[Customer]) -> dict[str, Any]:
    """The chaos suite's invariants on every account; raises AssertionError with what broke."""
    from chalicelib.models.billing import CreditLedgerEntry
    from chalicelib.models.jobs import Job, JobItem, job_key
    from chalicelib.models.planner import Cluster, ContentIdea, Keyword
    from chalicelib.services import credits

    figures: Counter = Counter()
    problems: list[str] = []
    for c in customers:
        skey = f"{c.account_id}#{c.site_id}"
        ledger = list(CreditLedgerEntry.query(c.account_id, consistent_read=True))
        totals = credits.ledger_totals(ledger)
        for credit_type, value in credits.balances(c.account_id).items():
            if value["available"] != totals[credit_type]:
                problems.append(f"{c.email}: {credit_type} balance {value['available']} != ledger "
                                f"{totals[credit_type]}")
        debits = [e for e in ledger if e.kind == "debit"]
        per_item = Counter((e.job_id, e.related_object_id) for e in debits)
        problems += [f"{c.email}: charged twice for {k}" for k, n in per_item.items() if n > 1]
        by_job: Counter = Counter()
        for e in debits:
            by_job[e.job_id] += -int(e.delta)
        created = Counter()
        for job in Job.query(skey, consistent_read=True):
            items = list(JobItem.query(job_key(c.account_id, job.job_id), consistent_read=True))
            status = Counter(i.status for i in items)
            figures[f"jobs_{job.stage}"] += 1
            figures["job_items"] += len(items)
            figures.update({f"items_{k}": v for k, v in status.items()})
            if job.status not in ("completed", "failed"):
                problems.append(f"{c.email}: job {job.job_id} is {job.status}")
            if (job.done, job.failed, job.skipped) != (status["done"], status["failed"], status["skipped"]):
                problems.append(f"{c.email}: job {job.job_id} counters {job.done}/{job.failed}/{job.skipped} != "
                                f"items {dict(status)}")
            if int(job.credits_spent) != by_job.get(job.job_id, 0):
                problems.append(f"{c.email}: job {job.job_id} credits {job.credits_spent} != ledger "
                                f"{by_job.get(job.job_id, 0)}")
            for item in items:
                if item.status == "failed" and not item.error:
                    problems.append(f"{c.email}: failed item {item.item_id} without a reason")
                if item.status == "done":
                    created["clusters"] += int((item.result or {}).get("clusters_created", 0))
                    created["ideas"] += int((item.result or {}).get("ideas_created", 0))
        clusters = list(Cluster.query(skey, consistent_read=True))
        ideas = list(ContentIdea.query(skey, consistent_read=True))
        keywords = list(Keyword.query(skey, consistent_read=True))
        members = Counter(k.cluster_id for k in keywords if k.cluster_id)
        for cluster in clusters:
            if members[cluster.cluster_id] != int(cluster.keyword_count or 0):
                problems.append(f"{c.email}: cluster {cluster.cluster_id} counts {cluster.keyword_count} keywords, "
                                f"has {members[cluster.cluster_id]}")
            if not members[cluster.cluster_id]:
                problems.append(f"{c.email}: cluster {cluster.cluster_id} is empty (a duplicate)")
        if len(clusters) != created["clusters"]:
            problems.append(f"{c.email}: {len(clusters)} clusters, jobs report {created['clusters']} created")
        if len(ideas) != created["ideas"]:
            problems.append(f"{c.email}: {len(ideas)} ideas, jobs report {created['ideas']} created")
        figures["keywords"] += len(keywords)
        figures["clusters"] += len(clusters)
        figures["ideas"] += len(ideas)
        figures["debits"] += len(debits)
        figures["credits_spent"] += sum(by_job.values())
    dlq = dead_letters()
    if dlq:
        problems.append(f"dead letters: {dlq}")
    return {"ok": not problems, "problems": problems[:20], **dict(figures), "dead_letters": sum(dlq.values())}


def dead_letters() -> dict[str, int]:
    import boto3

    from chalicelib.registry import QUEUES

    sqs = boto3.client("sqs")
    found = {}
    for q in QUEUES:
        url = sqs.get_queue_url(QueueName=q.dlq_name)["QueueUrl"]
        n = int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"]["ApproximateNumberOfMessages"])
        if n:
            found[q.key] = n
    return found


# --- figures ------------------------------------------------------------------------------------

def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    # nearest rank: the smallest value with at least p% of the samples at or below it
    rank = math.ceil(p / 100 * len(sorted_values))
    return sorted_values[max(0, min(len(sorted_values), rank) - 1)]


def summarise(samples: list[Sample], seconds: float, key: str = "cls") -> list[dict[str, Any]]:
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        groups[getattr(s, key)].append(s)
    order = [c for c in CLASSES if c in groups] if key == "cls" else sorted(groups)
    rows = []
    for name in [*order, "all"]:
        group = samples if name == "all" else groups[name]
        millis = sorted(s.millis for s in group)
        rows.append({"class" if key == "cls" else "route": name, "requests": len(group),
                     "rps": round(len(group) / seconds, 1) if seconds else 0.0,
                     "p50_ms": round(percentile(millis, 50), 1), "p95_ms": round(percentile(millis, 95), 1),
                     "p99_ms": round(percentile(millis, 99), 1), "max_ms": round(millis[-1], 1) if millis else 0.0,
                     "errors": sum(1 for s in group if not s.ok)})
    return rows


@dataclass
class Options:
    seconds: float = 60.0
    clients: int = 12
    workers: int = 8
    dynamodb: str = "local"
    seed: int = 1
    output: Path | None = None
    routes: bool = False
    state_dir: Path | None = None
    drain_timeout: float = 300.0


def run(o: Options) -> dict[str, Any]:
    state = Path(o.state_dir or tempfile.mkdtemp(prefix="load-"))
    started = time.monotonic()
    stack = BackgroundStack.start(state_dir=state, extra_args=[
        "--dynamodb", o.dynamodb, "--workers", str(o.workers), "--retry-backoff", "0.5"])
    try:
        try:
            stack.wait_healthy(timeout=180)
        except Exception as exc:
            raise RuntimeError(f"the local stack did not start: {exc}\n{stack.log_tail(40)}") from None
        stack_seconds = time.monotonic() - started
        use_stack(stack)
        rec = Recorder()
        customers = [Customer(n, stack.api_url, rec, o.seed) for n in range(o.clients)]
        for c in customers:
            c.setup()
        if rec.errors:
            raise RuntimeError(f"set-up failed: {rec.errors[:3]}")
        stop = threading.Event()

        def client(c: Customer) -> None:
            while not stop.is_set():
                try:
                    c.step()
                except Unexpected:
                    pass

        threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in customers]
        rec.measuring = True
        began = time.perf_counter()
        for t in threads:
            t.start()
        time.sleep(o.seconds)
        stop.set()
        for t in threads:
            t.join(timeout=90)
        elapsed = time.perf_counter() - began
        rec.measuring = False
        drained = wait_for_jobs(customers, o.drain_timeout)
        invariants = check_invariants(customers)
        worker_log = [line for line in stack.log_tail(100000).splitlines() if " batch queue=" in line]
        result = {
            "title": f"Load: {o.clients} clients, {o.workers} workers, {o.seconds:g}s, DynamoDB {o.dynamodb}",
            "seconds": round(elapsed, 1), "clients": o.clients, "workers": o.workers, "dynamodb": o.dynamodb,
            "rows": summarise(rec.samples, elapsed),
            "routes": summarise(rec.samples, elapsed, key="route") if o.routes else [],
            "errors": len([s for s in rec.samples if not s.ok]), "error_examples": rec.errors[:10],
            "statuses": dict(Counter(str(s.status) for s in rec.samples)),
            "worker_batches": len(worker_log), "queues_drained_in_s": round(drained, 1),
            "stack_start_s": round(stack_seconds, 1), "invariants": invariants,
        }
    finally:
        stack.interrupt(timeout=60)
    if o.output:
        o.output.write_text(json.dumps(result, indent=2) + "\n")
    return result


def print_result(result: dict[str, Any]) -> None:
    from infra.bench.__main__ import format_table

    print(f"\n{result['title']}  (measured {result['seconds']}s; stack up in {result['stack_start_s']}s; "
          f"queues drained {result['queues_drained_in_s']}s after)")
    print(format_table(result["rows"]))
    if result["routes"]:
        print(format_table(result["routes"]))
    inv = result["invariants"]
    print(f"  errors: {result['errors']} (statuses {result['statuses']})")
    for example in result["error_examples"]:
        print(f"    {example}")
    jobs = ", ".join(f"{k[5:]} {v}" for k, v in sorted(inv.items()) if k.startswith("jobs_"))
    items = ", ".join(f"{k[6:]} {v}" for k, v in sorted(inv.items()) if k.startswith("items_"))
    print(f"  worker batches: {result['worker_batches']}; jobs: {jobs}; job items {inv.get('job_items', 0)} ({items})")
    print(f"  records: {inv.get('keywords', 0)} keywords, {inv.get('clusters', 0)} clusters, "
          f"{inv.get('ideas', 0)} ideas; {inv.get('debits', 0)} debits, {inv.get('credits_spent', 0)} credits; "
          f"dead letters {inv['dead_letters']}")
    print(f"  invariants: {'all hold' if inv['ok'] else 'BROKEN'}")
    for problem in inv["problems"]:
        print(f"    {problem}")


def parse_args(argv: Sequence[str] | None = None) -> Options:
    p = argparse.ArgumentParser(prog="python -m infra.load", description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--clients", type=int, default=12)
    p.add_argument("--workers", type=int, default=8, help="worker threads shared by every queue (default 8)")
    p.add_argument("--dynamodb", choices=("local", "moto"), default="local")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--output", type=Path, default=None, help="write the figures as JSON here")
    p.add_argument("--routes", action="store_true", help="also print the figures per route")
    p.add_argument("--state-dir", type=Path, default=None, help="the stack's state directory (default: a temp dir)")
    a = p.parse_args(argv)
    return Options(seconds=a.seconds, clients=a.clients, workers=a.workers, dynamodb=a.dynamodb, seed=a.seed,
                   output=a.output, routes=a.routes, state_dir=a.state_dir)


def main(argv: Sequence[str] | None = None) -> int:
    o = parse_args(argv)
    sys.path.insert(0, str(ROOT))
    result = run(o)
    print_result(result)
    return 0 if result["errors"] == 0 and result["invariants"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
