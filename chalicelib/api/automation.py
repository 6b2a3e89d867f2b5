"""/v1/sites/{site_id}/automation: the site's automation config, its runs, and their control."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from chalice import Blueprint
from pydantic import Field, field_validator

from chalicelib.api.routing import Req, routes
from chalicelib.api.schemas import Body, ListQuery, Out, Page, changes
from chalicelib.auth.roles import Role
from chalicelib.services import listings
from chalicelib.services.automation import config as configs
from chalicelib.services.automation import control, runs

bp = Blueprint(__name__)
site_route = routes(bp, scope="site", module="automation")
TAGS = ["automation"]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class ConfigUpdate(Body):
    clustering_limit: int | None = Field(None, ge=0, le=2000, description="Pending keywords to cluster per run")
    ideas_limit: int | None = Field(None, ge=0, le=200, description="Clusters turned into an idea each, per run")
    content_limit: int | None = Field(None, ge=0, le=100, description="Tasks and articles per run")
    image_limit: int | None = Field(None, ge=0, le=100, description="Articles illustrated per run")
    publish_limit: int | None = Field(None, ge=0, le=100, description="Approved articles slotted per run")
    delay_between_operations: int | None = Field(None, ge=0, le=900, description="Seconds between stages")
    max_runtime: int | None = Field(None, ge=60, le=86400, description="Seconds; a longer run is failed")
    auto_approve: bool | None = None
    auto_publish: bool | None = None
    stop_on_error: bool | None = None
    is_active: bool | None = Field(None, description="Run on the schedule")
    frequency: Literal["daily", "weekly", "monthly"] | None = None
    days_of_week: list[Day] | None = Field(None, max_length=7, description="Weekly: the days it runs")
    day_of_month: int | None = Field(None, ge=1, le=31, description="Monthly: the day (the month's last if shorter)")
    run_time: str | None = Field(None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
                                 description="HH:MM in the site's time zone")

    @field_validator("days_of_week")
    @classmethod
    def _unique_days(cls, value: list[str] | None) -> list[str] | None:
        return list(dict.fromkeys(value)) if value is not None else None


class ConfigOut(Out):
    site_id: str
    clustering_limit: int
    ideas_limit: int
    content_limit: int
    image_limit: int
    publish_limit: int
    delay_between_operations: int
    max_runtime: int
    auto_approve: bool
    auto_publish: bool
    stop_on_error: bool
    is_active: bool
    frequency: str
    days_of_week: list[str]
    day_of_month: int
    run_time: str
    next_run_at: datetime | None
    active_run_id: str | None
    last_run_id: str | None
    last_run_at: datetime | None
    last_skip_reason: str | None
    last_skipped_at: datetime | None
    estimate: dict[str, int] = Field(description="Credits per type a run at these limits is estimated to cost")


class StageOut(Out):
    name: str
    description: str
    status: str = Field(description="pending, running, done, skipped or failed")
    job_id: str | None
    total: int
    queued: int = 0
    done: int
    failed: int
    skipped: int
    credits: int
    started_at: str | None
    finished_at: str | None
    note: str | None


class RunOut(Out):
    run_id: str
    site_id: str
    status: str = Field(description="running, paused, completed, failed or cancelled")
    trigger: str
    current_stage: str | None
    stages: list[StageOut]
    credits_spent: int
    estimate: dict[str, int]
    started_at: datetime | None
    finished_at: datetime | None
    deadline: datetime | None
    error: str | None
    error_code: str | None
    errors: list[dict[str, Any]] = Field(description="The latest failed items: stage, item_id, error")
    config: dict[str, Any]
    created_at: datetime


class RunSummary(Out):
    run_id: str
    status: str
    trigger: str
    credits_spent: int
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None


def _config_out(req: Req, site_id: str, config: Any) -> ConfigOut:
    data = {name: getattr(config, name) for name in ConfigOut.model_fields if name != "estimate"}
    return ConfigOut(**data, estimate=configs.estimate(req.account_id, site_id, config))


@site_route("/v1/sites/{site_id}/automation/config", "GET", summary="The site's automation config (defaults "
            "until changed), its next run and the estimated credits of a run", tags=TAGS, response=ConfigOut)
def get_config(req: Req, site_id: str) -> ConfigOut:
    return _config_out(req, site_id, configs.get_config(req.account_id, site_id))


@site_route("/v1/sites/{site_id}/automation/config", "PATCH", summary="Change limits, behaviour and schedule",
            tags=TAGS, body=ConfigUpdate, response=ConfigOut, role=Role.editor)
def update_config(req: Req, site_id: str) -> ConfigOut:
    return _config_out(req, site_id, configs.update_config(req.account_id, site_id, changes(req.body)))


@site_route("/v1/sites/{site_id}/automation/runs", "POST", summary="Start a run now (402 if credits are short, "
            "409 if one is active)", tags=TAGS, response=RunOut, status=202, role=Role.editor,
            rate_limit="automation_runs",
            extra_responses={402: "The balance cannot cover the run's estimate (code insufficient_credits)",
                        409: "The site has an active run (code run_active)"})
def start_run(req: Req, site_id: str) -> RunOut:
    run = control.start_run(req.account_id, site_id, trigger="manual", user_id=req.tenant.user_id)
    return RunOut.model_validate(runs.run_view(run))


@site_route("/v1/sites/{site_id}/automation/runs", "GET", summary="A site's runs, newest first", tags=TAGS,
            query=ListQuery, response=Page[RunSummary])
def list_runs(req: Req, site_id: str) -> Any:
    return listings.automation_runs(req.account_id, site_id, limit=req.query.limit, cursor=req.query.cursor)


@site_route("/v1/sites/{site_id}/automation/runs/{run_id}", "GET", summary="A run's progress: status, current "
            "stage, per-stage totals, credits, errors", tags=TAGS, response=RunOut)
def get_run(req: Req, site_id: str, run_id: str) -> RunOut:
    return RunOut.model_validate(runs.run_view(runs.get_run(req.account_id, site_id, run_id)))


@site_route("/v1/sites/{site_id}/automation/runs/{run_id}/pause", "POST", summary="Pause: no new item starts",
            tags=TAGS, response=RunOut, role=Role.editor)
def pause_run(req: Req, site_id: str, run_id: str) -> RunOut:
    return RunOut.model_validate(runs.run_view(control.pause_run(req.account_id, site_id, run_id)))


@site_route("/v1/sites/{site_id}/automation/runs/{run_id}/resume", "POST",
            summary="Resume from where it stopped (finished items are not redone)", tags=TAGS, response=RunOut,
            role=Role.editor)
def resume_run(req: Req, site_id: str, run_id: str) -> RunOut:
    return RunOut.model_validate(runs.run_view(control.resume_run(req.account_id, site_id, run_id)))


@site_route("/v1/sites/{site_id}/automation/runs/{run_id}/cancel", "POST",
            summary="Cancel: no new work starts, queued items are skipped", tags=TAGS, response=RunOut,
            role=Role.editor)
def cancel_run(req: Req, site_id: str, run_id: str) -> RunOut:
    return RunOut.model_validate(runs.run_view(control.cancel_run(req.account_id, site_id, run_id)))
