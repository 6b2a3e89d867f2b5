"""What the chaos suite found, each reduced to a deterministic reproduction, now fixed.

Each test states the invariant the storm broke, with the one fault that broke it set by
hand (no random faults). They were marked as expected failures (strict) until the fix; they stay as the
regular tests of those fixes. Moto in-process, a few seconds each.
"""

from __future__ import annotations

import pytest

import app as app_module
from chalicelib.models.billing import CreditLedgerEntry
from chalicelib.models.jobs import Job, JobItem, job_key
from chalicelib.services import credits
from tests.chaos.harness import Chaos, ChaosLoop, KillWorker, Profile

pytestmark = pytest.mark.chaos


@pytest.fixture
def site(api, register):
    owner = register()
    for credit_type in ("idea", "content", "image"):
        credits.grant(owner.account_id, credit_type=credit_type, amount=500, key=f"t-{credit_type}", bucket="pack",
                      operation="pack_purchase")
    site_id = api.post("/v1/sites", {"name": "Known issues"}, token=owner.token).json["site_id"]
    sector = api.post(f"/v1/sites/{site_id}/sectors", {"name": "Brewing"}, token=owner.token).json["sector_id"]
    return owner, f"/v1/sites/{site_id}", sector


def _loop() -> ChaosLoop:
    return ChaosLoop(app_module, Chaos(Profile(kill_rate=0.0)))  # no random faults: only the ones set below


def test_a_worker_killed_between_images_leaves_the_job_counting_every_credit(api, site, monkeypatch):
    """Invariant: a job's credits_spent equals what the ledger debited for it, whatever crashed."""
    from chalicelib.services.pipeline.stages import shared

    owner, base, sector = site
    content = api.post(f"{base}/content", {"sector_id": sector, "title": "Grinders", "body_html": "<p>x</p>"},
                       token=owner.token).json
    for n in range(3):
        r = api.post(f"{base}/images", {"content_id": content["content_id"], "prompt": f"a grinder {n}",
                                        "position": n, "is_featured": n == 0}, token=owner.token)
        assert r.status == 201, r.json
    charged = {"n": 0}
    real_charge = shared.charge

    def charge_then_die_once(*args, **kwargs):
        result = real_charge(*args, **kwargs)
        charged["n"] += 1
        if charged["n"] == 2:
            raise KillWorker("after the second image was charged")
        return result

    monkeypatch.setattr(shared, "charge", charge_then_die_once)
    job = api.post(f"{base}/jobs", {"stage": "generate_images", "item_ids": [content["content_id"]]},
                   token=owner.token).json
    _loop().drain(max_seconds=60)
    job = Job.get(f"{owner.account_id}#{job['site_id']}", job["job_id"], consistent_read=True)
    debits = [e for e in CreditLedgerEntry.query(owner.account_id) if e.job_id == job.job_id]
    assert job.status == "completed" and len(debits) == 3  # one charge per image, none twice
    debited = -sum(int(e.delta) for e in debits)
    assert int(job.credits_spent) == debited  # today: only what the redelivery rendered


def test_a_worker_killed_on_the_last_delivery_does_not_leave_the_item_running(api, site, monkeypatch):
    """Invariant: every item ends done or failed with a reason; a dead letter is accounted for.

    Lambda times out (or runs out of memory) on every delivery of one message: SQS moves it to
    the DLQ after max_receive_count, and the item it carried must not stay 'running' forever
    (its job would never complete). Today nothing reads the stage DLQs.
    """
    from chalicelib.services.pipeline.stages import shared

    owner, base, sector = site
    api.post(f"{base}/keywords/import", {"sector_id": sector, "keywords": [
        {"keyword": k} for k in ("espresso grind size", "espresso grinder burrs", "espresso grind fineness")]},
        token=owner.token)

    def die(*args, **kwargs):
        raise KillWorker("the function timed out")

    monkeypatch.setattr(shared, "save_plan", die)
    created = api.post(f"{base}/jobs", {"stage": "cluster_keywords"}, token=owner.token).json
    _loop().drain(max_seconds=60)
    item = JobItem.get(job_key(owner.account_id, created["job_id"]), sector, consistent_read=True)
    assert item.status == "failed" and item.error_code == "worker_died" and item.error, (item.status, item.attempts)
    job = api.get(f"{base}/jobs/{created['job_id']}", token=owner.token).json
    assert job["status"] == "failed" and job["failed"] == 1  # its job completed
    assert job["failed_items"][0]["error_code"] == "worker_died"
    # ... and the retry route brings it back once the worker survives
    monkeypatch.undo()
    assert api.post(f"{base}/jobs/{created['job_id']}/retry", {}, token=owner.token).json["requeued"] == [sector]
    _loop().drain(max_seconds=60)
    item = JobItem.get(job_key(owner.account_id, created["job_id"]), sector, consistent_read=True)
    assert item.status == "done", (item.status, item.error)


def test_a_worker_killed_after_an_image_is_marked_generated_keeps_the_articles_cost(api, site, monkeypatch):
    """Invariant: an article's cost shows every image and every credit the ledger debited for it."""
    from chalicelib.models.writer import Content
    from chalicelib.services import state_machines

    owner, base, sector = site
    content = api.post(f"{base}/content", {"sector_id": sector, "title": "Kettles", "body_html": "<p>x</p>"},
                       token=owner.token).json
    for n in range(2):
        api.post(f"{base}/images", {"content_id": content["content_id"], "prompt": f"a kettle {n}", "position": n,
                                    "is_featured": n == 0}, token=owner.token)
    real = state_machines.transition
    calls = {"n": 0}

    def transition_then_die_once(*args, **kwargs):
        result = real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 1:
            raise KillWorker("right after the first image was marked generated")
        return result

    monkeypatch.setattr(state_machines, "transition", transition_then_die_once)
    api.post(f"{base}/jobs", {"stage": "generate_images", "item_ids": [content["content_id"]]}, token=owner.token)
    _loop().drain(max_seconds=60)
    item = Content.get(f"{owner.account_id}#{content['site_id']}", content["content_id"], consistent_read=True)
    debited = -sum(int(e.delta) for e in CreditLedgerEntry.query(owner.account_id) if e.kind == "debit")
    assert int(item.cost["images"]) == 2 and int(item.cost["credits"]) == debited, item.cost


