"""Each user's channel per event, and the account's notification settings (the credits-low threshold)."""

from __future__ import annotations

from typing import Any

from chalicelib.errors import UnprocessableEntity
from chalicelib.models.notifications import NotificationPrefs, NotificationSettings
from chalicelib.services.event_names import CHANNELS, EVENTS, NOTIFY_EVENTS

# Below this many available credits of a type, "credits low" is sent (an account may set its own).
DEFAULT_CREDITS_LOW_THRESHOLD = 20


def _read(account_id: str, user_id: str) -> NotificationPrefs | None:
    try:
        return NotificationPrefs.get(account_id, user_id)
    except NotificationPrefs.DoesNotExist:
        return None


def view(account_id: str, user_id: str) -> dict[str, Any]:
    """Every notifying event with this user's channel (their choice, else the event's default)."""
    prefs = _read(account_id, user_id)
    chosen = prefs.channels if prefs else {}
    return {"channels": {name: chosen.get(name, EVENTS[name].default) for name in NOTIFY_EVENTS},
            "weekly_digest": prefs.weekly_digest if prefs else True}


def update(account_id: str, user_id: str, channels: dict[str, str] | None,
           weekly_digest: bool | None) -> dict[str, Any]:
    bad = [{"field": f"channels.{name}",
            "message": f"not an event people are told of; one of {', '.join(NOTIFY_EVENTS)}"}
           for name in (channels or {}) if name not in NOTIFY_EVENTS]
    bad += [{"field": f"channels.{name}", "message": f"one of {', '.join(CHANNELS)}"}
            for name, channel in (channels or {}).items() if name in NOTIFY_EVENTS and channel not in CHANNELS]
    if bad:
        raise UnprocessableEntity("Some notification preferences are not valid.", details=bad)
    prefs = _read(account_id, user_id) or NotificationPrefs(account_id, user_id)
    if channels:
        prefs.channels = {**(prefs.channels or {}), **channels}
    if weekly_digest is not None:
        prefs.weekly_digest = weekly_digest
    prefs.save()
    return view(account_id, user_id)


def of_account(account_id: str) -> dict[str, NotificationPrefs]:
    """Every user's preferences in the account (one Query), by user id."""
    return {p.user_id: p for p in NotificationPrefs.query(account_id)}


def channel(prefs: NotificationPrefs | None, event: str) -> str:
    return (prefs.channels or {}).get(event, EVENTS[event].default) if prefs else EVENTS[event].default


def credits_low_threshold(account_id: str) -> int:
    try:
        value = NotificationSettings.get(account_id).credits_low_threshold
    except NotificationSettings.DoesNotExist:
        value = None
    return DEFAULT_CREDITS_LOW_THRESHOLD if value is None else int(value)


def settings_view(account_id: str) -> dict[str, Any]:
    return {"credits_low_threshold": credits_low_threshold(account_id),
            "default_credits_low_threshold": DEFAULT_CREDITS_LOW_THRESHOLD}


def update_settings(account_id: str, credits_low_threshold: int | None) -> dict[str, Any]:
    NotificationSettings(account_id, credits_low_threshold=credits_low_threshold).save()
    return settings_view(account_id)
