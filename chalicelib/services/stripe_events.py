"""Stripe webhooks: verify, claim the event once, apply it, mark it done.

1. The signature is checked on the raw body, before anything else, by Stripe's own
   library (``stripe.Webhook.construct_event``, default tolerance of 300 s) with the
   endpoint secret of IntegrationProvider "stripe". Any failure: 400 invalid_signature,
   and nothing is read or written.
2. Event types not handled here are answered 200 and forgotten.
3. The event id is claimed with a conditional put (``StripeEvent``, kept 45 days, well
   beyond Stripe's 3 days of retries). A claim is a lease: if the handler crashes, the
   lease lapses and Stripe's next retry finishes the work. A claim already done answers
   200 without doing anything; one still being handled answers 409, so Stripe retries.
4. The effects are idempotent by themselves as well (ledger entries keyed by the Stripe
   object, conditional state changes), so even a replay after the record expired, or a
   crash between an effect and the "done" mark, cannot apply anything twice.
5. Order: see ``services/billing.py``. Every handler reads the object's own state and
   timestamps, never the order of arrival.

Payload shapes: current Stripe API versions (invoice ``parent.subscription_details``,
line ``pricing.price_details``, period fields on subscription items) and the older ones
(``invoice.subscription``, ``line.price``, ``subscription.current_period_*``) are both read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from chalicelib.errors import ApiError, BadRequest, Conflict
from chalicelib.integrations.stripe_client import BillingUnavailable
from chalicelib.models.billing import CREDIT_TYPES
from chalicelib.models.conditions import conditional
from chalicelib.models.payments import StripeEvent
from chalicelib.observability import logger
from chalicelib.services import account_events, billing, event_names, plans, providers
from chalicelib.timeutil import iso, utcnow

EVENT_RETENTION = timedelta(days=45)
LEASE_SECONDS = 120
SIGNATURE_HEADER = "Stripe-Signature"


class InvalidSignature(BadRequest):
    code = "invalid_signature"


Handler = Callable[[dict[str, Any]], tuple[str | None, str]]  # event -> (account id, outcome)


# --- verification ------------------------------------------------------------------------------

def verify(raw_body: bytes, signature: str | None) -> dict[str, Any]:
    """The verified event as plain data; raises InvalidSignature (400) on any doubt."""
    secret = providers.get_secret("stripe", "webhook_secret")
    if not secret:
        # 503, not 400: Stripe keeps retrying, so nothing is lost while staff set the secret.
        raise BillingUnavailable("The Stripe webhook secret is not configured.")
    import stripe

    rejected = InvalidSignature("The Stripe-Signature header is missing, invalid or too old for this body.")
    try:
        event = stripe.Webhook.construct_event(raw_body, signature, secret)
    except stripe.SignatureVerificationError:
        raise rejected from None
    except UnicodeDecodeError:  # not even text: cannot have been signed by Stripe
        raise rejected from None
    except ValueError:
        raise BadRequest("The verified body is not a Stripe event.", code="invalid_payload") from None
    data = event.to_dict()
    if data.get("object") != "event" or not data.get("id") or not data.get("type"):
        raise BadRequest("The verified body is not a Stripe event.", code="invalid_payload")
    return data


def handle_webhook(raw_body: bytes, signature: str | None) -> dict[str, Any]:
    return process(verify(raw_body, signature))


# --- exactly once ------------------------------------------------------------------------------

def _epoch() -> int:
    return int(utcnow().timestamp())


def _claim(event: dict[str, Any]) -> str:
    """'claimed', 'done' (handled before) or 'busy' (another delivery holds a live lease)."""
    now = _epoch()
    record = StripeEvent(event["id"], event_type=event["type"], event_created=int(event.get("created") or 0),
                         status="processing", lease_until=now + LEASE_SECONDS, received_at=utcnow(),
                         expires_epoch=now + int(EVENT_RETENTION.total_seconds()))
    with conditional() as write:
        record.save(condition=StripeEvent.event_id.does_not_exist()
                    | ((StripeEvent.status == "processing") & (StripeEvent.lease_until < now)))
    if write.held:
        return "claimed"
    existing = StripeEvent.get(event["id"], consistent_read=True)
    return "done" if existing.status == "done" else "busy"


def _release(event_id: str) -> None:
    """The handler failed: let the next delivery start at once instead of after the lease."""
    with conditional():  # done meanwhile by another delivery: nothing to release
        StripeEvent(event_id).update(actions=[StripeEvent.lease_until.set(0), StripeEvent.attempts.add(1)],
                                     condition=StripeEvent.status == "processing")


def _complete(event_id: str, account_id: str | None, outcome: str) -> None:
    actions = [StripeEvent.status.set("done"), StripeEvent.handled_at.set(utcnow()),
               StripeEvent.outcome.set(outcome)]
    if account_id:
        actions.append(StripeEvent.account_id.set(account_id))
    StripeEvent(event_id).update(actions=actions)


def process(event: dict[str, Any]) -> dict[str, Any]:
    """Apply a verified event once. Also the entry point for tests and replays of stored events."""
    event_id, event_type = event["id"], event["type"]
    answer = {"received": True, "event_id": event_id, "type": event_type}
    handler = HANDLERS.get(event_type)
    if handler is None:
        return {**answer, "handled": False, "outcome": "ignored"}
    claim = _claim(event)
    if claim == "done":
        return {**answer, "handled": False, "outcome": "duplicate"}
    if claim == "busy":
        raise Conflict("This event is being handled by another delivery; Stripe will retry it.",
                       code="event_in_progress")
    try:
        account_id, outcome = handler(event)
    except ApiError as exc:
        _release(event_id)
        logger.warning("stripe event refused", extra={"event_id": event_id, "type": event_type, "code": exc.code})
        raise
    except Exception:
        _release(event_id)
        raise
    _complete(event_id, account_id, outcome)
    logger.info("stripe event handled", extra={"event_id": event_id, "type": event_type, "outcome": outcome,
                                               "account_id": account_id})
    return {**answer, "handled": True, "outcome": outcome}


# --- reading Stripe's objects ------------------------------------------------------------------

def _id(value: Any) -> str | None:
    """An id, whether the field holds the id or the expanded object."""
    if isinstance(value, dict):
        return value.get("id")
    return value or None


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _account(obj: dict[str, Any]) -> str | None:
    """The account an object is about: by its customer; else by the metadata our checkout set."""
    customer = _id(obj.get("customer"))
    account_id = billing.account_for_customer(customer)
    if account_id or not customer:
        return account_id
    claimed = _get(obj, "metadata", "account_id") or obj.get("client_reference_id")
    if not claimed:
        return None
    try:
        linked = billing.link_customer(str(claimed), customer)
    except ApiError:  # the claimed account does not exist, or has another customer
        return None
    return str(claimed) if linked == customer else None


def _known_plan_id(plan_id: Any) -> str | None:
    if not plan_id:
        return None
    return plan_id if any(p.plan_id == plan_id for p in plans.all_plans()) else None


def _plan_id_for(price_id: str | None, metadata: dict[str, Any] | None) -> str | None:
    """The plan a price bills; the plan our checkout named, if the price is unknown."""
    plan = plans.plan_for_price(price_id)
    if plan is not None:
        return plan.plan_id
    return _known_plan_id((metadata or {}).get("plan_id"))


def _line_price(line: dict[str, Any]) -> str | None:
    return _id(_get(line, "pricing", "price_details", "price")) or _id(line.get("price"))


def _is_proration(line: dict[str, Any]) -> bool:
    details = _get(line, "parent", "subscription_item_details") or {}
    return bool(line.get("proration") or details.get("proration"))


def _subscription_line(invoice: dict[str, Any]) -> dict[str, Any] | None:
    """The line that bills the subscription's period (not a proration), latest period first."""
    lines = [line for line in (_get(invoice, "lines", "data") or []) if _line_price(line)]
    regular = [line for line in lines if not _is_proration(line)]
    candidates = regular or lines
    if not candidates:
        return None
    return max(candidates, key=lambda line: int(_get(line, "period", "end") or 0))


