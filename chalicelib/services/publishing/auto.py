"""Auto publish: approved content of a site is given a slot without a person, on approval and by the tick."""

from __future__ import annotations

from chalicelib.errors import NotFound
from chalicelib.models.writer import Content
from chalicelib.observability import logger
from chalicelib.services.publishing.integration import find_integration
from chalicelib.services.publishing.reservations import take_next_slot
from chalicelib.services.publishing.settings import get_settings


def auto_publishes(account_id: str, site_id: str) -> bool:
    """Approved content of this site is slotted automatically: auto publish is on and WordPress is connected.

    Without a connection there is nowhere to publish to, so nothing is slotted automatically
    (a person can still schedule by hand).
    """
    if not get_settings(account_id, site_id).auto_publish_enabled:
        return False
    try:
        return bool(find_integration(account_id, site_id).is_active)
    except NotFound:
        return False


def on_content_approved(content: Content) -> None:
    """Best effort: give newly approved content a slot right away (the tick catches what this misses)."""
    try:
        if auto_publishes(content.account_id, content.site_id):
            take_next_slot(content)
    except Exception as exc:  # noqa: BLE001 - approving must not fail because slotting did
        logger.warning("auto scheduling failed", extra={"content_id": content.content_id, "error": str(exc)[:300]})
