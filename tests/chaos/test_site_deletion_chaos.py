"""Chaos: a site deleted while its pipeline and its publishing are running, in the same storm as
tests/chaos/test_chaos.py (every message delivered twice, ~20% of AI and WordPress calls failing,
workers killed at random points, the deletion's own worker included).

The generation is half way (a content job part done, items in flight, some of them held by killed
workers), articles are slotted and some published, publish messages wait in the queue; then
``DELETE /v1/sites/{id}``. Afterwards every queue is drained, the ticks fire, the clock moves on
for days, and then:

- no record of the site is left in any table (a raw Scan of every table on DynamoDB Local, the
  credit ledger and the deletion's own record excepted) and no file under its prefix in the bucket;
- WordPress received no post, no update and no upload after the delete was accepted;
- the ledger still balances (the balance is the sum of its entries; the site's debits are kept);
- no deletion message ended in the dead-letter queue.

``make test`` runs a small site (fast profile); ``make chaos`` a bigger one per seed (CHAOS_PROFILE=full).
"""

from __future__ import annotations

import copy
import functools
import os
import time
from collections import Counter
from typing import Any

import pytest

from tests.chaos.harness import Chaos, ChaosLoop, Client, Profile, Run, _ledger, install

pytestmark = [pytest.mark.chaos, pytest.mark.ddb_local]

FULL = os.environ.get("CHAOS_PROFILE", "fast") == "full"
SEEDS = [int(s) for s in os.environ.get("CHAOS_SEEDS", "1,2,3" if FULL else "1").split(",")]
KEYWORDS = int(os.environ.get("CHAOS_DELETE_KEYWORDS", "60" if FULL else "20"))
WP_WRITES = ("create_post", "update_post", "upload_media")

# The deletion's worker dies too: before and after it deletes a page, before and after it saves its place.
DELETION_KILL_POINTS = {"_delete_items": (True, True), "_delete_children": (True, True),
                        "_save_progress": (True, True), "_release": (True, False)}


def install_deletion_faults(monkeypatch: Any, chaos: Chaos) -> None:
    from chalicelib.events import deletion as deletion_events
    from chalicelib.services import deletion

    for name, (before, after) in DELETION_KILL_POINTS.items():
        original = getattr(deletion, name)

        @functools.wraps(original)
        def killable(*args: Any, _original: Any = original, _point: str = f"deletion.{name}", _before: bool = before,
                     _after: bool = after, **kwargs: Any) -> Any:
            if _before:
                chaos.checkpoint(f"{_point}:before")
            result = _original(*args, **kwargs)
            if _after:
                chaos.checkpoint(f"{_point}:after")
            return result

        monkeypatch.setattr(deletion, name, killable)
    monkeypatch.setattr(deletion, "PAGE", 5)  # small pages ...
    monkeypatch.setattr(deletion_events, "BUDGET_SHARE", 0.0)  # ... a turn each: many turns to kill and duplicate


def some_batches(loop: ChaosLoop, batches: int) -> int:
    """Deliver up to ``batches`` batches, round robin: work in flight, not finished."""
    handled = 0
    while handled < batches:
        progressed = False
        for binding in loop.bindings:
            messages = loop.receive(binding)
            if messages:
                loop.process(binding, messages)
                handled += 1
                progressed = True
                if handled >= batches:
                    break
        if not progressed:
            break
    return handled


