"""Publishing: time slots inside the site's limits, and exactly-once publishes to WordPress.

Scheduling. Approved content gets the next free slot (publish days x time slots, in the
site's time zone) that the daily, weekly and monthly limits allow. A reservation is one
transaction: the slot's claim (one article per slot), +1 on the day, week and month
counters (each conditional on ``count < limit``) and the content's move to ``scheduled``
(conditional on it being approved and unscheduled). No race between schedulers, ticks or
manual publishes can pass a limit or fill a slot twice.

Publishing. A publish is claimed first (``scheduled -> publishing`` with a lease, and a
PublishingRecord written before any request). The WordPress post id is stored as soon as
WordPress returns it. A retry -- after any failure, including a crash between WordPress's
answer and our write -- first looks for the post it may have made (the companion plugin's
content-id meta, or the hidden marker in the post body) and updates it instead of
creating another. A publish that cannot succeed leaves the content ``failed`` with the
reason; it can be retried.
"""

from __future__ import annotations

import json
import secrets as pysecrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib import aws, config, registry
from chalicelib.api.errors import ApiError, Conflict, NotFound, UnprocessableEntity
from chalicelib.ids import new_id
from chalicelib.models.accounts import Site, site_key
from chalicelib.models.base import failed_positions, is_condition_failure
from chalicelib.models.publisher import (
    PublishCounter,
    PublishingRecord,
    PublishingSettings,
    SiteIntegration,
    SlotClaim,
    WebhookNonce,
    WebhookRoute,
)
from chalicelib.models.site_records import join_key
from chalicelib.models.transactions import transact_write
from chalicelib.models.writer import Content, ContentImage
from chalicelib.observability import logger
from chalicelib.services import slots as slotlib
from chalicelib.services.sites import get_site
from chalicelib.services.state_machines import transition_ops
from chalicelib.timeutil import utcnow

LEAD_TIME = timedelta(minutes=2)  # never schedule into the next two minutes
PUBLISH_LEASE = timedelta(minutes=10)
COUNTER_TTL_DAYS = 400


# --- settings ----------------------------------------------------------------------------

def get_settings(account_id: str, site_id: str) -> PublishingSettings:
    try:
        return PublishingSettings.get(account_id, site_id)
    except PublishingSettings.DoesNotExist:
        return PublishingSettings(account_id, site_id)


def update_settings(account_id: str, site_id: str, changes: dict[str, Any]) -> tuple[PublishingSettings, dict]:
    """Save new settings, then re-plan everything scheduled and not yet published."""
    get_site(account_id, site_id)
    settings = get_settings(account_id, site_id)
    for name, value in changes.items():
        setattr(settings, name, value)
    settings.save()
    replanned = replan_site(account_id, site_id)
    return settings, replanned


# --- counters and slots ------------------------------------------------------------------

def _limits(settings: PublishingSettings) -> dict[str, int]:
    return {"d": int(settings.daily_publish_limit), "w": int(settings.weekly_publish_limit),
            "m": int(settings.monthly_publish_limit)}


def _counter_update(tx: Any, skey: str, period: str, limit: int, delta: int) -> None:
    counter = PublishCounter(skey, period)
    expires = int((utcnow() + timedelta(days=COUNTER_TTL_DAYS)).timestamp())
    if delta > 0:
        tx.update(counter, actions=[PublishCounter.count.add(delta), PublishCounter.expires_epoch.set(expires)],
                  condition=PublishCounter.count.does_not_exist() | (PublishCounter.count < limit))
    else:
        tx.update(counter, actions=[PublishCounter.count.add(delta)], condition=PublishCounter.count >= -delta)


def counts(skey: str, periods: list[str]) -> dict[str, int]:
    out = dict.fromkeys(periods, 0)
    for counter in PublishCounter.batch_get([(skey, p) for p in periods]):
        out[counter.period] = int(counter.count or 0)
    return out


@dataclass
class Reservation:
    slot: str
    at: datetime
    periods: list[str]


