"""The publishing schedule: slot the approved content that waits, on every auto publish site, then
queue what is due. Every read is a Query of a sharded global index, never a Scan."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.errors import Conflict, NotFound
from chalicelib.models.accounts import site_key
from chalicelib.models.writer import READY_SHARDS, Content
from chalicelib.observability import logger
from chalicelib.services.activity import Gates
from chalicelib.services.publishing import worker
from chalicelib.services.publishing.auto import auto_publishes
from chalicelib.services.publishing.scheduling import schedule_content
from chalicelib.services.publishing.settings import get_settings
from chalicelib.services.sites import get_site


def schedule_ready(account_id: str, site_id: str, content_ids: list[str] | None = None, *,
                   gates: Gates | None = None) -> dict[str, int]:
    """Slot the site's approved, unscheduled content, oldest first (auto publish sites only)."""
    gates = gates or Gates()
    if not gates.site(account_id, site_id).open or not auto_publishes(account_id, site_id):
        return {"scheduled": 0, "unslotted": 0, "skipped": len(content_ids or [])}
    site = get_site(account_id, site_id)
    settings = get_settings(account_id, site_id)
    if content_ids is None:
        content_ids = [c.content_id for c in Content.ready_to_schedule.query(site_key(account_id, site_id),
                                                                             limit=200)]
    scheduled = unslotted = 0
    for content_id in sorted(content_ids):
        try:
            if schedule_content(account_id, site_id, content_id, settings=settings, site=site, gates=gates) is None:
                unslotted += 1
                break  # no slot for this one means none for the rest either
            scheduled += 1
        except (Conflict, NotFound):
            continue
    return {"scheduled": scheduled, "unslotted": unslotted, "skipped": 0}


def schedule_ready_everywhere(*, per_shard: int = 1000) -> dict[str, int]:
    """The tick's first half: approved, unscheduled content of every site, from the sharded global index."""
    by_site: dict[tuple[str, str], list[str]] = {}
    for shard in range(READY_SHARDS):
        for item in Content.ready_any_site.query(f"ready#{shard}", limit=per_shard):
            by_site.setdefault((item.account_id, item.site_id), []).append(item.content_id)
    totals = {"sites": len(by_site), "scheduled": 0, "unslotted": 0, "skipped": 0, "errors": 0}
    gates = Gates()
    for (account_id, site_id), content_ids in by_site.items():
        try:
            done = schedule_ready(account_id, site_id, content_ids, gates=gates)
        except Exception as exc:  # noqa: BLE001 - one broken site must not stop the others
            totals["errors"] += 1
            logger.warning("slotting a site failed", extra={"site_id": site_id, "error": str(exc)[:300]})
            continue
        for name, value in done.items():
            totals[name] += value
    return totals


def tick(now: datetime | None = None) -> dict[str, Any]:
    """The publishing schedule: slot approved content everywhere, then queue what is due."""
    slotted = schedule_ready_everywhere()
    sent = worker.enqueue_due(now)
    return {"slotted": slotted, "enqueued": sent}
