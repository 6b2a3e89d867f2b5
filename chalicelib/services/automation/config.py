"""A site's automation config: the stage limits, the options and the schedule; what a run of it costs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.errors import UnprocessableEntity
from chalicelib.models.automation import AutomationConfig
from chalicelib.models.conditions import conditional
from chalicelib.models.shards import shard
from chalicelib.services import modules
from chalicelib.services.automation import schedule
from chalicelib.services.automation.runs import RUN_STAGES
from chalicelib.services.pipeline.stages import get_stage
from chalicelib.services.sites import get_site
from chalicelib.timeutil import utcnow

CONFIG_FIELDS = ("clustering_limit", "ideas_limit", "content_limit", "image_limit", "publish_limit",
                 "optimize_limit", "link_limit",
                 "delay_between_operations", "max_runtime", "auto_approve", "auto_publish", "stop_on_error",
                 "is_active", "frequency", "days_of_week", "day_of_month", "run_time")
SCHEDULE_FIELDS = ("is_active", "frequency", "days_of_week", "day_of_month", "run_time")


def get_config(account_id: str, site_id: str) -> AutomationConfig:
    """The site's config; a site that never saved one gets the defaults (stored, so it can be locked)."""
    try:
        return AutomationConfig.get(account_id, site_id)
    except AutomationConfig.DoesNotExist:
        get_site(account_id, site_id)
    config = AutomationConfig(account_id, site_id)
    with conditional() as write:
        config.save(condition=AutomationConfig.site_id.does_not_exist())
    if not write.held:  # a concurrent request stored it first
        return AutomationConfig.get(account_id, site_id, consistent_read=True)
    return config


def update_config(account_id: str, site_id: str, changes: dict[str, Any]) -> AutomationConfig:
    site = get_site(account_id, site_id)
    config = get_config(account_id, site_id)
    merged = {name: getattr(config, name) for name in CONFIG_FIELDS}
    merged.update(changes)
    if merged["frequency"] == "weekly" and not merged["days_of_week"]:
        raise UnprocessableEntity("A weekly schedule needs at least one day in days_of_week.",
                                  code="days_required", details=[{"field": "days_of_week", "message": "required"}])
    actions = [getattr(AutomationConfig, name).set(value) for name, value in changes.items()]
    if any(name in changes for name in SCHEDULE_FIELDS):
        if merged["is_active"]:
            next_at = schedule.next_run(
                frequency=merged["frequency"], run_time=merged["run_time"], time_zone=site.time_zone or "UTC",
                after=utcnow(), days_of_week=merged["days_of_week"], day_of_month=int(merged["day_of_month"]))
            actions += [AutomationConfig.next_run_at.set(next_at),
                        AutomationConfig.due_shard.set(shard(site_id, "due"))]
        else:
            actions += [AutomationConfig.next_run_at.remove(), AutomationConfig.due_shard.remove()]
    config.update(actions=actions, condition=AutomationConfig.site_id.exists())
    return config


def next_after(config: AutomationConfig, time_zone: str, after: datetime) -> datetime:
    return schedule.next_run(
        frequency=config.frequency, run_time=config.run_time, time_zone=time_zone or "UTC", after=after,
        days_of_week=list(config.days_of_week or []), day_of_month=int(config.day_of_month or 1))


def snapshot(config: AutomationConfig) -> dict[str, Any]:
    """The config as a run keeps it: a run goes on with the settings it started with."""
    return {name: getattr(config, name) if not isinstance(getattr(config, name), list)
            else list(getattr(config, name)) for name in CONFIG_FIELDS}


def estimate(account_id: str, site_id: str, config: AutomationConfig | dict[str, Any]) -> dict[str, int]:
    """Credits per type the run's stages cost at their limits, from the model prices."""
    limits = config if isinstance(config, dict) else snapshot(config)
    switches = modules.enabled_modules(account_id)
    total: dict[str, int] = {}
    for run_stage in RUN_STAGES:
        if not run_stage.is_job:
            continue
        count = int(limits.get(run_stage.limit_field, 0))
        stage = get_stage(run_stage.name)
        if count <= 0 or not switches.get(stage.module, True):  # a switched-off module's stage is skipped
            continue
        for credit_type, amount in stage.estimate(account_id, site_id, stage.sample(count)).items():
            total[credit_type] = total.get(credit_type, 0) + int(amount)
    return total
