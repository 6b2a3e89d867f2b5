"""A site's publishing settings: its limits (per day, ISO week and month), publish days and time slots."""

from __future__ import annotations

from datetime import datetime

from chalicelib.models.publisher import PublishingSettings
from chalicelib.services.publishing import slots

PERIOD_NAMES = {"d": "daily", "w": "weekly", "m": "monthly"}
PERIOD_KINDS = {"d": "day", "w": "week", "m": "month"}


def get_settings(account_id: str, site_id: str) -> PublishingSettings:
    """The site's settings; a site that never saved any has the defaults."""
    try:
        return PublishingSettings.get(account_id, site_id)
    except PublishingSettings.DoesNotExist:
        return PublishingSettings(account_id, site_id)


def limits(settings: PublishingSettings) -> dict[str, int]:
    """Period kind (d, w, m) -> how many publishes it allows."""
    return {"d": int(settings.daily_publish_limit), "w": int(settings.weekly_publish_limit),
            "m": int(settings.monthly_publish_limit)}


def is_slot_time(local: datetime, settings: PublishingSettings) -> bool:
    """Is this site-local time one of the site's slots (a publish day at one of its times)?"""
    days = {d.lower()[:3] for d in settings.publish_days or []}
    return (slots.WEEKDAYS[local.weekday()] in days and local.second == 0
            and local.strftime("%H:%M") in {t for t in settings.publish_time_slots or []})