def _reserve(content: Content, settings: PublishingSettings, slot_key: str, at: datetime, periods: list[str],
             *, manual: bool, extra_condition: Any = None) -> str:
    """One transaction: claim the slot, count it in all three periods, schedule the content.

    Returns "ok", "slot_taken", "d", "w" or "m" (that period is full) or "content_changed".
    """
    limits = _limits(settings)
    skey = content.site_key
    actions, condition = transition_ops(
        content, {"site_status": "scheduled", "scheduled_publish_at": at},
        extra_actions=[Content.site_status_updated_at.set(utcnow())])
    condition = condition & (Content.status == "approved")
    if extra_condition is not None:
        condition = condition & extra_condition
    try:
        with transact_write() as tx:
            tx.save(SlotClaim(skey, slot_key, content_id=content.content_id, title=content.title[:200],
                              periods=periods, manual=manual),
                    condition=SlotClaim.slot.does_not_exist())
            for period in periods:  # d, w, m in that order
                _counter_update(tx, skey, period, limits[period[0]], +1)
            tx.update(content, actions=actions, condition=condition)
    except TransactWriteError as exc:
        failed = failed_positions(exc)
        if not failed:
            raise
        # puts first: [slot claim], then updates: [day, week, month, content]
        if 4 in failed:
            return "content_changed"
        if 0 in failed:
            return "slot_taken"
        for index, kind in ((1, "d"), (2, "w"), (3, "m")):
            if index in failed:
                return kind
        raise
    return "ok"


def schedule_content(account_id: str, site_id: str, content_id: str, *, not_before: datetime | None = None,
                     settings: PublishingSettings | None = None, site: Site | None = None) -> Content | None:
    """Give approved, unscheduled content the next free slot. None: no slot within the horizon."""
    from chalicelib.services.writer import get_content

    site = site or get_site(account_id, site_id)
    settings = settings or get_settings(account_id, site_id)
    content = get_content(account_id, site_id, content_id)
    if content.site_status != "not_published" or content.status != "approved":
        raise Conflict("Only approved content that is not scheduled can be given a slot.",
                       code="content_not_schedulable",
                       details={"status": content.status, "site_status": content.site_status})
    if min(_limits(settings).values()) <= 0:
        return None
    tz = ZoneInfo(site.time_zone)
    after = max(utcnow() + LEAD_TIME, not_before or utcnow())
    full: set[str] = set()
    while True:
        progressed = False
        for slot in slotlib.iter_slots(after=after, time_zone=site.time_zone,
                                       publish_days=list(settings.publish_days),
                                       time_slots=list(settings.publish_time_slots)):
            periods = list(slot.periods)
            blocked = next((p for p in periods if p in full), None)
            if blocked:
                # Jump past the whole full period instead of trying each of its slots.
                after = slotlib.next_period_start(blocked, tz).astimezone(UTC) - timedelta(microseconds=1)
                progressed = True
                break
            outcome = _reserve(content, settings, slot.key, slot.at, periods, manual=False)
            if outcome == "ok":
                content.refresh()
                return content
            if outcome == "content_changed":
                raise Conflict("The content changed while it was being scheduled; try again.",
                               code="concurrent_change")
            if outcome in ("d", "w", "m"):
                full.add(next(p for p in periods if p[0] == outcome))
        if not progressed:
            return None


def release(content: Content) -> None:
    """Unschedule: free the slot and the three counters, back to not_published."""
    if content.site_status not in ("scheduled", "failed") or content.scheduled_publish_at is None:
        raise Conflict("Only scheduled (or failed) content can be unscheduled.", code="content_not_scheduled",
                       details={"site_status": content.site_status})
    claim = _claim_of(content)
    actions, condition = transition_ops(content, {"site_status": "not_published", "scheduled_publish_at": None},
                                        extra_actions=[Content.site_status_updated_at.set(utcnow())])
    with transact_write() as tx:
        if claim is not None:
            tx.delete(claim, condition=SlotClaim.content_id == content.content_id)
            for period in claim.periods:
                _counter_update(tx, content.site_key, period, 0, -1)
        tx.update(content, actions=actions, condition=condition)


