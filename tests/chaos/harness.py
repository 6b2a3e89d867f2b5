"""Chaos for the whole pipeline: duplicate deliveries, failing AI and WordPress calls, killed workers.

``run_chaos(profile)`` drives keywords -> clusters -> ideas (approved) -> tasks -> articles ->
image prompts -> images -> approval -> slots -> publishing through the real routes
(``chalice.test.Client``), the real SQS handlers (a ``ChaosLoop``, the local worker loop
with faults) and the publishing tick, then checks what must hold whatever happened.

Faults, all from one seeded ``random.Random``:

- **Duplicate deliveries**: the first time the loop receives a message, it sends a copy to
  the same queue (a new message id, as SQS's at-least-once delivery does), so every message
  the product sends is delivered at least twice.
- **AI calls**: the offline provider's chat / embed / images fail at ``ai_failure_rate``
  with a timeout, a 429 or a 500 (the error types the real providers raise for those).
- **WordPress calls** (an in-memory WordPress, ``tests/api/fake_wordpress.py``): each call of
  the publish path fails at ``wp_failure_rate`` with a timeout, a 429 or a 500 -- for a
  write, half of them *after* WordPress did it (the answer is lost: the post or the upload
  exists, the worker does not know).
- **Killed workers**: at checkpoints in the worker path (after the AI answered and before
  the plan is stored, before and after the charge, after each record is written, before and
  after the item is finished, before and after the publish is remembered...) a ``KillWorker``
  (a BaseException: nothing in the product catches it) ends the invocation. The loop settles
  nothing, moves the clock past the queue's visibility timeout (leases expire, as they would
  by then) and lets SQS deliver the batch again.

Nothing here changes product code; the faults are monkeypatched around it.
"""

from __future__ import annotations

import functools
import json
import random
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.ai.errors import AIProviderDown, AIRateLimitError, AITimeout
from chalicelib.integrations.wordpress.errors import WPRateLimited, WPUnavailable
from infra.local.worker import BatchResult, WorkerLoop
from tests.api.fake_wordpress import PASSWORD, URL, USER, FakeWordPress

ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
LIMITS = {"d": 2, "w": 9, "m": 30}
TIME_SLOTS = ["08:00", "12:00", "16:00", "20:00"]
TIME_ZONE = "Europe/Berlin"
STAGES = ("cluster_keywords", "generate_ideas", "create_tasks", "generate_content", "generate_image_prompts",
          "generate_images")


class KillWorker(BaseException):
    """The Lambda running this batch died (timeout, out of memory, host gone). Not an Exception:
    the product's error handling must not see it, exactly as it would not see a real crash."""


@dataclass(frozen=True)
class Profile:
    seed: int = 1
    keywords: int = 30
    sectors: int = 2
    ideas_per_cluster: int = 2
    ai_failure_rate: float = 0.2
    wp_failure_rate: float = 0.2
    kill_rate: float = 0.02  # per checkpoint passed inside a worker
    # One item of each of these stages' jobs meets an AI outage on every delivery until its
    # retry: it must end failed with its reason, and the retry route must bring it back.
    outage_stages: tuple[str, ...] = ("generate_ideas", "generate_content")
    retry_rounds: int = 8
    drain_seconds: float = 900.0