def invoice_info(invoice: dict[str, Any]) -> billing.InvoiceInfo:
    details = _get(invoice, "parent", "subscription_details") or invoice.get("subscription_details") or {}
    subscription_id = _id(details.get("subscription")) or _id(invoice.get("subscription"))
    line = _subscription_line(invoice) or {}
    price_id = _line_price(line) if line else None
    reason = invoice.get("billing_reason")
    if reason == "subscription_update":
        # An upgrade's proration lines name the new price: the latest one is the plan now.
        prorations = [ln for ln in (_get(invoice, "lines", "data") or []) if _line_price(ln) and
                      int(ln.get("amount") or 0) > 0]
        if prorations:
            price_id = _line_price(max(prorations, key=lambda ln: int(_get(ln, "period", "end") or 0)))
    start = _get(line, "period", "start") or invoice.get("period_start")
    end = _get(line, "period", "end") or invoice.get("period_end")
    if start and end and int(end) <= int(start):
        start = end = None
    return billing.InvoiceInfo(
        invoice_id=invoice["id"], subscription_id=subscription_id, billing_reason=reason, price_id=price_id,
        plan_id=_plan_id_for(price_id, details.get("metadata")), period_start=billing.from_epoch(start),
        period_end=billing.from_epoch(end), amount_paid_cents=int(invoice.get("amount_paid") or 0))