def under_way(run: Run) -> dict[str, int]:
    """The generation half done and publishing started; returns what is in flight."""
    import app as app_module
    from chalicelib import timeutil
    from chalicelib.models.planner import Cluster, ContentIdea, Keyword
    from chalicelib.models.writer import Content, Task
    from infra.local.clock import Clock

    keyword_ids = [k.keyword_id for k in Keyword.query(run.skey, consistent_read=True)]
    run.stage("cluster_keywords", keyword_ids)
    cluster_ids = [c.cluster_id for c in Cluster.query(run.skey, consistent_read=True)]
    run.stage("generate_ideas", cluster_ids, ideas_per_cluster=run.profile.ideas_per_cluster)
    idea_ids = [i.idea_id for i in ContentIdea.query(run.skey, consistent_read=True) if i.status == "pending"]
    for start in range(0, len(idea_ids), 100):
        run.api.call("POST", f"{run.base}/ideas/bulk-status", {"ids": idea_ids[start:start + 100],
                                                               "status": "approved"})
    run.stage("create_tasks", idea_ids)
    task_ids = sorted(t.task_id for t in Task.query(run.skey, consistent_read=True) if t.status == "pending")
    first, rest = task_ids[:len(task_ids) // 2], task_ids[len(task_ids) // 2:]
    run.stage("generate_content", first)
    written = [c.content_id for c in Content.query(run.skey, consistent_read=True)]
    run.stage("generate_image_prompts", written)
    # in flight at the delete: the other half of the articles, and the images of the first
    run.api.call("POST", f"{run.base}/jobs", {"stage": "generate_content", "item_ids": rest}, 202)
    run.api.call("POST", f"{run.base}/jobs", {"stage": "generate_images", "item_ids": written}, 202)
    some_batches(run.loop, max(2, len(rest) + len(written)))  # about half: each message is delivered twice
    written = [c.content_id for c in Content.query(run.skey, consistent_read=True)]
    run.api.call("POST", f"{run.base}/content/bulk-status", {"ids": written, "status": "approved"})  # slotted
    clock = Clock(app_module)
    for _ in range(3):  # the first slots come: some articles go out, others are queued to
        slots = [c.scheduled_publish_at for c in Content.query(run.skey, consistent_read=True)
                 if c.site_status == "scheduled" and c.scheduled_publish_at]
        if slots:
            timeutil.advance(max(0.0, (min(slots) - timeutil.utcnow()).total_seconds()) + 1)
        clock.fire("publishing")
        some_batches(run.loop, 3)
    states = Counter(c.site_status for c in Content.query(run.skey, consistent_read=True))
    return {f"content_{k}": v for k, v in states.items()} | {"pending_messages": sum(run.loop.pending().values())}


def run_deletion_chaos(profile: Profile, monkeypatch: Any, endpoint: str) -> dict[str, Any]:
    from chalice.test import Client as ChaliceClient

    import app as app_module
    from chalicelib import timeutil
    from chalicelib.registry import queue
    from chalicelib.services import credits, media
    from infra.local.clock import Clock
    from tests.site_leftovers import files, leftovers, mentions

    started = time.perf_counter()
    chaos = Chaos(profile)
    wp = install(monkeypatch, chaos)
    install_deletion_faults(monkeypatch, chaos)
    loop = ChaosLoop(app_module, chaos)
    with ChaliceClient(app_module.app) as http:
        run = Run(profile, chaos, Client(http.http), loop, wp)
        run.setup()
        chaos.enabled = True
        in_flight = under_way(run)
        assert in_flight.get("content_published", 0) + in_flight.get("content_publishing", 0) > 0 or \
            in_flight.get("content_scheduled", 0) > 0, in_flight
        # --- the delete -----------------------------------------------------------------------
        wp_before = copy.deepcopy(wp.posts), {m: wp.calls[m] for m in WP_WRITES}
        media_before = copy.deepcopy(wp.media)
        accepted = run.api.call("DELETE", run.base, expect=202)
        assert accepted["status"] == "stopping"
        # --- the world goes on: every queue drained, the ticks fire, days go by ---------------------
        clock = Clock(app_module)
        for _ in range(4):
            run.drain()
            clock.fire("publishing")
            clock.fire("automation")
            timeutil.advance(86400)
        chaos.enabled = False
        run.drain()
        done = run.api.call("GET", f"{run.base}/deletion")
        assert run.api.call("GET", run.base, expect=404)["error"]["code"] == "not_found"

    figures: dict[str, Any] = {"seed": profile.seed, "keywords": profile.keywords, **in_flight}
    assert done["status"] == "completed", done
    figures["deleted"] = done["deleted"]
    left = leftovers(run.site_id, endpoint=endpoint)
    assert left == {}, f"records of the deleted site are left: {left}"
    assert files(media.site_prefix(run.account_id, run.site_id)) == []
    kept = mentions(run.site_id, endpoint=endpoint)
    # the ledger, the deletion's record and the account's news of the site (notifications: TTL)
    news = {"account_events", "notifications", "notification_groups", "webhook_deliveries", "audit"}
    assert {"credit_ledger", "deletions"} <= set(kept) <= {"credit_ledger", "deletions", *news}, kept
    # WordPress: nothing after the delete was accepted
    assert wp.posts == wp_before[0], "a post was created or changed after the delete was accepted"
    assert {m: wp.calls[m] for m in WP_WRITES} == wp_before[1]
    assert wp.media == media_before
    figures["posts_before_delete"] = len(wp_before[0])
    # money: the balance is the sum of the ledger, the site's debits included
    ledger = _ledger(run.account_id)
    totals = credits.ledger_totals(ledger)
    for credit_type, value in credits.balances(run.account_id).items():
        assert value["available"] == totals[credit_type], credit_type
    site_debits = [e for e in ledger if e.kind == "debit" and e.site_id == run.site_id]
    assert site_debits, "the site's debits stay in the ledger"
    figures["site_debits_kept"] = len(site_debits)
    # the deletion's messages all ended well
    dead = _drain_queue(loop.sqs, queue("deletions").dlq_name)
    assert dead == [], [m["Body"] for m in dead]
    assert not run.dlq.get("deletions"), "no deletion turn died on every delivery"
    figures.update(kills=sum(chaos.kills.values()),
                   deletion_kills=sum(n for k, n in chaos.kills.items() if k.startswith("deletion.")),
                   duplicates_sent=chaos.counts["duplicates_sent"], deliveries=chaos.counts["deliveries"],
                   seconds=round(time.perf_counter() - started, 1))
    timeutil.reset()
    return figures


def _drain_queue(sqs: Any, name: str) -> list[dict[str, Any]]:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    found: list[dict[str, Any]] = []
    while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", []):
        found += got
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                        for i, m in enumerate(got)])
    return found


@pytest.mark.parametrize("seed", SEEDS)
def test_a_site_deleted_in_the_middle_of_the_storm_leaves_nothing(chaos_aws, monkeypatch, report, seed):
    figures = run_deletion_chaos(Profile(seed=seed, keywords=KEYWORDS, outage_stages=()), monkeypatch, chaos_aws)
    report(f"site deleted mid-storm ({'full' if FULL else 'fast'} profile), seed {seed}", [
        f"in flight at the delete: {({k: v for k, v in figures.items() if k.startswith(('content_', 'pending'))})}",
        f"deleted: {figures['deleted']}",
        f"{figures['deliveries']} deliveries ({figures['duplicates_sent']} duplicates sent), {figures['kills']} "
        f"workers killed ({figures['deletion_kills']} deletion workers); 0 records left, 0 files left, 0 WordPress "
        f"writes after the delete ({figures['posts_before_delete']} posts before it), ledger balanced with "
        f"{figures['site_debits_kept']} debits of the site kept; {figures['seconds']}s"])
    assert figures["deletion_kills"] > 0 or not FULL  # the full storm kills the deletion's worker too
