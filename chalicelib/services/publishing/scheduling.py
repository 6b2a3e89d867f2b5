"""What a person does with a content's publishing: schedule, unschedule, publish now, retry; and
re-planning what waits for a slot when the site's settings change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.errors import Conflict, NotFound, UnprocessableEntity
from chalicelib.models.accounts import Site, site_key
from chalicelib.models.conditions import conditional
from chalicelib.models.publisher import PublishingSettings
from chalicelib.models.site_records import join_key
from chalicelib.models.writer import Content
from chalicelib.services.activity import Gates
from chalicelib.services.publishing import reservations, worker
from chalicelib.services.publishing.settings import get_settings, limits
from chalicelib.services.sites import get_site
from chalicelib.services.state_machines import transition_ops
from chalicelib.services.writer import get_content
from chalicelib.timeutil import utcnow


def schedule_content(account_id: str, site_id: str, content_id: str, *, not_before: datetime | None = None,
                     settings: PublishingSettings | None = None, site: Site | None = None,
                     gates: Gates | None = None) -> Content | None:
    """Give approved, unscheduled content the next free slot. None: no slot within the horizon.

    Content that is already scheduled is returned as it is (a repeated request changes nothing).
    """
    site = site or get_site(account_id, site_id)
    settings = settings or get_settings(account_id, site_id)
    content = get_content(account_id, site_id, content_id)
    return reservations.take_next_slot(content, not_before=not_before, settings=settings, site=site, gates=gates)


def unschedule(account_id: str, site_id: str, content_id: str) -> Content:
    content = get_content(account_id, site_id, content_id)
    if content.site_status == "not_published":
        return content
    reservations.release(content)
    content.refresh()
    return content


def publish_now(account_id: str, site_id: str, content_id: str) -> Content:
    """Publish at once, outside the time slots but inside today's, this week's and this month's limits.

    Scheduled content gives up its slot in the same write; if a limit is reached it keeps it.
    """
    site = get_site(account_id, site_id)
    settings = get_settings(account_id, site_id)
    content = get_content(account_id, site_id, content_id)
    if content.site_status == "failed":
        return retry_publish(account_id, site_id, content_id)
    if content.status != "approved" or content.site_status not in ("not_published", "scheduled"):
        raise Conflict("Only approved content that is not published can be published now.",
                       code="content_not_publishable",
                       details={"status": content.status, "site_status": content.site_status})
    reservations.take_time_now(content, site, settings)
    content.refresh()
    worker.enqueue_publish(account_id, site_id, content_id)
    return content


def retry_publish(account_id: str, site_id: str, content_id: str) -> Content:
    """A failed publish goes again now; it keeps the slot (and the counters) it had."""
    content = get_content(account_id, site_id, content_id)
    if content.site_status != "failed":
        raise Conflict("Only a failed publish can be retried.", code="illegal_transition",
                       details={"attribute": "site_status", "current_status": content.site_status,
                                "allowed": ["failed"]})
    changes: dict[str, Any] = {"site_status": "scheduled"}
    if content.scheduled_publish_at is None or content.scheduled_publish_at > utcnow():
        changes["scheduled_publish_at"] = utcnow().replace(microsecond=0)
    actions, condition = transition_ops(content, changes, extra_actions=[
        Content.site_status_updated_at.set(utcnow())])
    with conditional(otherwise=Conflict("The content changed meanwhile; reload it.", code="concurrent_change")):
        content.update(actions=actions, condition=condition)
    reservations.set_claim_state(content, "scheduled")
    worker.enqueue_publish(account_id, site_id, content_id)
    return content


# --- settings and re-planning ----------------------------------------------------------------------

def update_settings(account_id: str, site_id: str, changes: dict[str, Any]) -> tuple[PublishingSettings, dict]:
    """Save new settings, then re-plan everything scheduled and not yet due."""
    get_site(account_id, site_id)
    settings = get_settings(account_id, site_id)
    for name, value in changes.items():
        setattr(settings, name, value)
    allowed = limits(settings)
    if not allowed["d"] <= allowed["w"] <= allowed["m"]:
        raise UnprocessableEntity("Limits must satisfy daily <= weekly <= monthly.", code="inconsistent_limits",
                                  details={"daily": allowed["d"], "weekly": allowed["w"], "monthly": allowed["m"]})
    settings.save()
    replanned = replan_site(account_id, site_id)
    return settings, replanned


def replan_site(account_id: str, site_id: str) -> dict[str, Any]:
    """After a settings change: release what waits for a slot in the future, then slot it again, in order.

    Left alone: manual times (a person chose them), content due within the lead time, and
    anything that started publishing meanwhile.
    """
    settings = get_settings(account_id, site_id)
    site = get_site(account_id, site_id)
    horizon = utcnow() + reservations.LEAD_TIME
    released: list[tuple[datetime, str]] = []
    for summary in Content.by_site_status.query(join_key(site_key(account_id, site_id), "scheduled")):
        if summary.publish_slot and "#manual#" in summary.publish_slot:
            continue
        if summary.scheduled_publish_at is None or summary.scheduled_publish_at <= horizon:
            continue
        try:
            content = get_content(account_id, site_id, summary.content_id)
            reservations.release(content)
        except (Conflict, NotFound):
            continue
        released.append((summary.scheduled_publish_at, summary.content_id))
    moves: list[dict[str, Any]] = []
    for before, content_id in sorted(released):
        try:
            content = schedule_content(account_id, site_id, content_id, settings=settings, site=site)
        except (Conflict, NotFound):
            content = None
        moves.append({"content_id": content_id, "from": before,
                      "to": content.scheduled_publish_at if content is not None else None})
    return {"released": len(released), "rescheduled": sum(1 for m in moves if m["to"] is not None),
            "unslotted": sum(1 for m in moves if m["to"] is None), "moves": moves}
