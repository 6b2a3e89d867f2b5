"""Automation module: AutomationConfig (one per site) and AutomationRun (its runs).

Keys:
- ``AutomationConfig``: (account_id, site_id). ``active_run_id`` is the one-active-run lock:
  a run starts only by setting it where it does not exist (in the same transaction as the
  run's put), and is released by removing it where it still names that run.
- ``AutomationConfig.due`` (sparse, sharded): active configs by ``next_run_at``; the
  automation tick finds what is due with one Query per shard, never a Scan.
- ``AutomationRun``: (account_id#site_id, run_id UUIDv7): a site's runs newest first.
  Every change to a run is a read-decide-save conditional on its ``version``, so two
  deliveries of the same event (or an event and a user's pause) cannot both act.
- ``AutomationRun.active`` (sparse, sharded): runs that are running or paused, by their
  deadline; the tick fails the overdue ones and mends stalled ones from it.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection

from chalicelib.models.base import TimestampedModel, index_meta, table_meta
from chalicelib.models.site_scope import Item, Partition

RUN_STATUSES = ("running", "paused", "completed", "failed", "cancelled")
ACTIVE_STATUSES = ("running", "paused")
FREQUENCIES = ("daily", "weekly", "monthly")


class DueConfigs(GlobalSecondaryIndex):
    Meta = index_meta("due", KeysOnlyProjection())
    due_shard = UnicodeAttribute(hash_key=True)
    next_run_at = UTCDateTimeAttribute(range_key=True)


class AutomationConfig(TimestampedModel):
    Meta = table_meta("automation_configs")
    site_scope = Item()
    account_id = UnicodeAttribute(hash_key=True)
    site_id = UnicodeAttribute(range_key=True)
    # Stage limits: items per stage in one run.
    clustering_limit = NumberAttribute(default=50)  # pending keywords to cluster
    ideas_limit = NumberAttribute(default=10)  # clusters to turn into an idea each
    content_limit = NumberAttribute(default=5)  # tasks and articles
    image_limit = NumberAttribute(default=5)  # articles to illustrate
    publish_limit = NumberAttribute(default=5)  # approved articles handed to the publishing slots
    optimize_limit = NumberAttribute(default=0)  # articles optimized (optional stage: 0 leaves it out)
    link_limit = NumberAttribute(default=0)  # articles linked (optional stage: 0 leaves it out)
    delay_between_operations = NumberAttribute(default=5)  # seconds between stages
    max_runtime = NumberAttribute(default=3600)  # seconds; the tick fails a run past it
    auto_approve = BooleanAttribute(default=False)
    auto_publish = BooleanAttribute(default=False)
    stop_on_error = BooleanAttribute(default=False)
    is_active = BooleanAttribute(default=False)
    frequency = UnicodeAttribute(default="daily")
    days_of_week = ListAttribute(of=UnicodeAttribute, default=list)  # weekly: ["mon", "thu"]
    day_of_month = NumberAttribute(default=1)  # monthly: 1..31 (clamped to the month's last day)
    run_time = UnicodeAttribute(default="02:00")  # HH:MM in the site's time zone
    next_run_at = UTCDateTimeAttribute(null=True)
    due_shard = UnicodeAttribute(null=True)  # sparse: set while active
    active_run_id = UnicodeAttribute(null=True)  # the lock: the site's running or paused run
    last_run_id = UnicodeAttribute(null=True)
    last_run_at = UTCDateTimeAttribute(null=True)
    last_skip_reason = UnicodeAttribute(null=True)  # why the last due run did not start
    last_skipped_at = UTCDateTimeAttribute(null=True)

    due = DueConfigs()


class ActiveRuns(GlobalSecondaryIndex):
    Meta = index_meta("active", AllProjection())
    active_shard = UnicodeAttribute(hash_key=True)
    deadline = UTCDateTimeAttribute(range_key=True)


class AutomationRun(TimestampedModel):
    Meta = table_meta("automation_runs")
    site_scope = Partition(lambda account_id, site_id: f"{account_id}#{site_id}")
    site_key = UnicodeAttribute(hash_key=True)  # account_id#site_id
    run_id = UnicodeAttribute(range_key=True)
    account_id = UnicodeAttribute()
    site_id = UnicodeAttribute()
    status = UnicodeAttribute(default="running")
    trigger = UnicodeAttribute(default="manual")  # manual | schedule
    created_by = UnicodeAttribute(null=True)
    config = JSONAttribute(default=dict)  # the config as it was when the run started
    estimate = JSONAttribute(default=dict)  # credits per type, estimated at the start
    stage_index = NumberAttribute(default=0)
    stage_job_id = UnicodeAttribute(null=True)  # the current stage's job, once started
    # One entry per stage: {name, status, job_id, total, done, failed, skipped, credits, started_at,
    # finished_at, note}. Rewritten whole by versioned saves (never by two writers at once).
    stages = JSONAttribute(default=list)
    credits_spent = NumberAttribute(default=0)
    errors = JSONAttribute(default=list)  # the latest item errors: [{stage, item_id, error, at}]
    error = UnicodeAttribute(null=True)  # why the run failed
    error_code = UnicodeAttribute(null=True)
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    deadline = UTCDateTimeAttribute(null=True)
    active_shard = UnicodeAttribute(null=True)  # sparse: set while running or paused
    version = VersionAttribute()

    active = ActiveRuns()