@dataclass
class Chaos:
    profile: Profile
    rng: random.Random = field(init=False)
    enabled: bool = False
    counts: Counter = field(default_factory=Counter)
    kills: Counter = field(default_factory=Counter)
    doomed: set[str] = field(default_factory=set)  # job item ids whose AI calls fail until their retry
    _worker: threading.local = field(default_factory=threading.local)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.profile.seed)

    @property
    def in_worker(self) -> bool:
        return bool(getattr(self._worker, "active", False))

    def set_worker(self, active: bool) -> None:
        self._worker.active = active

    def set_item(self, item_id: str | None) -> None:
        self._worker.item = item_id

    # --- faults ------------------------------------------------------------------------------

    def ai_fault(self, call: str) -> None:
        if not self.enabled:
            return
        self.counts["ai_calls"] += 1
        if getattr(self._worker, "item", None) in self.doomed:
            self.counts["ai_outage"] += 1
            raise AIProviderDown(f"chaos: the provider is down for this item ({call})", provider="offline",
                                 status=503)
        if self.rng.random() >= self.profile.ai_failure_rate:
            return
        kind = self.rng.choice(("timeout", "429", "500"))
        self.counts[f"ai_failed_{kind}"] += 1
        self.counts["ai_failed"] += 1
        if kind == "timeout":
            raise AITimeout(f"chaos: {call} timed out", provider="offline")
        if kind == "429":
            raise AIRateLimitError(f"chaos: {call} rate limited", provider="offline", status=429)
        raise AIProviderDown(f"chaos: {call} answered 500", provider="offline", status=500)

    def wp_fault(self, method: str, *, after: bool, rate: float) -> None:
        if not self.enabled or self.rng.random() >= rate:
            return
        kind = self.rng.choice(("timeout", "500") if after else ("timeout", "429", "500"))
        self.counts["wp_failed"] += 1
        self.counts[f"wp_fail_{method}"] += 1
        self.counts[f"wp_failed_{kind}"] += 1
        if after:
            self.counts["wp_lost_answers"] += 1
            self.counts[f"wp_lost_{method}"] += 1
        write = method in ChaosWordPress.WRITES
        if kind == "429":
            raise WPRateLimited("chaos: 429 Too Many Requests", status=429, retry_after=1)
        if kind == "500":
            raise WPUnavailable("chaos: 500 Internal Server Error", status=500, outcome_unknown=write and after)
        raise WPUnavailable("chaos: read timeout", outcome_unknown=write)

    def checkpoint(self, name: str) -> None:
        if self.enabled and self.in_worker and self.rng.random() < self.profile.kill_rate:
            self.kills[name] += 1
            raise KillWorker(name)


class ChaosWordPress(FakeWordPress):
    """The in-memory WordPress whose publish-path calls fail now and then, some after the fact."""

    PUBLISH = frozenset({"ensure_terms", "upload_media", "find_post_by_content_id", "create_post", "update_post",
                         "find_media_by_key", "update_media"})
    WRITES = frozenset({"upload_media", "create_post", "update_post", "update_media"})

    def __init__(self, chaos: Chaos) -> None:
        super().__init__()
        self.chaos = chaos
        self.created: Counter = Counter()  # content id -> posts created for it (ever)

    def _call(self, method: str) -> None:
        super()._call(method)
        if method in self.PUBLISH and self.chaos.enabled:
            self.chaos.counts["wp_calls"] += 1
            self.chaos.counts[f"wp_call_{method}"] += 1
            # a write fails half the time before and half after WordPress applied it
            rate = self.chaos.profile.wp_failure_rate / (2 if method in self.WRITES else 1)
            self.chaos.wp_fault(method, after=False, rate=rate)

    def _done(self, method: str, result: Any) -> Any:
        result = super()._done(method, result)
        if method == "create_post":
            self.created[result.content_id] += 1
        if method in self.WRITES:
            self.chaos.wp_fault(method, after=True, rate=self.chaos.profile.wp_failure_rate / 2)
            self.chaos.checkpoint(f"wordpress.{method}:answered")
        return result


# --- installing the faults ---------------------------------------------------------------------

KILL_POINTS: dict[str, dict[str, tuple[bool, bool]]] = {
    # module -> function -> (checkpoint before, checkpoint after)
    "chalicelib.services.pipeline.items": {"_claim": (False, True), "_finish": (True, True),
                                           "_release": (True, False)},
    "chalicelib.services.pipeline.stages.shared": {"ai_call": (False, True), "save_plan": (False, True),
                                                   "charge": (True, True)},
    "chalicelib.services.planner": {"create_cluster": (False, True), "assign_keywords": (False, True),
                                    "create_idea": (False, True), "set_idea_status": (True, False)},
    "chalicelib.services.writer": {"create_task": (False, True), "create_content": (False, True),
                                   "create_image": (False, True)},
    "chalicelib.services.media": {"store": (False, True)},
    "chalicelib.services.state_machines": {"transition": (False, True)},
    "chalicelib.services.publishing.worker": {"_claim_publish": (False, True), "_succeed": (True, True),
                                              "_give_back": (True, False), "_fail": (True, False)},
    "chalicelib.services.publishing.post": {"_remember_post": (True, True)},
}