def test_two_cluster_jobs_started_on_the_same_keywords_cluster_them_once(api, site, monkeypatch):
    """Invariant: a keyword is clustered (and paid for) once, however many jobs were started for it.

    A double click on "cluster" starts two jobs over the same pending keywords: the second is
    refused (409 items_claimed, naming the first). And should it exist all the same -- the
    first job's claims lost, as a claim that expired would be -- the workers of both jobs,
    planning at the same moment, still cluster and charge once: each checks it holds its
    keywords before it plans.
    """
    import threading

    from chalicelib.messages import StageItem
    from chalicelib.models.jobs import RecordClaim
    from chalicelib.models.planner import Cluster
    from chalicelib.services.pipeline import items
    from chalicelib.services.pipeline.stages import shared

    owner, base, sector = site
    api.post(f"{base}/keywords/import", {"sector_id": sector, "keywords": [
        {"keyword": k} for k in ("espresso grind size", "espresso grinder burrs", "espresso grind fineness",
                                 "pour over ratio", "pour over coffee ratio", "pour over ratio grams")]},
        token=owner.token)
    first = api.post(f"{base}/jobs", {"stage": "cluster_keywords"}, token=owner.token)
    second = api.post(f"{base}/jobs", {"stage": "cluster_keywords"}, token=owner.token)
    assert first.status == 202 and second.status == 409, second.json
    assert second.json["error"]["code"] == "items_claimed"
    assert second.json["error"]["details"]["held_by"] == [{"job_id": first.json["job_id"]}]

    site_id = first.json["site_id"]
    for claim in RecordClaim.query(f"{owner.account_id}#{site_id}"):
        claim.delete()  # the first job's claims are gone (expired): a second job can be made
    second = api.post(f"{base}/jobs", {"stage": "cluster_keywords"}, token=owner.token)
    assert second.status == 202, second.json
    both_claimed = threading.Barrier(2)
    real_claim = items._claim

    def claim_then_wait(*args, **kwargs):  # both workers hold their job item before either checks its keywords
        real_claim(*args, **kwargs)
        both_claimed.wait(timeout=30)

    monkeypatch.setattr(items, "_claim", claim_then_wait)
    planned = []
    real_save = shared.save_plan
    monkeypatch.setattr(shared, "save_plan", lambda ctx, plan: (planned.append(ctx.job.job_id), real_save(ctx, plan)))
    outcomes = {}

    def run(job_id: str) -> None:
        outcomes[job_id] = items.process_message(StageItem(
            stage="cluster_keywords", account_id=owner.account_id, site_id=site_id, job_id=job_id,
            item_id=sector), receive_count=1, max_receives=5)

    threads = [threading.Thread(target=run, args=(job.json["job_id"],)) for job in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes.values()) == ["done", "skipped"], outcomes
    assert len(planned) == 1
    loser = next(j for j, o in outcomes.items() if o == "skipped")
    winner = next(j for j, o in outcomes.items() if o == "done")
    item = JobItem.get(job_key(owner.account_id, loser), sector, consistent_read=True)
    assert item.error_code == "items_claimed" and winner in item.error, item.error
    clusters = list(Cluster.query(f"{owner.account_id}#{site_id}", consistent_read=True))
    debits = [e for e in CreditLedgerEntry.query(owner.account_id) if e.kind == "debit"]
    assert clusters and all(int(c.keyword_count) > 0 for c in clusters), [(c.name, c.keyword_count) for c in clusters]
    assert len(debits) == 1, [e.entry_key for e in debits]
    assert not list(RecordClaim.query(f"{owner.account_id}#{site_id}"))  # released when the items finished


def test_a_worker_killed_after_its_last_image_leaves_the_item_done_not_skipped(api, site, monkeypatch):
    """Invariant: an item whose work was done (and paid) ends done, even if the delivery that did it died."""
    from chalicelib.services import state_machines

    owner, base, sector = site
    content = api.post(f"{base}/content", {"sector_id": sector, "title": "Scales", "body_html": "<p>x</p>"},
                       token=owner.token).json
    for n in range(2):
        api.post(f"{base}/images", {"content_id": content["content_id"], "prompt": f"a scale {n}", "position": n,
                                    "is_featured": n == 0}, token=owner.token)
    real = state_machines.transition
    calls = {"n": 0}

    def transition_then_die_after_the_last(*args, **kwargs):
        result = real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 2:
            raise KillWorker("right after the last image was marked generated")
        return result

    monkeypatch.setattr(state_machines, "transition", transition_then_die_after_the_last)
    job = api.post(f"{base}/jobs", {"stage": "generate_images", "item_ids": [content["content_id"]]},
                   token=owner.token).json
    _loop().drain(max_seconds=60)
    item = JobItem.get(job_key(owner.account_id, job["job_id"]), content["content_id"], consistent_read=True)
    debited = -sum(int(e.delta) for e in CreditLedgerEntry.query(owner.account_id) if e.job_id == job["job_id"])
    assert (item.status, int(item.credits), item.result["images_generated"]) == ("done", debited, 2), item.status
