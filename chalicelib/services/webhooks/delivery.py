"""Deliveries to webhook endpoints: one per (event, endpoint), each attempt signed, retried with backoff.

The fan-out writes a delivery (its id derived from the event and the endpoint: a duplicated
fan-out writes the same one) and queues attempt 1. The worker makes an attempt only if the
delivery has made exactly the attempts before it, records it and the endpoint's streak of
failures in one transaction (so a duplicated message changes nothing), and on failure queues
the next attempt with an SQS delay (exponential: 30 s, 60 s, ... at most 15 min) instead of
failing the message. After ``DISABLE_AFTER`` consecutive failures the endpoint is disabled
(its account is told: ``webhook.disabled``). Every attempt goes through the SSRF guard.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from chalicelib import messages, registry
from chalicelib.errors import NotFound
from chalicelib.ids import derived_id, new_id
from chalicelib.integrations.http_guard import GuardError, HttpGuard
from chalicelib.messages import AccountEvent, WebhookAttempt
from chalicelib.models.conditions import conditional
from chalicelib.models.pages import Page, paginate
from chalicelib.models.transactions import ConditionsFailed, Transaction, optimistic
from chalicelib.models.webhooks import WebhookDelivery, WebhookEndpoint, endpoint_key
from chalicelib.observability import logger, metric
from chalicelib.services import account_events
from chalicelib.services.account_events import time_id
from chalicelib.services.event_names import WEBHOOK_DISABLED, WEBHOOK_TEST
from chalicelib.services.secrets import SecretStoreError
from chalicelib.services.webhooks import endpoints, signing
from chalicelib.timeutil import iso, utcnow

QUEUE = "webhook_deliveries"
RETRY_BASE_SECONDS = 30
MAX_DELAY_SECONDS = 900  # SQS's longest delay
MAX_ATTEMPTS = 8
DISABLE_AFTER = 5
RETENTION = timedelta(days=30)
TIMEOUT = (5.0, 10.0)
MAX_RESPONSE_BYTES = 64 * 1024
PENDING, RETRYING, DELIVERED, FAILED = "pending", "retrying", "delivered", "failed"


def retry_delay(attempt: int) -> int:
    """Seconds before the attempt after ``attempt`` (which failed): 30, 60, 120, ... at most 900."""
    return min(MAX_DELAY_SECONDS, RETRY_BASE_SECONDS * 2 ** (attempt - 1))


def payload(event: str, at: str, data: dict[str, Any], account_id: str, site_id: str | None) -> str:
    body = {"type": event, "timestamp": at, "data": {**data, "account_id": account_id,
                                                     **({"site_id": site_id} if site_id else {})}}
    return json.dumps(body, separators=(",", ":"), sort_keys=True, default=str)


def _send(attempts: list[WebhookAttempt], delay: int = 0) -> None:
    messages.send(registry.queue(QUEUE), attempts, delay_seconds=delay)


def _start(endpoint: WebhookEndpoint, delivery_id: str, event: str, event_key: str, body: str) -> bool:
    """Write the delivery (once) and queue its first attempt; False: it exists and is under way."""
    now = utcnow()
    delivery = WebhookDelivery(endpoint_key(endpoint.account_id, endpoint.endpoint_id), delivery_id,
                               account_id=endpoint.account_id, endpoint_id=endpoint.endpoint_id, event=event,
                               event_key=event_key, payload=body,
                               expires_epoch=int((now + RETENTION).timestamp()))
    with conditional() as write:
        delivery.save(condition=WebhookDelivery.delivery_id.does_not_exist())
    if not write.held:
        delivery = WebhookDelivery.get(delivery.endpoint_key, delivery_id, consistent_read=True)
        if delivery.status != PENDING or int(delivery.attempts_made) > 0:
            return False  # under way: its own messages carry it
    _send([WebhookAttempt(account_id=endpoint.account_id, endpoint_id=endpoint.endpoint_id,
                          delivery_id=delivery_id, attempt=1)])
    return True


def fan_out(message: AccountEvent, at: datetime) -> int:
    """Start a delivery of the event to each enabled endpoint of the account subscribed to it."""
    body = payload(message.event, str(iso(at)), message.data, message.account_id, message.site_id)
    started = 0
    for endpoint in endpoints.of_account(message.account_id):
        if endpoint.enabled and message.event in (endpoint.events or []):
            delivery_id = derived_id(time_id(at), message.key, endpoint.endpoint_id)
            started += _start(endpoint, delivery_id, message.event, message.key, body)
    return started


def send_test(account_id: str, endpoint_id: str) -> WebhookDelivery:
    """A ``webhook.test`` delivery to one endpoint (enabled or not: testing is how it is mended)."""
    endpoint = endpoints.get(account_id, endpoint_id)
    delivery_id = new_id()
    at = str(iso(utcnow()))
    body = payload(WEBHOOK_TEST, at, {"message": "A test delivery from your account's webhook settings."},
                   account_id, None)
    _start(endpoint, delivery_id, WEBHOOK_TEST, f"{WEBHOOK_TEST}:{delivery_id}", body)
    return get_delivery(account_id, endpoint_id, delivery_id)


def get_delivery(account_id: str, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
    try:
        return WebhookDelivery.get(endpoint_key(account_id, endpoint_id), delivery_id, consistent_read=True)
    except WebhookDelivery.DoesNotExist:
        raise NotFound("Webhook delivery") from None


def page(account_id: str, endpoint_id: str, *, limit: int, cursor: str | None) -> Page:
    endpoints.get(account_id, endpoint_id)  # another account's endpoint: 404
    key = endpoint_key(account_id, endpoint_id)
    return paginate(lambda **kw: WebhookDelivery.query(key, scan_index_forward=False, **kw),
                    scope=f"webhook_deliveries:{key}", limit=limit, cursor=cursor)


# --- the worker: one attempt ------------------------------------------------------------

def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> tuple[int | None, str | None]:
    """(status code, error) of one signed POST; the guard checks the URL and every address again."""
    try:
        secret = endpoints.secret_of(endpoint)
    except SecretStoreError as exc:
        return None, str(exc)
    headers = signing.headers(secret, delivery.delivery_id, int(utcnow().timestamp()), delivery.payload)
    try:
        with HttpGuard(timeout=TIMEOUT, total_timeout=20.0, max_response_bytes=MAX_RESPONSE_BYTES,
                       max_redirects=0) as guard:
            answer = guard.request("POST", endpoint.url, data=delivery.payload.encode("utf-8"), headers=headers,
                                   follow_redirects=False)
    except GuardError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= answer.status_code < 300:
        return answer.status_code, None
    return answer.status_code, f"the endpoint answered HTTP {answer.status_code}"


def _finish(delivery: WebhookDelivery, attempt: int, status: str, error: str) -> bool:
    with conditional() as write:
        delivery.update(actions=[WebhookDelivery.status.set(status), WebhookDelivery.error.set(error),
                                 WebhookDelivery.next_attempt_at.remove()],
                        condition=(WebhookDelivery.attempts_made == attempt - 1)
                        & WebhookDelivery.status.is_in(PENDING, RETRYING))
    return write.held


def process(message: WebhookAttempt) -> str:
    """Make attempt ``message.attempt`` of its delivery, once; returns what happened."""
    key = endpoint_key(message.account_id, message.endpoint_id)
    try:
        delivery = WebhookDelivery.get(key, message.delivery_id, consistent_read=True)
    except WebhookDelivery.DoesNotExist:
        return "missing"
    made = int(delivery.attempts_made)
    if delivery.status in (DELIVERED, FAILED):
        return "finished"
    if made >= message.attempt:
        if delivery.status == RETRYING and made == message.attempt:  # its next attempt may not have been queued
            _send([message.model_copy(update={"attempt": made + 1})], _remaining(delivery))
        return "duplicate"
    if made != message.attempt - 1:
        return "out_of_order"
    try:
        endpoint = endpoints.get(message.account_id, message.endpoint_id, consistent=True)
    except NotFound:
        _finish(delivery, message.attempt, FAILED, "The endpoint was deleted.")
        return "endpoint_gone"
    if not endpoint.enabled and delivery.event != WEBHOOK_TEST:
        _finish(delivery, message.attempt, FAILED, f"The endpoint is disabled: {endpoint.disabled_reason}")
        return "endpoint_disabled"
    code, error = _post(endpoint, delivery)
    return _record(delivery, endpoint, message, code, error)


def _remaining(delivery: WebhookDelivery) -> int:
    if delivery.next_attempt_at is None:
        return 0
    return max(0, min(MAX_DELAY_SECONDS, int((delivery.next_attempt_at - utcnow()).total_seconds())))


def _record(delivery: WebhookDelivery, endpoint: WebhookEndpoint, message: WebhookAttempt,
            code: int | None, error: str | None) -> str:
    attempt, now = message.attempt, utcnow()
    ok = error is None
    outcome: dict[str, Any] = {}

    def attempt_once() -> str:
        current = endpoints.get(endpoint.account_id, endpoint.endpoint_id, consistent=True) if outcome else endpoint
        outcome["read"] = True
        streak = int(current.consecutive_failures or 0)
        failures = 0 if ok else streak + 1
        disable = not ok and current.enabled and failures >= DISABLE_AFTER
        live = current.enabled or delivery.event == WEBHOOK_TEST
        retry = not ok and not disable and attempt < MAX_ATTEMPTS and live
        delay = retry_delay(attempt) if retry else None
        status = DELIVERED if ok else RETRYING if retry else FAILED
        entry = {"attempt": attempt, "at": iso(now), "status_code": code, "error": error, "retry_in": delay}
        actions = [WebhookDelivery.attempts_made.set(attempt),
                   WebhookDelivery.attempts.set([*delivery.attempts, entry]),
                   WebhookDelivery.status.set(status)]
        actions.append(WebhookDelivery.response_code.set(code) if code is not None
                       else WebhookDelivery.response_code.remove())
        actions.append(WebhookDelivery.error.set(error) if error else WebhookDelivery.error.remove())
        actions.append(WebhookDelivery.next_attempt_at.set(now + timedelta(seconds=delay)) if delay
                       else WebhookDelivery.next_attempt_at.remove())
        if ok:
            actions.append(WebhookDelivery.delivered_at.set(now))
        ends = [WebhookEndpoint.consecutive_failures.set(failures), WebhookEndpoint.last_delivery_at.set(now)]
        ends.append(WebhookEndpoint.last_status_code.set(code) if code is not None
                    else WebhookEndpoint.last_status_code.remove())
        if disable:
            reason = f"{failures} consecutive failed deliveries; the last: {error}"[:500]
            ends += [WebhookEndpoint.enabled.set(False), WebhookEndpoint.disabled_at.set(now),
                     WebhookEndpoint.disabled_reason.set(reason)]
        streak_held = (WebhookEndpoint.consecutive_failures == streak) if current.consecutive_failures is not None \
            else WebhookEndpoint.consecutive_failures.does_not_exist()
        tx = Transaction("webhook attempt")
        tx.update(delivery, actions, condition=(WebhookDelivery.attempts_made == attempt - 1)
                  & WebhookDelivery.status.is_in(PENDING, RETRYING), label="delivery")
        tx.update(current, ends, condition=WebhookEndpoint.endpoint_id.exists() & streak_held, label="endpoint")
        try:
            tx.commit()
        except ConditionsFailed as exc:
            if "delivery" in exc.labels:
                return "duplicate"
            raise  # the endpoint's streak moved (another delivery): read it again
        metric("WebhookAttempts", 1, "Count", outcome=status)
        if disable:
            logger.warning("webhook endpoint disabled",
                           extra={"endpoint_id": current.endpoint_id, "failures": failures})
            account_events.emit(current.account_id, WEBHOOK_DISABLED,
                                {"endpoint_id": current.endpoint_id, "url": current.url, "failures": failures,
                                 "reason": error}, key=f"{current.endpoint_id}:{delivery.delivery_id}:{attempt}")
        if retry and delay is not None:
            _send([message.model_copy(update={"attempt": attempt + 1})], delay)
        return status

    return optimistic(attempt_once, what="webhook endpoint")


def fail_dead_letter(message: WebhookAttempt) -> str:
    """An attempt whose worker died on every delivery: the delivery ends failed (``worker_died``)."""
    try:
        delivery = WebhookDelivery.get(endpoint_key(message.account_id, message.endpoint_id), message.delivery_id,
                                       consistent_read=True)
    except WebhookDelivery.DoesNotExist:
        return "missing"
    done = _finish(delivery, message.attempt, FAILED,
                   "worker_died: the delivery worker stopped on every try; send a test or wait for the next event.")
    return "failed" if done else "finished"