def subscription_state(sub: dict[str, Any]) -> billing.SubscriptionState:
    item = (_get(sub, "items", "data") or [{}])[0] or {}
    price = item.get("price") or sub.get("plan") or {}
    price_id = _id(price)
    interval = _get(price, "recurring", "interval") if isinstance(price, dict) else None
    interval = interval or (price.get("interval") if isinstance(price, dict) else None)
    return billing.SubscriptionState(
        subscription_id=sub["id"], status=str(sub.get("status") or "incomplete"),
        plan_id=_plan_id_for(price_id, sub.get("metadata")), price_id=price_id, interval=interval,
        created=int(sub.get("created") or 0),
        current_period_start=billing.from_epoch(sub.get("current_period_start") or item.get("current_period_start")),
        current_period_end=billing.from_epoch(sub.get("current_period_end") or item.get("current_period_end")),
        cancel_at_period_end=bool(sub.get("cancel_at_period_end")), cancel_at=billing.from_epoch(sub.get("cancel_at")),
        ended_at=billing.from_epoch(sub.get("ended_at")))


def _pack_credits(metadata: dict[str, Any]) -> dict[str, int]:
    try:
        raw = json.loads(metadata.get("credits") or "{}")
    except ValueError:
        raw = {}
    if not isinstance(raw, dict):
        raw = {}
    values = {t: int(raw.get(t) or 0) for t in CREDIT_TYPES if str(raw.get(t) or 0).isdigit()}
    if not any(values.values()):  # a session from before credits were fixed at checkout
        pack_id = metadata.get("pack_id")
        pack = next((p for p in plans.all_packs() if p.pack_id == pack_id), None)
        values = plans.pack_credits(pack) if pack is not None else {}
    return values


# --- handlers ----------------------------------------------------------------------------------

def _object(event: dict[str, Any]) -> dict[str, Any]:
    return _get(event, "data", "object") or {}


AccountHandler = Callable[[dict[str, Any], dict[str, Any], str], str]  # (event, its object, account id) -> outcome


def _for_account(apply: AccountHandler) -> Handler:
    """Run ``apply`` with the event's object and the account it is about (none known: noted, nothing done)."""
    def handler(event: dict[str, Any]) -> tuple[str | None, str]:
        obj = _object(event)
        account_id = _account(obj)
        if account_id is None:
            return None, "unknown_customer"
        return account_id, apply(event, obj, account_id)

    return handler


