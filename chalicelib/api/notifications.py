"""/v1/notifications: the caller's in-app notifications (web and mobile), their preferences, the account's settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalice import Blueprint
from pydantic import Field

from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import Body, ListQuery, Out, Page
from chalicelib.auth.roles import Role
from chalicelib.services.event_names import Channel
from chalicelib.services.notifications import inbox, prefs

bp = Blueprint(__name__)
TAGS = ["notifications"]


class NotificationQuery(ListQuery):
    unread: bool = Field(False, description="Only the unread ones.")


class NotificationOut(Out):
    notification_id: str
    event: str
    title: str
    message: str
    count: int = Field(description="Events in it: a burst of one event in one window is one notification.")
    site_id: str | None
    data: dict[str, Any]
    read: bool
    read_at: datetime | None
    created_at: datetime
    updated_at: datetime


class UnreadOut(Out):
    unread: int


class MarkedOut(Out):
    marked: int


class PrefsOut(Out):
    channels: dict[str, str] = Field(description="Per event: in_app, email, both or none.")
    weekly_digest: bool


class PrefsBody(Body):
    channels: dict[str, Channel] | None = Field(None, max_length=50)
    weekly_digest: bool | None = None


class NotificationSettingsOut(Out):
    credits_low_threshold: int
    default_credits_low_threshold: int


class SettingsBody(Body):
    credits_low_threshold: int | None = Field(
        None, ge=0, le=1_000_000, description="'Credits low' below this many available credits of a type; "
                                              "null: the default.")


@route(bp, "/v1/notifications", "GET", summary="The caller's notifications, newest first", tags=TAGS,
       query=NotificationQuery, response=Page[NotificationOut])
def list_notifications(req: Req) -> Any:
    q: NotificationQuery = req.query
    return inbox.page(req.account_id, req.tenant.user_id, unread_only=q.unread, limit=q.limit, cursor=q.cursor)


@route(bp, "/v1/notifications/unread-count", "GET", summary="How many of the caller's notifications are unread",
       tags=TAGS, response=UnreadOut)
def unread_count(req: Req) -> UnreadOut:
    return UnreadOut(unread=inbox.unread_count(req.account_id, req.tenant.user_id))


@route(bp, "/v1/notifications/read-all", "POST", summary="Mark every notification of the caller read",
       tags=TAGS, response=MarkedOut)
def read_all(req: Req) -> MarkedOut:
    return MarkedOut(marked=inbox.mark_all_read(req.account_id, req.tenant.user_id))


@route(bp, "/v1/notifications/{notification_id}/read", "POST", summary="Mark one notification read", tags=TAGS,
       response=NotificationOut)
def read_one(req: Req, notification_id: str) -> Any:
    return inbox.mark_read(req.account_id, req.tenant.user_id, notification_id)


@route(bp, "/v1/notifications/preferences", "GET", summary="The caller's channel per event", tags=TAGS,
       response=PrefsOut)
def get_prefs(req: Req) -> Any:
    return prefs.view(req.account_id, req.tenant.user_id)


@route(bp, "/v1/notifications/preferences", "PATCH", summary="Choose in_app, email, both or none per event",
       tags=TAGS, body=PrefsBody, response=PrefsOut)
def set_prefs(req: Req) -> Any:
    b: PrefsBody = req.body
    return prefs.update(req.account_id, req.tenant.user_id, b.channels, b.weekly_digest)


@route(bp, "/v1/notifications/settings", "GET", summary="The account's notification settings", tags=TAGS,
       response=NotificationSettingsOut)
def get_settings(req: Req) -> Any:
    return prefs.settings_view(req.account_id)


@route(bp, "/v1/notifications/settings", "PATCH", summary="Set the account's credits-low threshold", tags=TAGS,
       body=SettingsBody, response=NotificationSettingsOut, role=Role.admin)
def set_settings(req: Req) -> Any:
    return prefs.update_settings(req.account_id, req.body.credits_low_threshold)