def _claim_of(content: Content) -> SlotClaim | None:
    if content.scheduled_publish_at is None:
        return None
    at = content.scheduled_publish_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for key in (at, f"{at}#manual#{content.content_id}"):
        try:
            claim = SlotClaim.get(content.site_key, key)
        except SlotClaim.DoesNotExist:
            continue
        if claim.content_id == content.content_id:
            return claim
    return None


def unschedule(account_id: str, site_id: str, content_id: str) -> Content:
    from chalicelib.services.writer import get_content

    content = get_content(account_id, site_id, content_id)
    release(content)
    content.refresh()
    return content


def publish_now(account_id: str, site_id: str, content_id: str) -> Content:
    """Publish at once, outside the time slots but inside today's, this week's and this month's limits."""
    from chalicelib.services.writer import get_content

    site = get_site(account_id, site_id)
    settings = get_settings(account_id, site_id)
    content = get_content(account_id, site_id, content_id)
    if content.site_status == "scheduled":
        release(content)
        content.refresh()
    if content.site_status == "failed":
        return retry_publish(account_id, site_id, content_id)
    if content.status != "approved" or content.site_status != "not_published":
        raise Conflict("Only approved content that is not published can be published now.",
                       code="content_not_publishable",
                       details={"status": content.status, "site_status": content.site_status})
    now = utcnow()
    periods = list(slotlib.periods_of(now.astimezone(ZoneInfo(site.time_zone)).date()))
    slot_key = f"{now.strftime('%Y-%m-%dT%H:%M:%SZ')}#manual#{content_id}"
    outcome = _reserve(content, settings, slot_key, now.replace(microsecond=0), periods, manual=True)
    if outcome in ("d", "w", "m"):
        name = {"d": "daily", "w": "weekly", "m": "monthly"}[outcome]
        raise Conflict(f"The site's {name} publishing limit is reached; schedule it instead or raise the limit.",
                       code="publish_limit_reached", details={"limit": name})
    if outcome != "ok":
        raise Conflict("The content changed while it was being published; try again.", code="concurrent_change")
    content.refresh()
    enqueue_publish(account_id, site_id, content_id)
    return content


def schedule_ready(account_id: str, site_id: str, *, limit: int = 100) -> dict[str, int]:
    """Slot the site's approved, unscheduled content, oldest first."""
    site = get_site(account_id, site_id)
    settings = get_settings(account_id, site_id)
    if not settings.auto_publish_enabled:
        return {"scheduled": 0, "unslotted": 0}
    scheduled = unslotted = 0
    for summary in Content.ready_to_schedule.query(site_key(account_id, site_id), limit=limit):
        try:
            if schedule_content(account_id, site_id, summary.content_id, settings=settings, site=site):
                scheduled += 1
            else:
                unslotted += 1
                break  # no slot for this one means none for the rest either
        except Conflict:
            continue
    return {"scheduled": scheduled, "unslotted": unslotted}


def replan_site(account_id: str, site_id: str) -> dict[str, int]:
    """After a settings change: release what is scheduled (not yet publishing), then slot it again."""
    from chalicelib.services.writer import get_content

    released = []
    for summary in Content.by_site_status.query(join_key(site_key(account_id, site_id), "scheduled")):
        content = get_content(account_id, site_id, summary.content_id)
        try:
            release(content)
            released.append((content.scheduled_publish_at, content.content_id))
        except (Conflict, TransactWriteError):
            continue  # it started publishing meanwhile: leave it
    rescheduled = 0
    settings = get_settings(account_id, site_id)
    site = get_site(account_id, site_id)
    for _, content_id in sorted(released, key=lambda pair: (pair[0] or datetime.min.replace(tzinfo=UTC), pair[1])):
        if settings.auto_publish_enabled and schedule_content(account_id, site_id, content_id,
                                                              settings=settings, site=site):
            rescheduled += 1
    return {"released": len(released), "rescheduled": rescheduled}


