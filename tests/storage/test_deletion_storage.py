"""The deletion's walks on moto and on DynamoDB Local: paged Queries with cursors (tables and
indexes), batch deletes, children before parents, a turn per page. No Scan (the guard of
tests/conftest.py fails any), so what is checked afterwards is read through the same rules."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from chalicelib.ids import new_id
from chalicelib.messages import DeletionTurn
from chalicelib.models.automation import AutomationRun
from chalicelib.models.deletions import Deletion, sector_target, site_target
from chalicelib.models.jobs import Job, JobItem, job_key
from chalicelib.models.publisher import PublishCounter, PublishingRecord, SlotClaim, WebhookNonce, WebhookRoute
from chalicelib.services import deletion, identity, media, planner, sites, writer
from chalicelib.services.automation import config as automation_config
from chalicelib.services.publishing import reservations, scheduling, worker
from chalicelib.timeutil import utcnow


@pytest.fixture
def quiet(monkeypatch):
    """No SQS or S3 in this tier: the turns are run here, the files step finds none."""
    monkeypatch.setattr(deletion, "_send", lambda *a, **k: None)
    monkeypatch.setattr(media, "delete_prefix", lambda prefix: 0)
    monkeypatch.setattr(worker, "enqueue_publish", lambda *a: None)
    monkeypatch.setattr(deletion, "PAGE", 3)  # several pages per rule: the cursors are used


def filled_site(ddb: str) -> tuple[str, str, list[str]]:
    account, _, _ = identity.register(account_name="D", email=f"d-{ddb}-{random.random()}@example.com",
                                      password="x" * 12)
    a = account.account_id
    from chalicelib.models.accounts import Account

    Account(a).update(actions=[Account.plan_id.set("growth")])
    site = sites.create_site(a, name="news", time_zone="UTC")
    s = site.site_id
    sectors = [sites.create_sector(a, s, name=n).sector_id for n in ("one", "two")]
    scheduling.update_settings(a, s, {"publish_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                      "daily_publish_limit": 10, "weekly_publish_limit": 20,
                                      "monthly_publish_limit": 50})
    for n, sector_id in enumerate(sectors):
        for k in range(7 if n == 0 else 2):
            planner.create_keyword(a, s, {"keyword": f"keyword {n} {k}", "sector_id": sector_id})
        cluster = planner.create_cluster(a, s, sector_id=sector_id, name=f"cluster {n}")
        for k in range(4 if n == 0 else 1):
            c = writer.create_content(a, s, {"sector_id": sector_id, "title": f"article {n} {k}",
                                             "body_html": "<p>body</p>"})
            writer.create_image(a, s, {"content_id": c.content_id, "alt_text": "x"})
            writer.set_content_status(c, "approved")
            reservations.schedule_at(c, utcnow() + timedelta(days=1 + k, hours=n))
            PublishingRecord(f"{a}#{c.content_id}", new_id(), account_id=a, site_id=s, content_id=c.content_id,
                             status="failed").save()
        job = Job(f"{a}#{s}", new_id(), account_id=a, site_id=s, stage="generate_ideas", total=1)
        job.save()
        JobItem(job_key(a, job.job_id), cluster.cluster_id, account_id=a, site_id=s, job_id=job.job_id,
                stage="generate_ideas").save()
    automation_config.get_config(a, s)
    AutomationRun(f"{a}#{s}", new_id(), account_id=a, site_id=s, status="completed").save()
    WebhookRoute(s, account_id=a, secret_enc="x").save()
    WebhookNonce(f"wordpress#{s}", "nonce-1", expires_epoch=2_000_000_000).save()
    return a, s, sectors


def run_turns(account_id: str, target: str) -> int:
    """Turns of zero budget (a page each) until done; returns how many."""
    turns = 0
    while True:
        turns += 1
        after = int(Deletion.get(account_id, target, consistent_read=True).invocations)
        outcome = deletion.process(DeletionTurn(account_id=account_id, target=target, after=after), budget_seconds=0)
        assert outcome in ("continued", "completed"), outcome
        if outcome == "completed":
            return turns
        assert turns < 500


def remaining(kind: str, account_id: str, site_id: str, sector_id: str | None = None) -> dict[str, int]:
    """What each rule of the plan still finds (the deletion's own reads: Queries and GetItems)."""
    target = deletion._Target(account_id, site_id, sector_id)
    found = {}
    for step in deletion.plan(kind):
        if step.model is None or isinstance(step.rule, deletion.rules.Itself):
            continue
        rule = step.rule
        if isinstance(rule, deletion.rules.ChildrenOf | deletion.rules.ChildOf):
            continue  # their parents are gone: checked by the parents' tables below
        items, _ = deletion._walk(step.model, rule, target, None, 100)
        if items:
            found[step.name] = len(items)
    return found


def test_a_site_deletion_pages_through_every_rule(ddb, quiet):
    a, s, _sectors = filled_site(ddb)
    before = remaining("site", a, s)
    assert before["keywords"] == 9 and before["content"] == 5 and before["publish_slots"] == 5, before
    deletion.request_site_deletion(a, s)
    turns = run_turns(a, site_target(s))
    assert turns > 20  # a page per turn: the cursors carried the walk across turns
    assert remaining("site", a, s) == {}
    assert list(JobItem.query(job_key(a, "x"))) == []
    record = Deletion.get(a, site_target(s))
    assert record.status == "completed" and record.counts["keyword_names"] == 9
    assert record.counts["job_items"] == 2 and record.counts["publishing_records"] == 5
    assert record.counts["content_bodies"] == 5 and record.counts["sites"] == 1
    with pytest.raises(Exception, match="Site"):
        sites.get_site(a, s, include_deleting=True)


def test_a_sector_deletion_releases_its_slots_and_keeps_the_other_sector(ddb, quiet):
    a, s, (gone, stays) = filled_site(ddb)
    skey = f"{a}#{s}"
    counted_before = sum(int(c.count) for c in PublishCounter.query(skey, consistent_read=True))
    with pytest.raises(Exception, match="records"):
        deletion.request_sector_deletion(a, s, gone, cascade=False)
    deletion.request_sector_deletion(a, s, gone, cascade=True)
    run_turns(a, sector_target(s, gone))
    assert remaining("sector", a, s, gone) == {}
    assert remaining("sector", a, s, stays)["keywords"] == 2
    claims = list(SlotClaim.query(skey, consistent_read=True))
    assert len(claims) == 1  # the other sector's article keeps its slot
    # each released slot counted in a day, a week and a month
    assert sum(int(c.count) for c in PublishCounter.query(skey, consistent_read=True)) == counted_before - 3 * 4
    record = Deletion.get(a, sector_target(s, gone))
    assert record.counts["slots"] == 4 and record.counts["keyword_names"] == 7 and record.counts["sectors"] == 1
