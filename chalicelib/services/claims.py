"""Record claims: one job at a time works on (and pays for) a given record.

A job claims the records of its items when it is created; its worker claims them again (a
renewal, or a take-over of a claim nobody holds any more) before each delivery plans or
charges, and releases them when the item finishes. A claim counts as free when it has
expired, or when the job item holding it is final or does not exist, or its job was cancelled (a job that was never
created, a release lost in a crash): only a live job item keeps a record.

Writes are conditional puts in transactions of up to 100 (``services.txn``): a cancelled
transaction drops the claims whose condition failed and commits the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from chalicelib.models.accounts import site_key
from chalicelib.models.jobs import Job, JobItem, RecordClaim, claim_key, job_key
from chalicelib.services import txn
from chalicelib.timeutil import utcnow

# Long enough for a job's items to wait their turn in a busy queue; a worker renews it.
CLAIM_TTL = timedelta(days=1)
FINAL = ("done", "failed", "skipped")
LIVE_JOBS = ("running", "paused")


@dataclass(frozen=True)
class Holder:
    job_id: str
    item_id: str


@dataclass
class Claimed:
    held: list[str] = field(default_factory=list)  # record ids now held by the claiming job
    taken: dict[str, Holder] = field(default_factory=dict)  # record id -> the live job item holding it

    def holders(self) -> dict[str, int]:
        """Holding job id -> how many of the records it holds."""
        out: dict[str, int] = {}
        for holder in self.taken.values():
            out[holder.job_id] = out.get(holder.job_id, 0) + 1
        return out


def _epoch(delta: timedelta = timedelta(0)) -> int:
    return int((utcnow() + delta).timestamp())


def claim(account_id: str, site_id: str, kind: str, records: dict[str, str], job_id: str) -> Claimed:
    """Claim ``records`` (record id -> the job item that will work on it) for ``job_id``.

    Already held by this job: renewed. Held by a live item of another job: reported in
    ``taken``. Held by a final or missing item, or expired: taken over.
    """
    skey = site_key(account_id, site_id)
    expires = _epoch(CLAIM_TTL)
    now = _epoch()
    connection = txn.shared_connection(RecordClaim)

    def put(record_id: str, condition: object) -> txn.Unit:
        item = RecordClaim(skey, claim_key(kind, record_id), job_id=job_id, item_id=records[record_id],
                           expires_epoch=expires)
        return txn.Unit(record_id, [txn.Op("put", item, condition)])

    free = (RecordClaim.record_key.does_not_exist() | (RecordClaim.expires_epoch < now)
            | (RecordClaim.job_id == job_id))
    outcome = txn.run_units([put(r, free) for r in records], connection)
    result = Claimed(held=list(outcome.ok))
    if not outcome.failed:
        return result
    holders = _holders(skey, kind, [str(r) for r in outcome.failed])
    stale = _stale(account_id, skey, holders)
    steals = [put(r, (RecordClaim.job_id == h.job_id) & (RecordClaim.item_id == h.item_id))
              for r, h in holders.items() if r in stale]
    stolen = set(txn.run_units(steals, connection).ok) if steals else set()
    for record_id in (str(r) for r in outcome.failed):
        if record_id in stolen or record_id not in holders:  # gone meanwhile: one more plain try below
            continue
        result.taken[record_id] = holders[record_id]
    result.held += sorted(stolen)
    vanished = [r for r in (str(r) for r in outcome.failed) if r not in holders]
    if vanished:  # released between the put and the read: claim it now
        again = txn.run_units([put(r, free) for r in vanished], connection)
        result.held += [str(r) for r in again.ok]
        for r in again.failed:
            result.taken[str(r)] = Holder("unknown", "unknown")
    return result


def release(account_id: str, site_id: str, kind: str, record_ids: list[str], job_id: str) -> int:
    """Give back the records ``job_id`` holds (a claim another job took over stays). Returns how many."""
    if not record_ids:
        return 0
    skey = site_key(account_id, site_id)
    units = [txn.Unit(r, [txn.Op("delete", RecordClaim(skey, claim_key(kind, r)), RecordClaim.job_id == job_id)])
             for r in dict.fromkeys(record_ids)]
    return len(txn.run_units(units, txn.shared_connection(RecordClaim)).ok)


def _holders(skey: str, kind: str, record_ids: list[str]) -> dict[str, Holder]:
    keys = [(skey, claim_key(kind, r)) for r in record_ids]
    prefix = f"{kind}#"
    return {c.record_key[len(prefix):]: Holder(c.job_id, c.item_id)
            for c in RecordClaim.batch_get(keys, consistent_read=True)}


def _stale(account_id: str, skey: str, holders: dict[str, Holder]) -> set[str]:
    """The records whose holding job item is final or does not exist, or whose job is over.

    A cancelled job leaves its unstarted items pending; they hold nothing once it is cancelled.
    """
    over = {j.job_id for j in Job.batch_get([(skey, job_id) for job_id in {h.job_id for h in holders.values()}],
                                            consistent_read=True) if j.status not in LIVE_JOBS}
    wanted = {(job_key(account_id, h.job_id), h.item_id) for h in holders.values() if h.job_id not in over}
    live = {(i.job_key, i.item_id) for i in JobItem.batch_get(list(wanted), consistent_read=True)
            if i.status not in FINAL} if wanted else set()
    return {r for r, h in holders.items() if (job_key(account_id, h.job_id), h.item_id) not in live}
