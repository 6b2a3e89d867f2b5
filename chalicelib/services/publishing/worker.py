"""The publish queue and its worker: exactly-once publishes to WordPress.

A publish is claimed first (``scheduled -> publishing`` with a lease and an attempt id, and a
PublishingRecord written before any request), in a transaction that also checks the account,
the site and the sector may publish. What goes to WordPress is ``publishing.post``'s. A
publish that cannot succeed leaves the content ``failed`` with the reason; it can be retried
(it keeps its slot and counters).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.expressions.condition import Condition

from chalicelib import messages, registry
from chalicelib.errors import ApiError
from chalicelib.ids import new_id
from chalicelib.messages import PublishItem
from chalicelib.models.accounts import Account, Sector, Site
from chalicelib.models.conditions import conditional
from chalicelib.models.publisher import PublishingRecord
from chalicelib.models.site_records import join_key
from chalicelib.models.transactions import ConditionsFailed, Transaction
from chalicelib.models.writer import DUE_SHARDS, Content
from chalicelib.observability import logger, metric
from chalicelib.services import account_events, event_names
from chalicelib.services.activity import Gates
from chalicelib.services.linker import maintenance as link_maintenance
from chalicelib.services.publishing import post
from chalicelib.services.publishing.republish import republish
from chalicelib.services.publishing.reservations import set_claim_state
from chalicelib.services.state_machines import state_condition, transition_ops
from chalicelib.services.writer import find_content, get_content
from chalicelib.timeutil import utcnow

PUBLISH_LEASE = timedelta(minutes=10)
HELD = "held"
WORKER_DIED = "worker_died"
_OPEN = frozenset({"account", "site", "sector"})


class PublishRetryable(Exception):
    """A transient failure (WordPress down, rate limited): SQS delivers the message again."""


class PublishInProgress(Exception):
    """Another worker holds the publish with a live lease: deliver the dead letter again later."""


# --- the queue ---------------------------------------------------------------------------------

def _queue() -> registry.QueueDef:
    return registry.queue("publish_content")


def enqueue_publish(account_id: str, site_id: str, content_id: str) -> None:
    messages.send(_queue(), [PublishItem(account_id=account_id, site_id=site_id, content_id=content_id)])


def enqueue_due(now: datetime | None = None, *, per_shard: int = 500) -> int:
    """Queue a publish for every item that is due, across all sites: scheduled ones whose time
    has come, and ones whose publishing worker died (lease expired)."""
    now = now or utcnow()
    due: list[PublishItem] = []
    gates = Gates()
    for shard in range(DUE_SHARDS):
        for item in Content.due.query(f"due#{shard}", Content.scheduled_publish_at <= now, limit=per_shard):
            if item.site_status == "publishing" and item.publish_lease_until and item.publish_lease_until > now:
                continue  # a worker is on it
            if not gates.sector(item.account_id, item.site_id, item.sector_id).open:
                continue  # deactivated: it waits (due again when active); being deleted: it goes
            due.append(PublishItem(account_id=item.account_id, site_id=item.site_id, content_id=item.content_id))
    return messages.send(_queue(), due)


# --- the worker --------------------------------------------------------------------------------

def _outcome(name: str) -> None:
    metric("PublishOutcome", 1, "Count", outcome=name)


def process_publish(message: PublishItem, *, receive_count: int, max_receives: int) -> str:
    """Publish one content item. Returns the outcome; raises PublishRetryable to be delivered again.

    Outcomes: created / updated / recovered (published), failed, missing, duplicate (already
    published), not_scheduled, not_due, in_progress (another worker holds the lease), superseded.
    Anything unexpected propagates and leaves the lease: like a crash, the retry that comes
    after the lease expired takes over and finds the post if there is one.
    """
    from chalicelib.integrations.wordpress.errors import (
        WPAuthError,
        WPError,
        WPNotFound,
        WPNotWordPress,
        WPRestDisabled,
    )

    account_id, site_id, content_id = message.account_id, message.site_id, message.content_id
    content = find_content(account_id, site_id, content_id, with_body=True)
    if content is None:
        return "missing"
    gate = Gates().sector(account_id, site_id, content.sector_id)
    if not gate.open:
        # Deactivated: left as it is, not failed (the tick queues it again once active);
        # being deleted: dropped, the deletion removes it.
        return "site_gone" if gate.gone else "held"
    now = utcnow()
    if content.site_status == "published":
        _relink(content)  # a delivery after a crash past the publish: the links into it may wait for it
        return "duplicate"
    if content.site_status not in ("scheduled", "publishing"):
        return "not_scheduled"
    if content.site_status == "scheduled" and content.scheduled_publish_at and content.scheduled_publish_at > now:
        return "not_due"
    if content.site_status == "publishing" and content.publish_lease_until and content.publish_lease_until > now:
        return "in_progress"
    attempt_id = _claim_publish(content, now)
    if attempt_id is None:
        return "in_progress"
    if attempt_id == HELD:
        return "held"
    record = PublishingRecord(join_key(account_id, content_id), attempt_id, account_id=account_id, site_id=site_id,
                              content_id=content_id)
    record.save()
    try:
        published, action = post.publish_to_wordpress(content)
    except post.PublishHeld as exc:
        _give_back(content, attempt_id, str(exc), record, error=False)
        return "held"
    except (WPError, ApiError) as exc:
        reason = _reason(exc)
        if isinstance(exc, WPError) and exc.retryable and receive_count < max_receives:
            _give_back(content, attempt_id, reason, record)
            _outcome("rescheduled")
            raise PublishRetryable(reason) from exc
        if not _fail(content, attempt_id, reason, record):
            return "superseded"
        _outcome("failed")
        # The site's WordPress refuses us (credentials, a stripped Authorization header, no REST API):
        # every publish will fail until someone mends the connection, so that is what people hear.
        broken = isinstance(exc, WPAuthError | WPRestDisabled | WPNotWordPress | WPNotFound)
        account_events.emit(account_id, event_names.INTEGRATION_BROKEN if broken else event_names.PUBLISH_FAILED,
                            {"content_id": content_id, "title": content.title, "reason": reason,
                             "error_code": getattr(exc, "code", None)}, key=f"{content_id}:{attempt_id}",
                            site_id=site_id)
        return "failed"
    if not _succeed(content, attempt_id, published, action, record):
        return "superseded"
    _outcome("published")
    account_events.emit(account_id, event_names.CONTENT_PUBLISHED,
                        {"content_id": content_id, "title": content.title, "url": published.link,
                         "post_id": str(published.id), "action": action}, key=f"{content_id}:{attempt_id}",
                        site_id=site_id)
    _relink(content)
    return action


def _relink(content: Content) -> None:
    """Links into the article now point to its permalink; the articles on WordPress holding them are updated
    there (once: a link already pointing to it changes nothing)."""
    republish(link_maintenance.target_published(content))


def _reason(exc: Exception) -> str:
    if isinstance(exc, ApiError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def _held(attempt_id: str) -> Condition:
    return (Content.site_status == "publishing") & (Content.publish_attempt_id == attempt_id)


def _claim_publish(content: Content, now: datetime) -> str | None:
    """scheduled -> publishing (or take over an expired lease). None: someone else has it;
    ``HELD``: the account, site or sector may not publish now.

    The checks that the account, the site and the content's sector may publish are in the
    claim's transaction, so no publish starts once a deletion or a deactivation is written.
    """
    attempt_id = new_id()
    lease = [Content.publish_lease_until.set(now + PUBLISH_LEASE), Content.publish_attempt_id.set(attempt_id)]
    previous = content.publish_attempt_id if content.site_status == "publishing" else None
    if content.site_status == "publishing":
        actions = lease
        condition = state_condition(content) & (Content.publish_lease_until.does_not_exist()
                                                | (Content.publish_lease_until <= now))
        if previous:
            condition = condition & (Content.publish_attempt_id == previous)
    else:
        actions, condition = transition_ops(content, {"site_status": "publishing"},
                                            extra_actions=[*lease, Content.site_status_updated_at.set(now)])
    tx = Transaction("claim a publish")
    tx.check(Account, content.account_id, condition=Account.is_active == True, label="account")  # noqa: E712
    tx.check(Site, content.account_id, content.site_id,
             condition=(Site.is_active == True) & Site.deleting_since.does_not_exist(),  # noqa: E712
             label="site")
    tx.check(Sector, content.site_key, content.sector_id,
             condition=(Sector.is_active == True) & Sector.deleting_since.does_not_exist(),  # noqa: E712
             label="sector")
    tx.update(content, actions, condition=condition, label="content")
    try:
        tx.commit()
    except ConditionsFailed as exc:
        return HELD if exc.labels & _OPEN else None
    if previous:
        _close_record(content, previous, "failed", "The worker stopped before it finished (its lease expired); "
                                                   "the next attempt took over.")
    return attempt_id


def _close_record(content: Content, attempt_id: str, status: str, error: str) -> None:
    with conditional():
        PublishingRecord(join_key(content.account_id, content.content_id), attempt_id).update(
            actions=[PublishingRecord.status.set(status), PublishingRecord.error.set(error[:1000])],
            condition=PublishingRecord.status == "pending")


def _succeed(content: Content, attempt_id: str, published: Any, action: str, record: PublishingRecord) -> bool:
    now = utcnow()
    changes = {"site_status": "published"}
    if content.status == "approved":
        changes["status"] = "published"
    post_id, link = str(published.id), published.link
    extra = [Content.external_id.set(post_id), Content.external_url.set(link),
             Content.site_status_updated_at.set(now), Content.publish_lease_until.remove(),
             Content.publish_error.remove()]
    if published.modified_gmt is not None:
        # our own change comes back as an "updated" webhook: this makes it recognisably stale
        extra.append(Content.external_modified_at.set(published.modified_gmt))
    actions, _ = transition_ops(content, changes, check=False, extra_actions=extra)
    with conditional() as write:
        content.update(actions=actions, condition=_held(attempt_id))
    if not write.held:
        _close_record(content, attempt_id, "failed", "Another attempt took over before this one finished.")
        return False
    record.update(actions=[PublishingRecord.status.set("published"), PublishingRecord.external_id.set(post_id),
                           PublishingRecord.external_url.set(link), PublishingRecord.action.set(action),
                           PublishingRecord.published_at.set(now)])
    set_claim_state(content, "published")
    logger.info("published", extra={"content_id": content.content_id, "action": action, "post_id": published.id})
    return True


def _give_back(content: Content, attempt_id: str, reason: str, record: PublishingRecord, *,
               error: bool = True) -> None:
    """A transient failure (or a hold): back to scheduled (due now) so a later delivery can claim it."""
    note = Content.publish_error.set(reason[:1000]) if error else Content.publish_error.remove()
    actions, _ = transition_ops(content, {"site_status": "scheduled"}, check=False, extra_actions=[
        Content.publish_lease_until.remove(), note])
    with conditional():
        content.update(actions=actions, condition=_held(attempt_id))
    status, text = ("failed", f"will retry: {reason}") if error else ("held", reason)
    record.update(actions=[PublishingRecord.status.set(status), PublishingRecord.error.set(text[:1000])])


def _fail(content: Content, attempt_id: str, reason: str, record: PublishingRecord) -> bool:
    actions, _ = transition_ops(content, {"site_status": "failed"}, check=False, extra_actions=[
        Content.publish_lease_until.remove(), Content.publish_error.set(reason[:1000]),
        Content.site_status_updated_at.set(utcnow())])
    with conditional() as write:
        content.update(actions=actions, condition=_held(attempt_id))
    if not write.held:
        _close_record(content, attempt_id, "failed", "Another attempt took over before this one finished.")
        return False
    record.update(actions=[PublishingRecord.status.set("failed"), PublishingRecord.error.set(reason[:1000])])
    set_claim_state(content, "failed")
    logger.warning("publish failed", extra={"content_id": content.content_id, "reason": reason[:300]})
    return True


def fail_dead_letter(message: PublishItem, *, deliveries: int) -> str:
    """Account for a dead letter of the publish queue: its worker died on every delivery.

    Content left ``publishing`` with an expired lease is failed with its reason (``worker_died:
    ...``), keeps its slot, and comes back through POST .../publish/retry. Content in any other
    state needs nothing (scheduled content is queued again by the tick when due); content
    another worker holds raises PublishInProgress. Safe to run twice.
    """
    account_id, site_id, content_id = message.account_id, message.site_id, message.content_id
    content = find_content(account_id, site_id, content_id)
    if content is None:
        return "missing"
    if content.site_status != "publishing":
        return "not_publishing"
    now = utcnow()
    if content.publish_lease_until is not None and content.publish_lease_until > now:
        raise PublishInProgress(f"content {content_id} is held by a publishing worker")
    attempt_id = content.publish_attempt_id
    reason = (f"{WORKER_DIED}: the publishing worker stopped on each of its {deliveries} deliveries (it timed out "
              f"or crashed) before it recorded an outcome. Check WordPress for a post, then retry: "
              f"POST /v1/sites/{site_id}/content/{content_id}/publish/retry.")
    actions, _ = transition_ops(content, {"site_status": "failed"}, check=False, extra_actions=[
        Content.publish_lease_until.remove(), Content.publish_error.set(reason),
        Content.site_status_updated_at.set(now)])
    if attempt_id:
        held = _held(attempt_id)
    else:
        held = (Content.site_status == "publishing") & Content.publish_attempt_id.does_not_exist()
    expired = Content.publish_lease_until.does_not_exist() | (Content.publish_lease_until <= now)
    with conditional() as write:
        content.update(actions=actions, condition=held & expired)
    if not write.held:
        content.refresh(consistent_read=True)
        if content.site_status == "publishing":
            raise PublishInProgress(f"content {content_id} was claimed again meanwhile")
        return "not_publishing"
    if attempt_id:
        _close_record(content, attempt_id, "failed", reason)
    set_claim_state(content, "failed")
    logger.warning("dead letter: publish failed", extra={"content_id": content_id})
    return "failed"


def attempts(account_id: str, site_id: str, content_id: str) -> list[PublishingRecord]:
    """The content's publish attempts, newest first (up to 100)."""
    get_content(account_id, site_id, content_id)  # 404 unless it is this site's content
    return list(PublishingRecord.query(join_key(account_id, content_id), scan_index_forward=False, limit=100))