def on_checkout_session(event: dict[str, Any], session: dict[str, Any], account_id: str) -> str:
    metadata = session.get("metadata") or {}
    paid = session.get("payment_status") in ("paid", "no_payment_required")
    if session.get("mode") == "subscription":
        subscription_id = _id(session.get("subscription"))
        if not subscription_id or not paid:
            return "awaiting_payment"
        # The subscription's own events are the authority (state_ts 0 ranks below any of them);
        # this only makes the plan effective if the checkout's event comes first.
        state = billing.SubscriptionState(subscription_id=subscription_id, status="active",
                                          plan_id=_known_plan_id(metadata.get("plan_id")),
                                          interval=metadata.get("interval"), created=int(session.get("created") or 0))
        return billing.apply_subscription(account_id, state, ts=0, source=event["type"], only_if_absent=True)
    if session.get("mode") == "payment" and metadata.get("kind") == "credit_pack":
        if not paid:
            return "awaiting_payment"
        return billing.fulfil_pack(
            account_id, purchase_key=_id(session.get("payment_intent")) or session["id"], session_id=session["id"],
            pack_id=metadata.get("pack_id"), pack_credits=_pack_credits(metadata),
            amount_cents=int(session.get("amount_total") or 0), currency=session.get("currency"))
    return "not_ours"


def on_subscription(event: dict[str, Any], sub: dict[str, Any], account_id: str) -> str:
    state = subscription_state(sub)
    if event["type"] == "customer.subscription.deleted" and state.status not in billing.ENDED:
        state = billing.SubscriptionState(**{**state.__dict__, "status": "canceled"})
    return billing.apply_subscription(account_id, state, ts=int(event.get("created") or 0), source=event["type"])


def _on_invoice(apply: Callable[[str, billing.InvoiceInfo], str]) -> AccountHandler:
    def handler(event: dict[str, Any], invoice: dict[str, Any], account_id: str) -> str:
        info = invoice_info(invoice)
        if not info.subscription_id:
            return "not_a_subscription_invoice"
        return apply(account_id, info)

    return handler


def invoice_paid(account_id: str, inv: billing.InvoiceInfo) -> str:
    outcome = billing.invoice_paid(account_id, inv)
    if inv.billing_reason == "subscription_cycle":  # a renewal (a first invoice is the sign-up)
        account_events.emit(account_id, event_names.PLAN_RENEWED,
                            {"plan_id": inv.plan_id, "invoice_id": inv.invoice_id,
                             "period_end": iso(inv.period_end)}, key=inv.invoice_id)
    return outcome


def invoice_payment_failed(account_id: str, inv: billing.InvoiceInfo) -> str:
    outcome = billing.invoice_payment_failed(account_id, inv)
    if outcome == "past_due":
        # Told once per invoice: Stripe's own retries of it fail again without news.
        account_events.emit(account_id, event_names.PAYMENT_FAILED, {"invoice_id": inv.invoice_id},
                            key=inv.invoice_id)
    return outcome


def on_charge_refunded(event: dict[str, Any], charge: dict[str, Any], account_id: str) -> str:
    payment_intent = _id(charge.get("payment_intent"))
    kind = _get(charge, "metadata", "kind")
    if not payment_intent or charge.get("invoice") or (kind and kind != "credit_pack"):
        return "not_a_pack"
    if kind != "credit_pack" and not billing.has_purchase(account_id, payment_intent):
        return "not_a_pack"
    return billing.record_refund(account_id, purchase_key=payment_intent,
                                 amount_refunded_cents=int(charge.get("amount_refunded") or 0),
                                 amount_cents=int(charge.get("amount") or 0))


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": _for_account(on_checkout_session),
    "checkout.session.async_payment_succeeded": _for_account(on_checkout_session),
    "customer.subscription.created": _for_account(on_subscription),
    "customer.subscription.updated": _for_account(on_subscription),
    "customer.subscription.deleted": _for_account(on_subscription),
    "invoice.paid": _for_account(_on_invoice(invoice_paid)),
    "invoice.payment_failed": _for_account(_on_invoice(invoice_payment_failed)),
    "invoice.voided": _for_account(_on_invoice(billing.invoice_voided)),
    "charge.refunded": _for_account(on_charge_refunded),
}