def install(monkeypatch: Any, chaos: Chaos) -> ChaosWordPress:
    import importlib

    from chalicelib.ai.providers.offline_provider import OfflineProvider

    for name in ("chat", "embed", "images"):
        original = getattr(OfflineProvider, name)

        def faulty(self: Any, *args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
            chaos.ai_fault(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(OfflineProvider, name, faulty)

    from chalicelib.messages import StageItem
    from chalicelib.services.pipeline import items

    process_message = items.process_message

    def tracked(message: StageItem, **kwargs: Any) -> str:
        chaos.set_item(message.item_id)
        try:
            return process_message(message, **kwargs)
        finally:
            chaos.set_item(None)

    monkeypatch.setattr(items, "process_message", tracked)

    for module_name, functions in KILL_POINTS.items():
        module = importlib.import_module(module_name)
        short = module_name.rsplit(".", 1)[-1]
        for fn_name, (before, after) in functions.items():
            original = getattr(module, fn_name)

            @functools.wraps(original)
            def killable(*args: Any, _original: Any = original, _point: str = f"{short}.{fn_name}",
                         _before: bool = before, _after: bool = after, **kwargs: Any) -> Any:
                if _before:
                    chaos.checkpoint(f"{_point}:before")
                result = _original(*args, **kwargs)
                if _after:
                    chaos.checkpoint(f"{_point}:after")
                return result

            monkeypatch.setattr(module, fn_name, killable)
    return ChaosWordPress(chaos).install(monkeypatch)


class ChaosLoop(WorkerLoop):
    """The local worker loop, with every message delivered twice and invocations that die."""

    def __init__(self, app: Any, chaos: Chaos, **kwargs: Any) -> None:
        super().__init__(app, backoff=lambda receive_count: 0, **kwargs)
        self.chaos = chaos
        self.copied: set[str] = set()

    def receive(self, binding: Any, wait_seconds: int = 0) -> list[dict[str, Any]]:
        messages = super().receive(binding, wait_seconds)
        for m in messages:
            self.chaos.counts["deliveries"] += 1
            if "ChaosCopyOf" in (m.get("MessageAttributes") or {}):
                self.chaos.counts["duplicate_deliveries"] += 1
                continue
            if not self.chaos.enabled or m["MessageId"] in self.copied:
                continue
            self.copied.add(m["MessageId"])
            self.sqs.send_message(QueueUrl=binding.url, MessageBody=m["Body"], MessageAttributes={
                "ChaosCopyOf": {"DataType": "String", "StringValue": m["MessageId"]}})
            self.chaos.counts["duplicates_sent"] += 1
        return messages

    def process(self, binding: Any, messages: list[dict[str, Any]]) -> BatchResult:
        from chalicelib import timeutil

        self.chaos.set_worker(True)
        try:
            return super().process(binding, messages)
        except KillWorker as kill:
            # Nothing is settled: the messages come back once the visibility timeout has passed,
            # and by then every lease the dead worker took has expired too.
            ids = [m["MessageId"] for m in messages]
            timeutil.advance(binding.queue.visibility_timeout + 1)
            self.chaos.counts["clock_advanced_s"] += binding.queue.visibility_timeout + 1
            self.sqs.change_message_visibility_batch(QueueUrl=binding.url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(messages)])
            result = BatchResult(binding.queue.name, ids, ids, f"killed at {kill}", 0.0)
            self.stats.add(result)
            return result
        finally:
            self.chaos.set_worker(False)


# --- the API, as a client sees it ---------------------------------------------------------------

class Client:
    """JSON over chalice.test.Client; signs in again when the (moved) clock expired the token."""

    def __init__(self, http: Any) -> None:
        self.http = http
        self.email = ""
        self.password = ""
        self.token: str | None = None
        self.calls = 0

    def call(self, method: str, path: str, body: Any = None, expect: int | tuple[int, ...] = 200) -> Any:
        expected = (expect,) if isinstance(expect, int) else expect
        for _ in range(2):
            headers = {"content-type": "application/json"}
            if self.token:
                headers["authorization"] = f"Bearer {self.token}"
            r = self.http.request(method, path, body=json.dumps(body) if body is not None else b"", headers=headers)
            self.calls += 1
            if r.status_code == 401 and self.email:
                self.sign_in()
                continue
            break
        if r.status_code not in expected:
            raise AssertionError(f"{method} {path} answered {r.status_code}: {r.body[:500]!r}")
        return json.loads(r.body) if r.body else None

    def sign_in(self) -> None:
        self.token = None
        self.token = self.call("POST", "/v1/auth/login", {"email": self.email, "password": self.password})[
            "access_token"]


# --- the run -------------------------------------------------------------------------------------

@dataclass
class Run:
    profile: Profile
    chaos: Chaos
    api: Client
    loop: ChaosLoop
    wp: ChaosWordPress
    account_id: str = ""
    site_id: str = ""
    sectors: list[str] = field(default_factory=list)
    jobs: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    figures: Counter = field(default_factory=Counter)
    failed_reasons: Counter = field(default_factory=Counter)
    dlq: Counter = field(default_factory=Counter)  # work queue key -> dead letters its DLQ consumer handled
    balance_before: dict[str, int] = field(default_factory=dict)
    ledger_before: set[str] = field(default_factory=set)

    @property
    def base(self) -> str:
        return f"/v1/sites/{self.site_id}"

    @property
    def skey(self) -> str:
        return f"{self.account_id}#{self.site_id}"

    def drain(self) -> None:
        """Every queue empty, the dead-letter queues included: their consumers fail the items of the
        messages whose worker died on every delivery (worker_died), which the retries then bring back."""
        from chalicelib.registry import DEAD_LETTER_QUEUES

        consumers = {q.name: q.dead_letters_of for q in DEAD_LETTER_QUEUES}
        for result in self.loop.drain(until_empty=True, max_seconds=self.profile.drain_seconds):
            if result.queue in consumers:
                self.dlq[consumers[result.queue]] += len(result.succeeded_ids)

    # --- set-up (no faults) -------------------------------------------------------------------

    def setup(self) -> None:
        from chalicelib.models.accounts import Account
        from chalicelib.services import credits
        from infra.bench.pipeline import bench_keywords

        self.api.email, self.api.password = f"chaos-{self.profile.seed}@example.com", "chaos password 123"
        reg = self.api.call("POST", "/v1/auth/register", {"account_name": f"Chaos {self.profile.seed}",
                                                          "email": self.api.email,
                                                          "password": self.api.password}, 201)
        self.api.token = reg["tokens"]["access_token"]
        self.account_id = reg["account"]["account_id"]
        Account(self.account_id).update(actions=[Account.plan_id.set("growth")])
        for credit_type in ("idea", "content", "image"):
            credits.grant(self.account_id, credit_type=credit_type, amount=1_000_000, key=f"chaos-{credit_type}",
                          bucket="pack", operation="pack_purchase")
        self.site_id = self.api.call("POST", "/v1/sites", {"name": "Chaos coffee", "time_zone": TIME_ZONE},
                                     201)["site_id"]
        self.sectors = [self.api.call("POST", f"{self.base}/sectors", {"name": f"Sector {n}"}, 201)["sector_id"]
                        for n in range(self.profile.sectors)]
        rows = bench_keywords(self.profile.keywords)
        per_sector = -(-len(rows) // len(self.sectors))
        for n, sector_id in enumerate(self.sectors):
            part = rows[n * per_sector:(n + 1) * per_sector]
            if part:
                out = self.api.call("POST", f"{self.base}/keywords/import", {"sector_id": sector_id, "keywords": part})
                assert out["created"] == len(part), out
        self.api.call("POST", f"{self.base}/integrations", {"url": URL, "username": USER, "app_password": PASSWORD},
                      201)
        self.api.call("PUT", f"{self.base}/publishing/settings", {
            "publish_days": ALL_DAYS, "publish_time_slots": TIME_SLOTS, "daily_publish_limit": LIMITS["d"],
            "weekly_publish_limit": LIMITS["w"], "monthly_publish_limit": LIMITS["m"], "auto_publish_enabled": True})
        self.balance_before = {t: v["available"] for t, v in credits.balances(self.account_id).items()}
        self.ledger_before = {e.entry_key for e in _ledger(self.account_id)}

    # --- the stages -----------------------------------------------------------------------------

    def stage(self, stage: str, item_ids: list[str], **job_filter: Any) -> None:
        for start in range(0, len(item_ids), 500):
            part = item_ids[start:start + 500]
            job = self.api.call("POST", f"{self.base}/jobs", {
                "stage": stage, "item_ids": part, "filter": {"limit": len(part), **job_filter}}, 202)
            self.jobs[stage].append(job["job_id"])
            self.figures["job_items"] += job["total"]
            if stage in self.profile.outage_stages:
                self.chaos.doomed.add(self.chaos.rng.choice(part))
        self.drain()
        self.settle_jobs(stage)

    def settle_jobs(self, stage: str) -> None:
        """Every item final; failed ones have a reason; the DLQ holds nothing unaccounted; retry the failed."""
        from chalicelib.models.jobs import JobItem, job_key

        for _ in range(self.profile.retry_rounds):
            failed: list[tuple[str, str]] = []
            for job_id in self.jobs[stage]:
                for item in JobItem.query(job_key(self.account_id, job_id), consistent_read=True):
                    assert item.status in ("done", "failed", "skipped"), (stage, item.item_id, item.status)
                    if item.status == "failed":
                        assert item.error and item.error_code, (stage, item.item_id)
                        self.failed_reasons[item.error_code] += 1
                        failed.append((job_id, item.item_id))
            if not failed:
                return
            self.chaos.doomed.clear()  # the outage is over
            self.figures["items_failed_then_retried"] += len(failed)
            for job_id in {j for j, _ in failed}:
                out = self.api.call("POST", f"{self.base}/jobs/{job_id}/retry", {})
                self.figures["retry_requests"] += 1
                assert set(out["requeued"]) == {i for j, i in failed if j == job_id}, out
            self.drain()
        raise AssertionError(f"{stage}: items still failing after {self.profile.retry_rounds} retry rounds")

    def pipeline(self) -> None:
        from chalicelib.models.planner import Cluster, ContentIdea, Keyword
        from chalicelib.models.writer import Content, Task

        keyword_ids = [k.keyword_id for k in Keyword.query(self.skey, consistent_read=True)]
        self.stage("cluster_keywords", keyword_ids)
        cluster_ids = [c.cluster_id for c in Cluster.query(self.skey, consistent_read=True)]
        self.stage("generate_ideas", cluster_ids, ideas_per_cluster=self.profile.ideas_per_cluster)
        idea_ids = [i.idea_id for i in ContentIdea.query(self.skey, consistent_read=True) if i.status == "pending"]
        for start in range(0, len(idea_ids), 100):
            self.api.call("POST", f"{self.base}/ideas/bulk-status", {"ids": idea_ids[start:start + 100],
                                                                      "status": "approved"})
        self.stage("create_tasks", idea_ids)
        task_ids = [t.task_id for t in Task.query(self.skey, consistent_read=True) if t.status == "pending"]
        self.stage("generate_content", task_ids)
        content_ids = [c.content_id for c in Content.query(self.skey, consistent_read=True)]
        self.stage("generate_image_prompts", content_ids)
        self.stage("generate_images", content_ids)
        self.figures.update(clusters=len(cluster_ids), ideas=len(idea_ids), tasks=len(task_ids),
                            articles=len(content_ids))

    # --- publishing -------------------------------------------------------------------------------

    def publish(self) -> None:
        from chalicelib import timeutil
        from chalicelib.models.writer import Content

        content_ids = [c.content_id for c in Content.query(self.skey, consistent_read=True)]
        for start in range(0, len(content_ids), 100):
            self.api.call("POST", f"{self.base}/content/bulk-status", {"ids": content_ids[start:start + 100],
                                                                        "status": "approved"})
        import app as app_module
        from infra.local.clock import Clock

        clock = Clock(app_module)
        retries = 0
        for _ in range(40 + 4 * len(content_ids)):
            items = list(Content.query(self.skey, consistent_read=True))
            failed = [c for c in items if c.site_status == "failed"]
            for c in failed:
                assert c.publish_error, c.content_id
                self.failed_reasons[f"publish: {c.publish_error.split(':')[0][:40]}"] += 1
            if failed:
                retries += 1
                assert retries <= self.profile.retry_rounds * max(1, len(content_ids)), "publishing keeps failing"
                for c in failed:
                    self.api.call("POST", f"{self.base}/content/{c.content_id}/publish/retry", expect=202)
                    self.figures["publish_retries"] += 1
            waiting = [c for c in items if c.site_status in ("scheduled", "publishing")]
            unslotted = [c for c in items if c.site_status == "not_published"]
            if not waiting and not unslotted and not failed:
                break
            times = [c.scheduled_publish_at for c in waiting if c.site_status == "scheduled"]
            times += [c.publish_lease_until for c in waiting if c.site_status == "publishing" and c.publish_lease_until]
            now = timeutil.utcnow()
            if times and min(times) > now:
                step = (min(times) - now).total_seconds() + 1
                timeutil.advance(step)
                self.figures["clock_advanced_s"] += int(step)
            elif not times and unslotted:
                timeutil.advance(86400)  # the slots of the days in reach are taken: a day later
                self.figures["clock_advanced_s"] += 86400
            clock.fire("publishing")
            self.figures["ticks"] += 1
            self.drain()
        else:
            raise AssertionError("publishing did not finish")


# --- the summary ---------------------------------------------------------------------------------

SUMMARY_KEYS = ("orphan_media", "duplicate_posts", "double_charges", "stuck_items")


def summarize(run: Run) -> dict[str, int]:
    """What must be 0 after the storm, counted, never asserted here.

    stuck items: job items not done / failed / skipped after the last drain, and articles left
    ``publishing``; double charges: debits beyond one per (job, item) -- per image for images --
    and ledger keys written twice; duplicate posts: posts beyond one per article, ever created.
    """
    from chalicelib.models.jobs import JobItem, job_key
    from chalicelib.models.writer import Content

    stuck = 0
    for job_ids in run.jobs.values():
        for job_id in job_ids:
            stuck += sum(1 for i in JobItem.query(job_key(run.account_id, job_id), consistent_read=True)
                         if i.status not in ("done", "failed", "skipped"))
    stuck += sum(1 for c in Content.query(run.skey, consistent_read=True) if c.site_status == "publishing")
    ledger = _ledger(run.account_id)
    keys = Counter(e.entry_key for e in ledger)
    per_item = Counter((e.job_id, e.related_object_id) for e in ledger if e.kind == "debit")
    double = sum(n - 1 for n in keys.values() if n > 1) + sum(n - 1 for n in per_item.values() if n > 1)
    live = Counter(p["content_id"] for p in run.wp.posts.values())
    duplicates = max(sum(n - 1 for n in live.values() if n > 1), sum(n - 1 for n in run.wp.created.values() if n > 1))
    return {"orphan_media": len(run.wp.orphan_media()), "duplicate_posts": duplicates, "double_charges": double,
            "stuck_items": stuck}


def summary_line(seed: int, summary: dict[str, int]) -> str:
    return (f"seed {seed}: orphan media {summary['orphan_media']}, duplicate posts {summary['duplicate_posts']}, "
            f"double charges {summary['double_charges']}, stuck items {summary['stuck_items']}")


# --- checks -------------------------------------------------------------------------------------

def check(run: Run) -> dict[str, Any]:
    """Everything that must hold after the storm. Returns the figures of the checks."""
    from chalicelib.models.jobs import Job, JobItem, job_key
    from chalicelib.models.planner import Cluster, ContentIdea, Keyword
    from chalicelib.models.publisher import PublishCounter, SlotClaim
    from chalicelib.models.writer import Content, ContentImage, Task
    from chalicelib.services import credits

    skey, account_id = run.skey, run.account_id
    out: dict[str, Any] = {}

    # jobs: every one complete, counters equal to their items, credits equal to the ledger's debits
    ledger = _ledger(account_id)
    debits = [e for e in ledger if e.kind == "debit"]
    by_job: defaultdict[str, int] = defaultdict(int)
    for e in debits:
        by_job[e.job_id or ""] += -int(e.delta)
    items_by_status: Counter = Counter()
    skipped: Counter = Counter()  # why items were skipped, per stage
    for stage, job_ids in run.jobs.items():
        for job_id in job_ids:
            job = Job.get(skey, job_id, consistent_read=True)
            items = list(JobItem.query(job_key(account_id, job_id), consistent_read=True))
            status = Counter(i.status for i in items)
            items_by_status.update(status)
            assert job.status == "completed", (stage, job_id, job.status)
            assert (job.done, job.failed, job.skipped) == (status["done"], status["failed"], status["skipped"]), (
                stage, job_id, job.done, job.failed, job.skipped, status)
            assert status["done"] + status["skipped"] == job.total == len(items), (stage, status, job.total)
            # the charge counts the credits on the job and its item in its own transaction
            assert int(job.credits_spent) == sum(int(i.credits or 0) for i in items), (stage, job_id)
            debited = by_job.get(job_id, 0)
            assert int(job.credits_spent) == debited, f"{stage} job {job_id}: {job.credits_spent} != ledger {debited}"
            skipped.update(f"{stage}: {i.error_code}" for i in items if i.status == "skipped")
    out["items"] = dict(items_by_status)
    out["skipped"] = dict(skipped)

    # no double charge: one debit per (job, item) -- per image for images -- and none for a skipped item
    keys = Counter(e.entry_key for e in ledger)
    assert max(keys.values(), default=0) == 1
    per_item = Counter((e.job_id, e.related_object_id) for e in debits)
    assert max(per_item.values(), default=0) == 1, [k for k, n in per_item.items() if n > 1][:5]
    out["debits"] = len(debits)

    # ledger = balance change, exactly, per credit type
    after = {t: v["available"] for t, v in credits.balances(account_id).items()}
    new = [e for e in ledger if e.entry_key not in run.ledger_before]
    for credit_type, value in after.items():
        change = sum(int(e.delta) for e in new if e.credit_type == credit_type)
        assert value - run.balance_before[credit_type] == change, (credit_type, value, run.balance_before, change)
        assert value == credits.ledger_totals(ledger)[credit_type], credit_type
    out["credits_spent"] = {t: run.balance_before[t] - after[t] for t in after if run.balance_before[t] != after[t]}

    # records: nothing twice
    keywords = list(Keyword.query(skey, consistent_read=True))
    clusters = {c.cluster_id: c for c in Cluster.query(skey, consistent_read=True)}
    assert all(k.cluster_id in clusters for k in keywords if k.cluster_id)
    names = Counter((c.sector_id, c.name) for c in clusters.values())
    ideas = list(ContentIdea.query(skey, consistent_read=True))
    assert len(ideas) <= len(clusters) * run.profile.ideas_per_cluster
    tasks = list(Task.query(skey, consistent_read=True))
    assert Counter(t.idea_id for t in tasks).most_common(1)[0][1] == 1, "an idea has two tasks"
    contents = list(Content.query(skey, consistent_read=True))
    per_task = Counter(c.task_id for c in contents)
    assert len(contents) == len(tasks) and set(per_task) == {t.task_id for t in tasks}
    assert max(per_task.values()) == 1, "a task has two articles"
    images = 0
    debited: Counter = Counter()
    for e in debits:
        debited[e.related_object_id] += -int(e.delta)
    for c in contents:
        mine = list(ContentImage.by_content.query(f"{skey}#{c.content_id}"))
        positions = Counter(int(i.position) for i in mine)
        assert mine and max(positions.values()) == 1, (c.content_id, positions)
        assert all(i.status == "generated" and i.storage_key for i in mine), c.content_id
        images += len(mine)
        # the article's cost: what the ledger debited for it and its images, and one image each
        cost = c.cost or {}
        expected = debited[c.content_id] + sum(debited[i.image_id] for i in mine)
        assert (int(cost.get("credits", 0)), int(cost.get("images", 0))) == (expected, len(mine)), (
            c.content_id, cost, expected, len(mine))
    out.update(keywords=len(keywords), clusters=len(clusters), ideas=len(ideas), tasks=len(tasks),
               articles=len(contents), images=images, duplicate_cluster_names=sum(n - 1 for n in names.values()))

    # WordPress: one post per article, ever; every article published
    posts = Counter(p["content_id"] for p in run.wp.posts.values())
    assert max(posts.values(), default=0) == 1, [k for k, n in posts.items() if n > 1]
    assert max(run.wp.created.values(), default=0) == 1
    for c in contents:
        assert c.site_status == "published" and c.external_id, (c.content_id, c.site_status, c.publish_error)
        assert posts[c.content_id] == 1 and int(c.external_id) in run.wp.posts
    out["posts"] = sum(posts.values())
    # orphan media: attachments no post uses (featured or in its body); a lost upload answer must not leave one
    orphans = run.wp.orphan_media()
    out["orphan_media"] = len(orphans)
    assert not orphans, f"orphan media in WordPress: {[run.wp.media[i]['filename'] for i in orphans][:5]}"

    # limits: recount from the claims, compare with the counters and the limits; one article per slot
    claims = list(SlotClaim.query(skey, consistent_read=True))
    counters = {c.period: int(c.count) for c in PublishCounter.query(skey, consistent_read=True)}
    recount = Counter(p for c in claims for p in c.periods)
    assert counters == {p: n for p, n in recount.items() if n} | {p: 0 for p in counters if not recount[p]}
    over = {p: n for p, n in recount.items() if n > LIMITS[p[0]]}
    assert not over, f"publishing limits passed: {over}"
    assert max(Counter(c.slot[:20] for c in claims if "#" not in c.slot).values(), default=0) <= 1
    assert max(Counter(c.content_id for c in claims).values(), default=0) <= 1
    # ... and from what WordPress received: posts per site-local day of their slot
    tz = ZoneInfo(TIME_ZONE)
    per_day = Counter(c.scheduled_publish_at.astimezone(tz).date() for c in contents if c.scheduled_publish_at)
    assert max(per_day.values(), default=0) <= LIMITS["d"], per_day
    out["busiest_day"] = max(per_day.values(), default=0)
    out["days_used"] = len(per_day)

    out["dlq"] = dict(run.dlq)
    return out


def _ledger(account_id: str) -> list[Any]:
    from chalicelib.models.billing import CreditLedgerEntry

    return list(CreditLedgerEntry.query(account_id, consistent_read=True))


def run_chaos(profile: Profile, monkeypatch: Any, summary: dict[str, int]) -> tuple[Run, dict[str, Any]]:
    """One seeded storm over the whole pipeline (inside the chaos_aws fixture). Returns the run and its figures;
    fills ``summary`` (``summarize``) as soon as the storm is over, before the checks."""
    from chalice.test import Client as ChaliceClient

    import app as app_module
    from chalicelib import timeutil

    started = time.perf_counter()
    chaos = Chaos(profile)
    wp = install(monkeypatch, chaos)
    loop = ChaosLoop(app_module, chaos)
    with ChaliceClient(app_module.app) as http:
        run = Run(profile, chaos, Client(http.http), loop, wp)
        run.setup()
        chaos.enabled = True
        try:
            run.pipeline()
            run.publish()
        finally:
            chaos.enabled = False
            summary.update(summarize(run))  # reported even when a stage or a check fails
        checked = check(run)
    figures = {
        "seed": profile.seed, "seconds": round(time.perf_counter() - started, 1), **checked, **summary,
        "job_items": run.figures["job_items"], "deliveries": chaos.counts["deliveries"],
        "duplicates_sent": chaos.counts["duplicates_sent"], "ai_calls": chaos.counts["ai_calls"],
        "ai_failed": {k[10:]: v for k, v in chaos.counts.items() if k.startswith("ai_failed_")},
        "ai_outage_calls": chaos.counts["ai_outage"],
        "wp_calls": chaos.counts["wp_calls"],
        "wp_failed": {k[10:]: v for k, v in chaos.counts.items() if k.startswith("wp_failed_")},
        "wp_lost_answers": chaos.counts["wp_lost_answers"], "kills": sum(chaos.kills.values()),
        "kill_points": dict(chaos.kills.most_common()), "items_failed_then_retried":
            run.figures["items_failed_then_retried"], "publish_retries": run.figures["publish_retries"],
        "failed_reasons": dict(run.failed_reasons.most_common()), "ticks": run.figures["ticks"],
        "product_clock_advanced_h": round((chaos.counts["clock_advanced_s"] + run.figures["clock_advanced_s"])
                                          / 3600, 1),
        "api_calls": run.api.calls, "batches": loop.stats.batches,
        "wp_by_method": {k[3:]: v for k, v in chaos.counts.items()
                         if k.startswith(("wp_call_", "wp_fail_", "wp_lost_"))},
    }
    timeutil.reset()
    return run, figures


def describe(figures: dict[str, Any]) -> list[str]:
    f = figures
    return [
        f"seed {f['seed']}: {f['keywords']} keywords -> {f['clusters']} clusters -> {f['ideas']} ideas -> "
        f"{f['tasks']} tasks -> {f['articles']} articles, {f['images']} images -> {f['posts']} WordPress posts "
        f"in {f['seconds']}s",
        f"  faults: {f['deliveries']} deliveries ({f['duplicates_sent']} duplicates sent), "
        f"AI {sum(f['ai_failed'].values())}/{f['ai_calls']} calls failed {f['ai_failed']} "
        f"(+{f['ai_outage_calls']} in outages), "
        f"WordPress {sum(f['wp_failed'].values())}/{f['wp_calls']} failed {f['wp_failed']} "
        f"({f['wp_lost_answers']} after the fact), {f['kills']} workers killed",
        f"  kills at: {f['kill_points']}",
        f"  recovery: {f['items_failed_then_retried']} job items failed then retried, {f['publish_retries']} "
        f"publish retries, DLQ {f['dlq'] or 0}, reasons {f['failed_reasons']}",
        f"  invariants: 0 duplicate articles, {f['debits']} debits, ledger = balance change {f['credits_spent']}, "
        f"job credits = ledger, article cost = ledger, busiest day {f['busiest_day']}/{LIMITS['d']} over "
        f"{f['days_used']} days, items {f['items']}, skipped {f['skipped']}",
        summary_line(f["seed"], {k: f[k] for k in SUMMARY_KEYS}),
    ]

