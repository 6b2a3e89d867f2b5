"""Record claims on both backends: one live job item per record; stale claims are taken over."""

from __future__ import annotations

import threading

from chalicelib.models.jobs import JobItem, RecordClaim, job_key
from chalicelib.services.pipeline import claims


def _item(job_id: str, item_id: str, status: str) -> None:
    JobItem(job_key("acc", job_id), item_id, account_id="acc", site_id="site", job_id=job_id, stage="s",
            status=status).save()


def test_a_claim_is_exclusive_renewable_and_released_only_by_its_holder(ddb):
    first = claims.claim("acc", "site", "task", {"t1": "t1", "t2": "t2"}, "job-a")
    _item("job-a", "t1", "queued")
    _item("job-a", "t2", "queued")
    assert sorted(first.held) == ["t1", "t2"] and not first.taken
    second = claims.claim("acc", "site", "task", {"t2": "t2", "t3": "t3"}, "job-b")
    assert second.held == ["t3"] and second.taken == {"t2": claims.Holder("job-a", "t2")}
    assert second.holders() == {"job-a": 1}
    assert claims.claim("acc", "site", "task", {"t1": "t1"}, "job-a").held == ["t1"]  # a renewal
    assert claims.release("acc", "site", "task", ["t2", "t3"], "job-a") == 1  # t3 is job-b's: it stays
    assert {c.record_key: c.job_id for c in RecordClaim.query("acc#site")} == {"task#t1": "job-a", "task#t3": "job-b"}


def test_a_claim_whose_job_item_is_final_or_missing_or_expired_is_free(ddb):
    from chalicelib import timeutil

    claims.claim("acc", "site", "idea", {"done": "done", "never": "never", "live": "live", "old": "old"}, "job-a")
    _item("job-a", "done", "done")  # finished, its release lost in a crash
    _item("job-a", "live", "running")
    _item("job-a", "old", "running")
    # "never": the job was never created (a crash between the claims and the items)
    taken = claims.claim("acc", "site", "idea", {"done": "x", "never": "x", "live": "x"}, "job-b")
    assert sorted(taken.held) == ["done", "never"] and list(taken.taken) == ["live"]
    timeutil.advance(claims.CLAIM_TTL.total_seconds() + 60)
    try:
        assert claims.claim("acc", "site", "idea", {"old": "x"}, "job-c").held == ["old"]
    finally:
        timeutil.reset()


def test_racing_claims_over_the_same_records_give_each_record_to_one_job(ddb):
    records = {f"k{n}": "sector" for n in range(30)}
    results: dict[str, claims.Claimed] = {}

    def run(job_id: str) -> None:  # each job's item is live: nobody may take over another's claim
        _item(job_id, "sector", "queued")
        results[job_id] = claims.claim("acc", "site", "keyword", records, job_id)

    threads = [threading.Thread(target=run, args=(f"job-{n}",)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    held = [r for c in results.values() for r in c.held]
    assert sorted(held) == sorted(records)  # each record once, none lost
    owners = {c.record_key.split("#", 1)[1]: c.job_id for c in RecordClaim.query("acc#site", consistent_read=True)}
    assert all(owners[r] == job_id for job_id, c in results.items() for r in c.held)