def calendar(account_id: str, site_id: str, start: datetime, end: datetime) -> dict[str, Any]:
    site = get_site(account_id, site_id)
    settings = get_settings(account_id, site_id)
    skey = site_key(account_id, site_id)
    claims = list(SlotClaim.query(skey, SlotClaim.slot.between(
        start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ~"))))
    by_slot = {c.slot[:20]: c for c in claims if not c.manual}
    slots_out = []
    for slot in slotlib.slots_between(start, end, time_zone=site.time_zone, publish_days=list(settings.publish_days),
                                      time_slots=list(settings.publish_time_slots)):
        claim = by_slot.get(slot.key)
        slots_out.append({"at": slot.at, "local_time": slot.local.isoformat(),
                          "content_id": claim.content_id if claim else None,
                          "title": claim.title if claim else None, "state": claim.state if claim else "free"})
    extra = [{"at": datetime.fromisoformat(c.slot[:20].replace("Z", "+00:00")), "content_id": c.content_id,
              "title": c.title, "state": c.state} for c in claims if c.manual]
    days = sorted({slot.local.date() for slot in slotlib.slots_between(
        start, end, time_zone=site.time_zone, publish_days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        time_slots=["00:00"])})
    periods = sorted({p for d in days for p in slotlib.periods_of(d)})
    used = counts(skey, periods) if periods else {}
    limits = _limits(settings)
    return {"time_zone": site.time_zone, "slots": slots_out, "manual": extra,
            "usage": [{"period": p, "used": used.get(p, 0), "limit": limits[p[0]]} for p in periods]}


# --- the publish worker ------------------------------------------------------------------

def enqueue_publish(account_id: str, site_id: str, content_id: str) -> None:
    body = {"account_id": account_id, "site_id": site_id, "content_id": content_id}
    aws.client("sqs").send_message(QueueUrl=aws.queue_url(registry.queue("publish_content").name),
                                   MessageBody=json.dumps(body))


def enqueue_due(now: datetime | None = None, *, limit: int = 500) -> int:
    """Send a publish message for every scheduled item that is due, across all sites."""
    from chalicelib.models.writer import DUE_SHARDS

    now = now or utcnow()
    sent = 0
    for shard in range(DUE_SHARDS):
        for summary in Content.due.query(f"due#{shard}", Content.scheduled_publish_at <= now, limit=limit):
            enqueue_publish(summary.account_id, summary.site_id, summary.content_id)
            sent += 1
    return sent


class PublishRetryable(Exception):
    """A transient failure (WordPress down, rate limited): SQS delivers the message again."""


def _integration(account_id: str, site_id: str) -> SiteIntegration:
    try:
        return SiteIntegration.get(site_key(account_id, site_id), "wordpress")
    except SiteIntegration.DoesNotExist:
        raise NotFound("WordPress connection") from None


def wordpress_client(integration: SiteIntegration) -> Any:
    from chalicelib.integrations.wordpress import WordPressClient
    from chalicelib.services import secrets

    password = secrets.decrypt(integration.app_password_enc, _secret_context(integration.account_id,
                                                                             integration.site_id))
    return WordPressClient(integration.external_site_url, integration.username, password)


def _secret_context(account_id: str, site_id: str) -> dict[str, str]:
    return {"account_id": account_id, "site_id": site_id, "purpose": "wordpress"}


def process_publish(message: dict[str, str], *, receive_count: int, max_receives: int) -> str:
    """Publish one content item. Returns the outcome; raises PublishRetryable to be delivered again."""
    from chalicelib.integrations.wordpress import WPError
    from chalicelib.services.writer import get_content

    account_id, site_id, content_id = message["account_id"], message["site_id"], message["content_id"]
    try:
        content = get_content(account_id, site_id, content_id, with_body=True)
    except NotFound:
        return "missing"
    now = utcnow()
    if content.site_status == "published":
        return "duplicate"
    if content.site_status not in ("scheduled", "publishing"):
        return "not_scheduled"
    if content.site_status == "scheduled" and content.scheduled_publish_at and content.scheduled_publish_at > now:
        return "not_due"
    attempt_id = _claim_publish(content, now)
    record = PublishingRecord(join_key(account_id, content_id), attempt_id, account_id=account_id, site_id=site_id,
                              content_id=content_id)
    record.save()
    try:
        post, action = _publish_to_wordpress(content)
    except (WPError, ApiError, PublishRetryable) as exc:
        retryable = getattr(exc, "retryable", False) or isinstance(exc, PublishRetryable)
        reason = getattr(exc, "message", None) or str(exc)
        if retryable and receive_count < max_receives:
            _give_back(content, reason)
            record.update(actions=[PublishingRecord.status.set("failed"),
                                   PublishingRecord.error.set(f"will retry: {reason}"[:1000])])
            raise PublishRetryable(reason) from exc
        _fail(content, reason, record)
        return "failed"
    _succeed(content, post, action, record)
    return action


def _claim_publish(content: Content, now: datetime) -> str:
    attempt_id = new_id()
    lease_ok = (Content.site_status == "publishing") & (
        Content.publish_lease_until.does_not_exist() | (Content.publish_lease_until < now))
    if content.site_status == "publishing":
        actions = [Content.publish_lease_until.set(now + PUBLISH_LEASE), Content.publish_attempt_id.set(attempt_id)]
        condition = lease_ok
    else:
        actions, condition = transition_ops(
            content, {"site_status": "publishing"},
            extra_actions=[Content.publish_lease_until.set(now + PUBLISH_LEASE),
                           Content.publish_attempt_id.set(attempt_id), Content.site_status_updated_at.set(now)])
    try:
        content.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if is_condition_failure(exc):
            raise PublishRetryable("another worker is publishing this content") from None
        raise
    return attempt_id


def _publish_to_wordpress(content: Content) -> tuple[Any, str]:
    integration = _integration(content.account_id, content.site_id)
    if not integration.is_active:
        raise UnprocessableEntity("The site's WordPress connection is switched off.", code="integration_inactive")
    with wordpress_client(integration) as wp:
        images = list(ContentImage.by_content.query(join_key(content.site_key, content.content_id)))
        featured_id, inline = _upload_images(wp, content, images)
        body = _body_with_images(content.body_html, inline)
        terms = _terms(wp, content)
        seo = {"seo_title": content.meta_title or None, "seo_description": content.meta_description or None}
        fields = dict(title=content.title, content=body, excerpt=content.excerpt or None, status="publish",
                      date_gmt=content.scheduled_publish_at or utcnow(), categories=terms.categories,
                      tags=terms.tags, featured_media=featured_id, **seo)
        post_id = content.external_id
        action = "updated"
        if not post_id:
            found = wp.find_post_by_content_id(content.content_id, include_trash=True)
            if found is not None:
                post_id, action = str(found.id), "recovered"
                _remember_post(content, post_id)
        if post_id:
            post = wp.update_post(int(post_id), content_id=content.content_id, **fields)
        else:
            post = wp.create_post(content_id=content.content_id, **fields)
            action = "created"
            _remember_post(content, str(post.id))
        return post, action


def _remember_post(content: Content, post_id: str) -> None:
    """Store the post id the moment it exists, so no retry can create a second post."""
    content.update(actions=[Content.external_id.set(post_id)],
                   condition=Content.external_id.does_not_exist() | (Content.external_id == post_id))
    content.external_id = post_id


def _upload_images(wp: Any, content: Content,
                   images: list[ContentImage]) -> tuple[int | None, list[tuple[int, str, str]]]:
    from chalicelib.services import media

    featured: int | None = None
    inline: list[tuple[int, str, str]] = []
    for image in images:
        if image.status != "generated" or not image.storage_key:
            continue
        if not image.external_media_id:
            data, mime = media.read(image.storage_key)
            uploaded = wp.upload_media(data, f"{content.content_id}-{image.position}.png", mime,
                                       alt_text=image.alt_text or None, caption=image.caption or None)
            image.update(actions=[ContentImage.external_media_id.set(str(uploaded.id)),
                                  ContentImage.external_media_url.set(uploaded.url)])
        if image.is_featured:
            featured = int(image.external_media_id)
        else:
            inline.append((int(image.position), image.external_media_url or "", image.alt_text or ""))
    return featured, sorted(inline)


def _body_with_images(body: str, inline: list[tuple[int, str, str]]) -> str:
    """Put in-article images after the n-th section heading (position n), or at the end."""
    from html import escape

    if not inline:
        return body
    parts = body.split("<h2")
    for position, url, alt in inline:
        figure = f'<figure class="wp-block-image"><img src="{escape(url)}" alt="{escape(alt)}"/></figure>'
        index = min(max(position, 1), len(parts) - 1) if len(parts) > 1 else 0
        if index == 0:
            parts[-1] += figure
        else:
            head, sep, rest = parts[index].partition("</h2>")
            parts[index] = head + sep + (figure if sep else "") + rest if sep else parts[index] + figure
    return "<h2".join(parts)


def _terms(wp: Any, content: Content) -> Any:
    from chalicelib.services.sites import get_sector

    categories: list[str] = []
    try:
        categories.append(get_sector(content.account_id, content.site_id, content.sector_id).name)
    except NotFound:
        pass
    tags = [k for k in (getattr(content, "keywords", None) or [])][:8]
    return wp.ensure_terms(categories=categories, tags=tags)


def _succeed(content: Content, post: Any, action: str, record: PublishingRecord) -> None:
    now = utcnow()
    changes = {"site_status": "published"}
    if content.status == "approved":
        changes["status"] = "published"
    actions, condition = transition_ops(content, changes, check=False, extra_actions=[
        Content.external_url.set(post.link), Content.site_status_updated_at.set(now),
        Content.publish_lease_until.remove(), Content.publish_error.remove()])
    content.update(actions=actions, condition=condition)
    record.update(actions=[PublishingRecord.status.set("published"), PublishingRecord.external_id.set(str(post.id)),
                           PublishingRecord.external_url.set(post.link), PublishingRecord.action.set(action),
                           PublishingRecord.published_at.set(now)])
    claim = _claim_of(content)
    if claim is not None:
        claim.update(actions=[SlotClaim.state.set("published")])
    logger.info("published", extra={"content_id": content.content_id, "action": action})


def _give_back(content: Content, reason: str) -> None:
    """A transient failure: back to scheduled (due now) so the next delivery can claim it."""
    actions, condition = transition_ops(content, {"site_status": "scheduled"}, check=False, extra_actions=[
        Content.publish_lease_until.remove(), Content.publish_error.set(reason[:1000])])
    try:
        content.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise


def _fail(content: Content, reason: str, record: PublishingRecord) -> None:
    actions, condition = transition_ops(content, {"site_status": "failed"}, check=False, extra_actions=[
        Content.publish_lease_until.remove(), Content.publish_error.set(reason[:1000]),
        Content.site_status_updated_at.set(utcnow())])
    try:
        content.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
    record.update(actions=[PublishingRecord.status.set("failed"), PublishingRecord.error.set(reason[:1000])])
    claim = _claim_of(content)
    if claim is not None:
        claim.update(actions=[SlotClaim.state.set("failed")])


def retry_publish(account_id: str, site_id: str, content_id: str) -> Content:
    """A failed publish goes again now; it keeps the slot (and the counters) it had."""
    from chalicelib.services.writer import get_content

    content = get_content(account_id, site_id, content_id)
    if content.site_status != "failed":
        raise Conflict("Only a failed publish can be retried.", code="illegal_transition",
                       details={"current_status": content.site_status, "allowed": ["failed"]})
    actions, condition = transition_ops(content, {"site_status": "scheduled"}, extra_actions=[
        Content.site_status_updated_at.set(utcnow())])
    try:
        content.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if is_condition_failure(exc):
            raise Conflict("The content changed meanwhile; reload it.", code="concurrent_change") from None
        raise
    enqueue_publish(account_id, site_id, content_id)
    content.refresh()
    return content


def attempts(account_id: str, content_id: str) -> list[PublishingRecord]:
    return list(PublishingRecord.query(join_key(account_id, content_id), scan_index_forward=False))


# --- connecting a site -------------------------------------------------------------------

WP_ERROR_CODES = {
    "WPBlockedURL": ("wordpress_url_not_allowed", "This address is not allowed (private or local network)."),
    "WPNotFound": ("wordpress_not_found", "No WordPress site answers at this URL; check the address."),
    "WPNotWordPress": ("wordpress_not_detected", "The site at this URL does not look like WordPress."),
    "WPRestDisabled": ("wordpress_rest_disabled", "The WordPress REST API is disabled on this site."),
    "WPAuthHeaderStripped": ("wordpress_auth_header_stripped",
                             "The web server strips the Authorization header before WordPress sees it."),
    "WPForbidden": ("wordpress_forbidden", "This WordPress user may not publish posts."),
    "WPAuthError": ("wordpress_auth_failed", "WordPress refused the username or application password."),
    "WPUnavailable": ("wordpress_unavailable", "The WordPress site did not answer in time; try again."),
}


def wp_api_error(exc: Exception) -> ApiError:
    for cls in type(exc).__mro__:
        if cls.__name__ in WP_ERROR_CODES:
            code, headline = WP_ERROR_CODES[cls.__name__]
            return UnprocessableEntity(f"{headline} {exc}".strip(), code=code)
    return UnprocessableEntity(f"WordPress answered with an error: {exc}", code="wordpress_error")


def connect_wordpress(account_id: str, site_id: str, *, url: str, username: str, app_password: str,
                      name: str = "") -> SiteIntegration:
    from chalicelib.integrations.wordpress import WordPressClient, WPError
    from chalicelib.services import secrets

    get_site(account_id, site_id)
    webhook_secret = pysecrets.token_urlsafe(32)
    try:
        with WordPressClient(url, username, app_password) as wp:
            info = wp.check_connection()
            if not info.can_publish:
                raise UnprocessableEntity("This WordPress user cannot publish posts; use an Editor or Administrator.",
                                          code="wordpress_forbidden")
            structure = wp.sync_structure()
            plugin_active = bool(getattr(info.companion, "active", False))
            if plugin_active and config.public_api_url():
                try:
                    wp.configure_companion(product_url=config.public_api_url(), site_id=site_id,
                                           secret=webhook_secret)
                except WPError as exc:  # the connection still works; webhooks will not
                    logger.warning("companion plugin not configured", extra={"error": str(exc)})
                    plugin_active = False
    except WPError as exc:
        raise wp_api_error(exc) from None
    context = _secret_context(account_id, site_id)
    integration = SiteIntegration(
        site_key(account_id, site_id), "wordpress", account_id=account_id, site_id=site_id, name=name or url,
        external_site_url=url, username=username, app_password_enc=secrets.encrypt(app_password, context),
        app_password_hint=secrets.hint(app_password), webhook_secret_enc=secrets.encrypt(webhook_secret, context),
        connection_status="connected", sync_status="completed", last_sync_at=utcnow(),
        structure_updated_at=utcnow(), plugin_active=plugin_active, **_structure_fields(structure))
    integration.save()
    WebhookRoute(site_id, account_id=account_id, secret_enc=integration.webhook_secret_enc).save()
    return integration


def _structure_fields(structure: Any) -> dict[str, Any]:
    def plain(items: Any) -> list[dict[str, Any]]:
        out = []
        for item in items or []:
            data = item.__dict__ if hasattr(item, "__dict__") else dict(item)
            out.append({k: v for k, v in data.items() if isinstance(v, str | int | float | bool) or v is None})
        return out

    return {"categories": plain(structure.categories)[:500], "tags": plain(structure.tags)[:500],
            "authors": plain(structure.authors)[:200], "post_types": plain(structure.post_types)[:50]}


def sync_integration(account_id: str, site_id: str) -> SiteIntegration:
    from chalicelib.integrations.wordpress import WPError

    integration = _integration(account_id, site_id)
    try:
        with wordpress_client(integration) as wp:
            structure = wp.sync_structure()
    except WPError as exc:
        integration.update(actions=[SiteIntegration.sync_status.set("error"),
                                    SiteIntegration.sync_error.set(str(exc)[:1000]),
                                    SiteIntegration.connection_status.set("error")])
        raise wp_api_error(exc) from None
    fields = _structure_fields(structure)
    integration.update(actions=[getattr(SiteIntegration, k).set(v) for k, v in fields.items()] + [
        SiteIntegration.sync_status.set("completed"), SiteIntegration.sync_error.remove(),
        SiteIntegration.connection_status.set("connected"), SiteIntegration.last_sync_at.set(utcnow()),
        SiteIntegration.structure_updated_at.set(utcnow())])
    return integration


def get_integration(account_id: str, site_id: str) -> SiteIntegration:
    get_site(account_id, site_id)
    return _integration(account_id, site_id)


def delete_integration(account_id: str, site_id: str) -> None:
    integration = get_integration(account_id, site_id)
    integration.delete()
    try:
        WebhookRoute.get(site_id).delete(condition=WebhookRoute.account_id == account_id)
    except WebhookRoute.DoesNotExist:
        logger.info("no webhook route to delete", extra={"site_id": site_id})


# --- webhooks from WordPress -------------------------------------------------------------

class _NonceGuard:
    def __init__(self, site_id: str) -> None:
        self.site_id = site_id

    def claim(self, site_id: str, nonce: str, expires_at: Any) -> bool:
        from pynamodb.exceptions import PutError

        expires = int(expires_at.timestamp() if hasattr(expires_at, "timestamp") else expires_at)
        try:
            WebhookNonce(f"wordpress#{site_id}", nonce, expires_epoch=expires).save(
                condition=WebhookNonce.nonce.does_not_exist())
        except PutError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True


def handle_wordpress_webhook(site_id: str, raw_body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """Verify a companion-plugin webhook, then mirror the post's state onto our content."""
    from chalicelib.api.errors import Unauthorized
    from chalicelib.integrations.wordpress_webhooks import WebhookVerificationError, verify_webhook
    from chalicelib.services import secrets
    from chalicelib.services.writer import find_content

    rejected = Unauthorized("The webhook signature is missing, invalid or stale.", code="invalid_signature",
                            headers={})
    try:
        route = WebhookRoute.get(site_id)
    except WebhookRoute.DoesNotExist:
        raise rejected from None
    secret = secrets.decrypt(route.secret_enc, _secret_context(route.account_id, site_id))
    try:
        event = verify_webhook(raw_body, headers, secret=secret, site_id=site_id, replay_guard=_NonceGuard(site_id))
    except WebhookVerificationError as exc:
        logger.info("wordpress webhook rejected", extra={"reason": exc.reason})
        raise rejected from None
    content = find_content(route.account_id, site_id, event.content_id) if event.content_id else None
    if content is None:
        return {"handled": False, "reason": "unknown content"}
    if content.external_id and str(event.post_id) != str(content.external_id):
        return {"handled": False, "reason": "another post"}
    seen = content.external_modified_at
    if event.modified_gmt and seen and event.modified_gmt <= seen and event.event == "updated":
        return {"handled": False, "reason": "stale"}
    changes: dict[str, Any] = {}
    extra = [Content.site_status_updated_at.set(utcnow())]
    if event.modified_gmt:
        extra.append(Content.external_modified_at.set(event.modified_gmt))
    if event.event in ("trashed", "deleted"):
        changes["site_status"] = "not_published"
        changes["scheduled_publish_at"] = None
        extra.append(Content.publish_error.set(f"The post was {event.event} in WordPress."))
        if event.event == "deleted":
            extra.append(Content.external_id.remove())
            extra.append(Content.external_url.remove())
    elif event.event in ("restored", "updated") and event.status == "publish":
        changes["site_status"] = "published"
        if event.link:
            extra.append(Content.external_url.set(event.link))
    elif event.event in ("restored", "updated"):
        changes["site_status"] = "not_published"
        changes["scheduled_publish_at"] = None
    if not changes or (changes.get("site_status") == content.site_status and len(changes) == 1 and
                       not event.link):
        if event.modified_gmt:
            content.update(actions=[Content.external_modified_at.set(event.modified_gmt)])
        return {"handled": True, "site_status": content.site_status}
    if content.site_status in ("publishing", "scheduled"):
        return {"handled": False, "reason": f"content is {content.site_status}"}
    actions, condition = transition_ops(content, changes, check=False, extra_actions=extra)
    try:
        content.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if is_condition_failure(exc):
            return {"handled": False, "reason": "content changed meanwhile"}
        raise
    return {"handled": True, "site_status": changes.get("site_status", content.site_status)}
