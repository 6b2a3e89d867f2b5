"""Jobs: a stage run on chosen items, with per-item state and progress counters.

A Job lives in its site's partition (newest first by id). Each item of the job has a
JobItem whose key is the business key (job, item): whatever SQS delivers, an item is
claimed, finished and counted once, because every move is conditional on its status.
"""

from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from chalicelib.models.base import TimestampedModel, table_meta
from chalicelib.models.connection import SharedClientModel
from chalicelib.models.site_scope import ChildrenOf, Partition

JOB_STATUSES = ("running", "paused", "completed", "failed", "cancelled")
ITEM_STATUSES = ("queued", "running", "done", "failed", "skipped")


class Job(TimestampedModel):
    Meta = table_meta("jobs")
    # A sector's deletion keeps the site's jobs: they are the history of work on the whole site.
    site_scope = Partition(lambda account_id, site_id: f"{account_id}#{site_id}")
    site_key = UnicodeAttribute(hash_key=True)  # account_id#site_id
    job_id = UnicodeAttribute(range_key=True)
    account_id = UnicodeAttribute()
    site_id = UnicodeAttribute()
    stage = UnicodeAttribute()
    status = UnicodeAttribute(default="running")
    total = NumberAttribute(default=0)
    done = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)
    skipped = NumberAttribute(default=0)
    credits_spent = NumberAttribute(default=0)
    estimate = JSONAttribute(default=dict)
    params = JSONAttribute(default=dict)
    created_by = UnicodeAttribute(null=True)
    run_id = UnicodeAttribute(null=True)  # the automation run that started it, if any
    finished_at = UTCDateTimeAttribute(null=True)


class JobItem(TimestampedModel):
    Meta = table_meta("job_items")
    site_scope = ChildrenOf(Job, lambda job: job_key(job.account_id, job.job_id))
    job_key = UnicodeAttribute(hash_key=True)  # account_id#job_id
    item_id = UnicodeAttribute(range_key=True)  # the business id (cluster, idea, task, content...)
    account_id = UnicodeAttribute()
    site_id = UnicodeAttribute()
    job_id = UnicodeAttribute()
    stage = UnicodeAttribute()
    status = UnicodeAttribute(default="queued")
    attempts = NumberAttribute(default=0)
    lease_until = UTCDateTimeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    error_code = UnicodeAttribute(null=True)
    payload = JSONAttribute(default=dict)  # what the stage needs beyond the id (e.g. keyword ids)
    result = JSONAttribute(default=dict)  # ids of what the stage made
    credits = NumberAttribute(default=0)
    history = ListAttribute(default=list)  # short log of attempts: [{at, outcome, error}]
    finished_at = UTCDateTimeAttribute(null=True)


def job_key(account_id: str, job_id: str) -> str:
    return f"{account_id}#{job_id}"


class RecordClaim(SharedClientModel):
    """Which job holds a record a stage works on (a keyword, cluster, idea, task or article).

    Written with a condition when a job is created (and renewed by its worker before each
    delivery plans or charges), so two jobs over the same records (a double click, two tabs,
    an automation run and a person) never both process nor both pay for them. Released when
    the job item holding it finishes; ``expires_epoch`` (the table's TTL) is the safety net,
    and a claim whose job item is final or missing counts as free.
    """

    Meta = table_meta("record_claims", ttl_attribute="expires_epoch")
    # A sector's deletion leaves its records' claims to their TTL: a claim names no sector.
    site_scope = Partition(lambda account_id, site_id: f"{account_id}#{site_id}")
    site_key = UnicodeAttribute(hash_key=True)  # account_id#site_id
    record_key = UnicodeAttribute(range_key=True)  # <kind>#<record_id>
    job_id = UnicodeAttribute()
    item_id = UnicodeAttribute()  # the job item holding it
    expires_epoch = NumberAttribute()


def claim_key(kind: str, record_id: str) -> str:
    return f"{kind}#{record_id}"
