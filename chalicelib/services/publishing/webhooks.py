"""Webhooks from WordPress: the companion plugin tells us a post was published, updated, trashed or deleted.

A webhook names only its site: ``WebhookRoute`` maps the site id to its account and signing
secret. It is verified on the raw body before anything is parsed; then the content's
publishing state mirrors the post's.
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import Unauthorized
from chalicelib.models.conditions import conditional
from chalicelib.models.publisher import WebhookNonce, WebhookRoute
from chalicelib.models.writer import Content
from chalicelib.observability import logger
from chalicelib.services import secrets
from chalicelib.services.activity import Gates
from chalicelib.services.linker import maintenance as link_maintenance
from chalicelib.services.publishing.integration import secret_context
from chalicelib.services.publishing.republish import republish
from chalicelib.services.state_machines import transition_ops
from chalicelib.services.writer import find_content
from chalicelib.timeutil import utcnow


class _NonceGuard:
    """ReplayGuard on DynamoDB: a conditional put per nonce, kept (TTL) past the tolerance window."""

    def claim(self, site_id: str, nonce: str, expires_at: Any) -> bool:
        expires = int(expires_at.timestamp() if hasattr(expires_at, "timestamp") else expires_at)
        with conditional() as write:
            WebhookNonce(f"wordpress#{site_id}", nonce, expires_epoch=expires).save(
                condition=WebhookNonce.nonce.does_not_exist())
        return write.held


def handle_wordpress_webhook(site_id: str, raw_body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """Verify a companion-plugin webhook (raw body, before parsing), then mirror the post's state.

    Any verification failure is the same 401, so a caller learns nothing about which check failed.
    """
    from chalicelib.integrations.wordpress.webhooks import WebhookVerificationError, verify_webhook

    rejected = Unauthorized("The webhook signature is missing, invalid or stale.", code="invalid_signature",
                            headers={})
    try:
        route = WebhookRoute.get(site_id)
    except WebhookRoute.DoesNotExist:
        raise rejected from None
    if Gates().site(route.account_id, site_id).gone:
        raise rejected  # the site is being deleted: nothing of it is written any more (not even a nonce)
    secret = secrets.decrypt(route.secret_enc, secret_context(route.account_id, site_id))
    try:
        event = verify_webhook(raw_body, headers, secret=secret, site_id=site_id, replay_guard=_NonceGuard())
    except WebhookVerificationError as exc:
        logger.info("wordpress webhook rejected", extra={"reason": exc.reason, "site_id": site_id})
        raise rejected from None
    if event.event == "ping":
        return {"handled": True, "event": "ping"}
    content = find_content(route.account_id, site_id, event.content_id)
    if content is None:
        return {"handled": False, "event": event.event, "reason": "unknown content"}
    result = {"event": event.event, "content_id": content.content_id}
    if content.external_id and str(event.post_id) != str(content.external_id):
        return {**result, "handled": False, "reason": "another post"}
    seen = content.external_modified_at
    if event.event == "updated" and event.modified_gmt and seen and event.modified_gmt <= seen:
        return {**result, "handled": False, "reason": "stale"}
    if content.site_status in ("publishing", "scheduled"):
        return {**result, "handled": False, "reason": f"content is {content.site_status}"}
    changes: dict[str, Any] = {}
    extra = [Content.site_status_updated_at.set(utcnow())]
    if event.modified_gmt:
        extra.append(Content.external_modified_at.set(event.modified_gmt))
    if event.event in ("trashed", "deleted") or event.status not in ("publish", "future", ""):
        changes = {"site_status": "not_published", "scheduled_publish_at": None}
        extra += [Content.publish_slot.remove(),
                  Content.publish_error.set(f"The post was {event.event} in WordPress (status {event.status}).")]
        if event.event == "deleted":
            extra += [Content.external_id.remove(), Content.external_url.remove()]
    elif event.status == "publish":
        changes = {"site_status": "published"}
        if event.link:
            extra.append(Content.external_url.set(event.link))
        extra.append(Content.external_id.set(str(event.post_id)))
    if not changes:
        return {**result, "handled": False, "reason": f"status {event.status}"}
    actions, condition = transition_ops(content, changes, check=False, extra_actions=extra)
    with conditional() as write:
        content.update(actions=actions, condition=condition)
    if not write.held:
        return {**result, "handled": False, "reason": "content changed meanwhile"}
    # Links into it follow: to its permalink when it is published, unwrapped when it is not.
    if changes["site_status"] == "published":
        republish(link_maintenance.target_published(content))
    else:
        republish(link_maintenance.target_gone(content.site_key, content.content_id, "unpublished", forget=False))
    return {**result, "handled": True, "site_status": changes["site_status"]}
