"""Publishing: WordPress connections, settings, schedule / publish, the calendar, webhooks (module="publisher")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from chalice import Blueprint, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from chalicelib.api.routing import Req, route, routes
from chalicelib.api.schemas import Body, Deleted, Out, changes
from chalicelib.api.writer import ContentSummaryOut
from chalicelib.auth.roles import Role
from chalicelib.errors import Conflict, NotFound
from chalicelib.services import secrets, writer
from chalicelib.services.publishing import calendar as calendars
from chalicelib.services.publishing import integration as integrations
from chalicelib.services.publishing import scheduling, webhooks, worker
from chalicelib.services.publishing import settings as site_settings
from chalicelib.services.publishing.reservations import schedule_at
from chalicelib.services.publishing.slots import WEEKDAYS
from chalicelib.timeutil import utcnow

bp = Blueprint(__name__)
site_route = routes(bp, scope="site", module="publisher")
INTEGRATION_TAGS, SETTINGS_TAGS, PUBLISH_TAGS = ["integrations"], ["publishing"], ["publishing"]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
TimeSlot = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["09:00"])]
Limit = Annotated[int, Field(ge=0, le=1000)]


# --- integrations ------------------------------------------------------------------------

class IntegrationIn(Body):
    # checked by the service (after the site lookup): http(s), no private or local address
    url: str = Field(min_length=1, max_length=2048, examples=["https://blog.example.com"],
                     description="The WordPress site's address, e.g. https://blog.example.com")
    username: str = Field(min_length=1, max_length=200)
    app_password: str = Field(min_length=8, max_length=200, description="A WordPress Application Password "
                              "(Users > Profile > Application Passwords); stored encrypted, never returned")
    name: str | None = Field(None, max_length=200)


class IntegrationOut(BaseModel):
    platform: str
    site_id: str
    name: str
    url: str
    username: str
    app_password_hint: str = Field(description="The last characters only, e.g. ••••abcd")
    connection_status: str
    sync_status: str
    sync_error: str | None
    last_sync_at: datetime | None
    is_active: bool
    plugin_active: bool
    webhooks_enabled: bool
    seo_fields: list[str]
    categories: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    authors: list[dict[str, Any]]
    post_types: list[dict[str, Any]]
    structure_updated_at: datetime | None
    details: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class IntegrationList(BaseModel):
    items: list[IntegrationOut]


def _integration_out(item: Any) -> IntegrationOut:
    details = dict(item.config_json or {})
    return IntegrationOut(
        platform=item.platform, site_id=item.site_id, name=item.name, url=item.external_site_url,
        username=item.username, app_password_hint=secrets.mask(item.app_password_hint),
        connection_status=item.connection_status, sync_status=item.sync_status, sync_error=item.sync_error,
        last_sync_at=item.last_sync_at, is_active=bool(item.is_active), plugin_active=bool(item.plugin_active),
        webhooks_enabled=bool(item.webhook_secret_enc), seo_fields=list(item.seo_fields or []),
        categories=list(item.categories or []), tags=list(item.tags or []), authors=list(item.authors or []),
        post_types=list(item.post_types or []), structure_updated_at=item.structure_updated_at, details=details,
        created_at=item.created_at, updated_at=item.updated_at)


@site_route("/v1/sites/{site_id}/integrations", "POST", summary="Connect a WordPress site (tests the connection "
            "and syncs categories, tags, authors, post types)", tags=INTEGRATION_TAGS, body=IntegrationIn,
            response=IntegrationOut, status=201, role=Role.admin,
            extra_responses={422: "The connection test failed: wordpress_not_found, wordpress_not_detected, "
                             "wordpress_rest_disabled, wordpress_auth_failed, wordpress_auth_header_stripped, "
                             "wordpress_forbidden, wordpress_url_not_allowed, wordpress_unavailable"})
def connect_integration(req: Req, site_id: str) -> IntegrationOut:
    body = req.body
    integration = integrations.connect_wordpress(req.account_id, site_id, url=body.url, username=body.username,
                                               app_password=body.app_password, name=body.name or "",
                                                 actor=req.tenant)
    return _integration_out(integration)


@site_route("/v1/sites/{site_id}/integrations", "GET", summary="The site's publishing connections (no secrets)",
            tags=INTEGRATION_TAGS, response=IntegrationList)
def list_integrations(req: Req, site_id: str) -> IntegrationList:
    try:
        return IntegrationList(items=[_integration_out(integrations.get_integration(req.account_id, site_id))])
    except NotFound:
        return IntegrationList(items=[])


@site_route("/v1/sites/{site_id}/integrations", "DELETE", summary="Disconnect WordPress (forgets the password)",
            tags=INTEGRATION_TAGS, response=Deleted, role=Role.admin)
def delete_integration(req: Req, site_id: str) -> Deleted:
    integrations.delete_integration(req.account_id, site_id, actor=req.tenant)
    return Deleted(id="wordpress")


@site_route("/v1/sites/{site_id}/integrations/sync", "POST", summary="Refresh the synced WordPress structure",
            tags=INTEGRATION_TAGS, response=IntegrationOut, role=Role.admin)
def sync_integration(req: Req, site_id: str) -> IntegrationOut:
    return _integration_out(integrations.sync_integration(req.account_id, site_id))


# --- settings ----------------------------------------------------------------------------

class SettingsIn(Body):
    auto_approval_enabled: bool | None = None
    auto_publish_enabled: bool | None = Field(None, description="Slot approved content automatically "
                                              "(when WordPress is connected)")
    daily_publish_limit: Limit | None = None
    weekly_publish_limit: Limit | None = None
    monthly_publish_limit: Limit | None = None
    publish_days: list[Weekday] | None = Field(None, max_length=7)
    publish_time_slots: list[TimeSlot] | None = Field(None, max_length=24, description="HH:MM, site time zone")

    @field_validator("publish_days")
    @classmethod
    def _days(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if len(set(value)) != len(value):
            raise ValueError("publish days must not repeat")
        return sorted(value, key=WEEKDAYS.index)

    @field_validator("publish_time_slots")
    @classmethod
    def _slots(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if len(set(value)) != len(value):
            raise ValueError("time slots must not repeat")
        return sorted(value)


class Move(BaseModel):
    content_id: str
    from_: datetime | None = Field(alias="from")
    to: datetime | None

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class ReplanOut(BaseModel):
    released: int = Field(description="Scheduled items taken out of their slots")
    rescheduled: int = Field(description="...given a slot again under the new settings")
    unslotted: int = Field(description="...for which no slot was found (back to approved, not scheduled)")
    moves: list[Move]


class SettingsOut(Out):
    site_id: str
    time_zone: str
    auto_approval_enabled: bool
    auto_publish_enabled: bool
    daily_publish_limit: int
    weekly_publish_limit: int
    monthly_publish_limit: int
    publish_days: list[str]
    publish_time_slots: list[str]
    updated_at: datetime | None = None
    replan: ReplanOut | None = Field(None, description="What re-planning did after a change (PUT only)")


def _settings_out(settings: Any, time_zone: str, replan: dict | None = None) -> SettingsOut:
    return SettingsOut(
        site_id=settings.site_id, time_zone=time_zone, auto_approval_enabled=bool(settings.auto_approval_enabled),
        auto_publish_enabled=bool(settings.auto_publish_enabled),
        daily_publish_limit=int(settings.daily_publish_limit), weekly_publish_limit=int(settings.weekly_publish_limit),
        monthly_publish_limit=int(settings.monthly_publish_limit), publish_days=list(settings.publish_days),
        publish_time_slots=list(settings.publish_time_slots), updated_at=settings.updated_at,
        replan=ReplanOut.model_validate(replan) if replan is not None else None)


@site_route("/v1/sites/{site_id}/publishing/settings", "GET", summary="Publishing limits, days and time slots",
            tags=SETTINGS_TAGS, response=SettingsOut)
def get_settings(req: Req, site_id: str) -> SettingsOut:
    return _settings_out(site_settings.get_settings(req.account_id, site_id), req.site.time_zone)


@site_route("/v1/sites/{site_id}/publishing/settings", "PUT", summary="Change publishing settings (fields left "
            "out keep their value); what is scheduled and not yet due is re-planned", tags=SETTINGS_TAGS,
            body=SettingsIn, response=SettingsOut, role=Role.admin)
def put_settings(req: Req, site_id: str) -> SettingsOut:
    settings, replan = scheduling.update_settings(req.account_id, site_id, changes(req.body))
    return _settings_out(settings, req.site.time_zone, replan)


# --- schedule, publish ---------------------------------------------------------------------

class ScheduleIn(Body):
    at: datetime | None = Field(None, description="A chosen time (counts against that day's, week's and month's "
                                "limits); without it, the next free slot")


def _content_out(content: Any) -> ContentSummaryOut:
    return ContentSummaryOut.model_validate(content)


@site_route("/v1/sites/{site_id}/content/{content_id}/schedule", "POST", summary="Schedule approved content: the "
            "next free slot within the limits, or a chosen time", tags=PUBLISH_TAGS, body=ScheduleIn,
            response=ContentSummaryOut, role=Role.editor,
            extra_responses={409: "content_not_approved, content_not_schedulable, no_slot_available, "
                             "publish_limit_reached, slot_taken"})
def schedule(req: Req, site_id: str, content_id: str) -> ContentSummaryOut:
    if req.body.at is not None:
        content = writer.get_content(req.account_id, site_id, content_id)
        return _content_out(schedule_at(content, req.body.at))
    content = scheduling.schedule_content(req.account_id, site_id, content_id)
    if content is None:
        raise Conflict("No free slot within the limits in the next 400 days; raise the limits or add publish "
                       "days or time slots.", code="no_slot_available")
    return _content_out(content)


@site_route("/v1/sites/{site_id}/content/{content_id}/unschedule", "POST", summary="Take content out of its slot "
            "(frees the slot and the counters)", tags=PUBLISH_TAGS, response=ContentSummaryOut, role=Role.editor)
def unschedule(req: Req, site_id: str, content_id: str) -> ContentSummaryOut:
    return _content_out(scheduling.unschedule(req.account_id, site_id, content_id))


@site_route("/v1/sites/{site_id}/content/{content_id}/publish", "POST", summary="Publish now (inside today's, this "
            "week's and this month's limits)", tags=PUBLISH_TAGS, response=ContentSummaryOut, status=202,
            role=Role.editor, extra_responses={409: "publish_limit_reached, content_not_publishable"})
def publish_now(req: Req, site_id: str, content_id: str) -> ContentSummaryOut:
    return _content_out(scheduling.publish_now(req.account_id, site_id, content_id))


@site_route("/v1/sites/{site_id}/content/{content_id}/publish/retry", "POST", summary="Publish failed content "
            "again (it keeps its slot; an existing post is updated, never duplicated)", tags=PUBLISH_TAGS,
            response=ContentSummaryOut, status=202, role=Role.editor)
def retry(req: Req, site_id: str, content_id: str) -> ContentSummaryOut:
    return _content_out(scheduling.retry_publish(req.account_id, site_id, content_id))


class RecordOut(Out):
    attempt_id: str
    content_id: str
    platform: str
    status: str
    action: str | None
    external_id: str | None
    external_url: str | None
    error: str | None
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime


class RecordList(BaseModel):
    items: list[RecordOut]


@site_route("/v1/sites/{site_id}/content/{content_id}/publishing-records", "GET", summary="Every publish attempt "
            "of an article, newest first", tags=PUBLISH_TAGS, response=RecordList)
def publishing_records(req: Req, site_id: str, content_id: str) -> RecordList:
    return RecordList(items=[RecordOut.model_validate(r)
                             for r in worker.attempts(req.account_id, site_id, content_id)])


# --- the calendar --------------------------------------------------------------------------

class CalendarQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: str | None = Field(None, alias="from", max_length=40,
                              description="ISO date (site time zone) or date-time; default today")
    to: str | None = Field(None, max_length=40, description="Inclusive; default from + 6 days; at most 93 days")


class CalendarSlot(BaseModel):
    at: datetime
    local_time: str
    state: str = Field(description="free, scheduled, published or failed")
    content_id: str | None
    title: str | None


class CalendarEntry(BaseModel):
    at: datetime
    local_time: str
    content_id: str
    title: str
    state: str
    manual: bool = Field(description="A chosen time or a publish-now, not one of the slots")
    in_slot: bool = Field(description="At one of the current settings' slots")
    periods: list[str]


class PeriodUsage(BaseModel):
    period: str
    kind: str
    used: int
    limit: int
    remaining: int


class CalendarOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
    time_zone: str
    from_: datetime = Field(alias="from")
    to: datetime
    slots: list[CalendarSlot]
    entries: list[CalendarEntry]
    usage: list[PeriodUsage]


@site_route("/v1/sites/{site_id}/calendar", "GET", summary="The publishing calendar: slots, what is in them, "
            "what was published, and each day's, week's and month's usage", tags=PUBLISH_TAGS, query=CalendarQuery,
            response=CalendarOut)
def calendar(req: Req, site_id: str) -> CalendarOut:
    start_text = req.query.from_ or utcnow().astimezone(ZoneInfo(req.site.time_zone)).date().isoformat()
    start, end = calendars.calendar_range(start_text, req.query.to, req.site.time_zone)
    return CalendarOut.model_validate(calendars.calendar(req.account_id, site_id, start, end))


# --- image files ---------------------------------------------------------------------------

@site_route("/v1/sites/{site_id}/images/{image_id}/file", "GET", summary="The image file (a redirect to a "
            "short-lived link)", tags=["images"], module="writer", extra_responses={302: "Location: the file"})
def image_file(req: Req, site_id: str, image_id: str) -> Response:
    from chalicelib.services import media

    image = writer.get_image(req.account_id, site_id, image_id)
    if not image.storage_key:
        raise NotFound("Image file")
    return Response(body="", status_code=302, headers={"Location": media.presigned_url(image.storage_key, 300),
                                                       "Cache-Control": "private, max-age=60"})


# --- webhooks from the companion plugin -----------------------------------------------------

class WebhookOut(BaseModel):
    handled: bool
    event: str | None = None
    content_id: str | None = None
    site_status: str | None = None
    reason: str | None = None


@route(bp, "/v1/webhooks/wordpress/{site_id}", "POST", summary="Signed webhook from the WordPress companion "
       "plugin (post updated, trashed, restored, deleted)", tags=["webhooks"], response=WebhookOut, auth="none",
       extra_responses={401: "invalid_signature: unsigned, wrongly signed, stale or replayed"})
def wordpress_webhook(req: Req, site_id: str) -> WebhookOut:
    # body=None: the router leaves the raw bytes alone; the signature covers them exactly.
    result = webhooks.handle_wordpress_webhook(site_id, req.raw_body, dict(req.request.headers))
    return WebhookOut.model_validate(result)
