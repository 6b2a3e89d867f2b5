"""Stripe for tests: events shaped like Stripe's (API 2025+ "basil" shapes), signed with
Stripe's own helper, and a local HTTP server that answers as Stripe's API does.

Shapes follow Stripe's API reference: an event is ``{id, object: "event", api_version,
created, data: {object, previous_attributes}, livemode, pending_webhooks, request, type}``;
invoices name their subscription under ``parent.subscription_details`` and their lines'
prices under ``pricing.price_details``; a subscription's period is on its items.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import stripe

API_VERSION = "2025-06-30.basil"
WEBHOOK_SECRET = "whsec_test_5d1f0c9e8b7a6f5e4d3c2b1a0f9e8d7c"
API_KEY = "sk_test_51Nabcdefghijklmnopqrstuvwxyz0123456789"
PRICES = {("starter", "month"): "price_1StarterMonthly", ("starter", "year"): "price_1StarterYearly",
          ("growth", "month"): "price_1GrowthMonthly", ("growth", "year"): "price_1GrowthYearly"}
PACK_PRICE = "price_1Content50Pack"
DAY = 86_400
MONTH = 30 * DAY

_seq = itertools.count(1)


def sid(prefix: str) -> str:
    """A Stripe-looking id: prefix, underscore, 24 alphanumerics."""
    return f"{prefix}_{next(_seq):08d}TESTabcdefGHIJ1234"[:len(prefix) + 25]


# --- signing -----------------------------------------------------------------------------------

def payload(event: dict[str, Any]) -> str:
    # Stripe sends pretty-printed JSON; the signature covers exactly these bytes.
    return json.dumps(event, indent=2)


def sign(body: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)


# --- events --------------------------------------------------------------------------------------

def event(event_type: str, obj: dict[str, Any], *, created: int | None = None,
          previous: dict[str, Any] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return {"id": sid("evt"), "object": "event", "api_version": API_VERSION,
            "created": created if created is not None else int(time.time()), "data": data, "livemode": False,
            "pending_webhooks": 1, "request": {"id": sid("req"), "idempotency_key": None}, "type": event_type}


def checkout_subscription(*, customer: str, account_id: str, plan_id: str, subscription: str,
                          interval: str = "month", created: int | None = None) -> dict[str, Any]:
    created = created or int(time.time())
    meta = {"account_id": account_id, "kind": "plan", "plan_id": plan_id, "interval": interval}
    return {"id": sid("cs_test"), "object": "checkout.session", "mode": "subscription", "status": "complete",
            "payment_status": "paid", "customer": customer, "subscription": subscription,
            "client_reference_id": account_id, "metadata": meta, "amount_total": 4900, "amount_subtotal": 4900,
            "currency": "usd", "created": created, "expires_at": created + DAY, "livemode": False,
            "payment_intent": None, "invoice": sid("in"), "url": None, "success_url": "https://app/billing",
            "cancel_url": "https://app/billing", "customer_details": {"email": "owner@example.com"}}


def checkout_pack(*, customer: str, account_id: str, pack_id: str = "content-50", credits: dict[str, int] | None = None,
                  payment_intent: str | None = None, amount: int = 2900, payment_status: str = "paid",
                  created: int | None = None) -> dict[str, Any]:
    created = created or int(time.time())
    credits = credits if credits is not None else {"content": 50}
    meta = {"account_id": account_id, "kind": "credit_pack", "pack_id": pack_id,
            "credits": json.dumps(credits, separators=(",", ":"))}
    return {"id": sid("cs_test"), "object": "checkout.session", "mode": "payment", "status": "complete",
            "payment_status": payment_status, "customer": customer, "subscription": None,
            "client_reference_id": account_id, "metadata": meta, "amount_total": amount, "amount_subtotal": amount,
            "currency": "usd", "created": created, "expires_at": created + DAY, "livemode": False,
            "payment_intent": payment_intent or sid("pi"), "invoice": None, "url": None}


def subscription(*, sub_id: str, customer: str, price: str, status: str = "active", created: int,
                 period_start: int, period_end: int, cancel_at_period_end: bool = False,
                 ended_at: int | None = None, interval: str = "month",
                 metadata: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "id": sub_id, "object": "subscription", "customer": customer, "status": status, "created": created,
        "start_date": created, "billing_cycle_anchor": period_start, "cancel_at_period_end": cancel_at_period_end,
        "cancel_at": period_end if cancel_at_period_end else None, "canceled_at": ended_at, "ended_at": ended_at,
        "collection_method": "charge_automatically", "currency": "usd", "livemode": False,
        "metadata": metadata or {}, "latest_invoice": sid("in"),
        "items": {"object": "list", "has_more": False, "total_count": 1,
                  "url": f"/v1/subscription_items?subscription={sub_id}",
                  "data": [{"id": sid("si"), "object": "subscription_item", "created": created, "quantity": 1,
                            "subscription": sub_id, "current_period_start": period_start,
                            "current_period_end": period_end,
                            "price": {"id": price, "object": "price", "active": True, "currency": "usd",
                                      "product": "prod_TESTplan", "type": "recurring", "unit_amount": 4900,
                                      "recurring": {"interval": interval, "interval_count": 1,
                                                    "usage_type": "licensed"}}}]},
    }


def _line(*, price: str, sub_id: str, start: int, end: int, amount: int, proration: bool = False) -> dict[str, Any]:
    return {"id": sid("il"), "object": "line_item", "amount": amount, "currency": "usd",
            "description": "1 × Plan", "discountable": True, "livemode": False, "metadata": {},
            "period": {"start": start, "end": end}, "quantity": 1,
            "pricing": {"type": "price_details", "price_details": {"price": price, "product": "prod_TESTplan"},
                        "unit_amount_decimal": str(abs(amount))},
            "parent": {"type": "subscription_item_details", "invoice_item_details": None,
                       "subscription_item_details": {"invoice_item": None, "proration": proration,
                                                     "proration_details": {"credited_items": None},
                                                     "subscription": sub_id, "subscription_item": sid("si")}}}


def invoice(*, customer: str, sub_id: str, price: str, period_start: int, period_end: int,
            billing_reason: str = "subscription_cycle", status: str = "paid", amount: int = 4900,
            invoice_id: str | None = None, lines: list[dict[str, Any]] | None = None,
            metadata: dict[str, str] | None = None) -> dict[str, Any]:
    invoice_id = invoice_id or sid("in")
    paid = status == "paid"
    return {
        "id": invoice_id, "object": "invoice", "customer": customer, "status": status,
        "billing_reason": billing_reason, "collection_method": "charge_automatically", "currency": "usd",
        "amount_due": amount, "amount_paid": amount if paid else 0, "amount_remaining": 0 if paid else amount,
        "attempt_count": 1, "attempted": True, "created": period_start, "livemode": False,
        # The invoice's own period is the usage period before it; the line says what it pays for.
        "period_start": period_start - MONTH if billing_reason == "subscription_cycle" else period_start,
        "period_end": period_start,
        "parent": {"type": "subscription_details", "quote_details": None,
                   "subscription_details": {"metadata": metadata or {}, "subscription": sub_id}},
        "lines": {"object": "list", "has_more": False, "total_count": 1, "url": f"/v1/invoices/{invoice_id}/lines",
                  "data": lines if lines is not None else [_line(price=price, sub_id=sub_id, start=period_start,
                                                                 end=period_end, amount=amount)]},
        "status_transitions": {"paid_at": period_start + 60 if paid else None, "finalized_at": period_start},
    }


def upgrade_invoice(*, customer: str, sub_id: str, old_price: str, new_price: str, at: int, period_end: int,
                    invoice_id: str | None = None) -> dict[str, Any]:
    lines = [_line(price=old_price, sub_id=sub_id, start=at, end=period_end, amount=-2000, proration=True),
             _line(price=new_price, sub_id=sub_id, start=at, end=period_end, amount=6000, proration=True)]
    return invoice(customer=customer, sub_id=sub_id, price=new_price, period_start=at, period_end=period_end,
                   billing_reason="subscription_update", amount=4000, invoice_id=invoice_id, lines=lines)


def charge_refunded(*, customer: str, payment_intent: str, amount: int = 2900, refunded: int | None = None,
                    metadata: dict[str, str] | None = None, created: int | None = None) -> dict[str, Any]:
    refunded = amount if refunded is None else refunded
    return {"id": sid("ch"), "object": "charge", "amount": amount, "amount_captured": amount,
            "amount_refunded": refunded, "refunded": refunded >= amount, "captured": True, "paid": True,
            "currency": "usd", "customer": customer, "payment_intent": payment_intent, "status": "succeeded",
            "metadata": metadata if metadata is not None else {"kind": "credit_pack"},
            "created": created or int(time.time()), "livemode": False, "description": None}


# --- a local server answering as Stripe's API --------------------------------------------------

@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, str]


@dataclass
class FakeStripe:
    """Answers /v1/customers, /v1/checkout/sessions, /v1/billing_portal/sessions like Stripe:
    form-encoded requests, JSON objects back, and the same answer for a repeated Idempotency-Key."""

    requests: list[Recorded] = field(default_factory=list)
    fail_next: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    _by_key: dict[str, tuple[dict[str, str], dict[str, Any]]] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    def _answer(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        now = int(time.time())
        if path == "/v1/customers":
            return {"id": sid("cus"), "object": "customer", "created": now, "email": params.get("email"),
                    "name": params.get("name"), "livemode": False,
                    "metadata": {k[9:-1]: v for k, v in params.items() if k.startswith("metadata[")}}
        if path == "/v1/checkout/sessions":
            session_id = sid("cs_test")
            return {"id": session_id, "object": "checkout.session", "mode": params.get("mode"),
                    "customer": params.get("customer"), "status": "open", "payment_status": "unpaid",
                    "url": f"https://checkout.stripe.com/c/pay/{session_id}", "created": now,
                    "expires_at": now + DAY, "livemode": False}
        if path == "/v1/billing_portal/sessions":
            return {"id": sid("bps"), "object": "billing_portal.session", "customer": params.get("customer"),
                    "return_url": params.get("return_url"), "created": now, "livemode": False,
                    "url": f"https://billing.stripe.com/p/session/test_{sid('x')}"}
        raise KeyError(path)

    def start(self) -> FakeStripe:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("Request-Id", sid("req"))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = self.rfile.read(length).decode()
                params = dict(parse_qsl(form, keep_blank_values=True))
                fake.requests.append(Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                                              params))
                if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                    self._send(401, {"error": {"type": "invalid_request_error",
                                               "message": "Invalid API Key provided: sk_test_****"}})
                    return
                if fake.fail_next:
                    status, body = fake.fail_next.pop(0)
                    self._send(status, body)
                    return
                key = self.headers.get("Idempotency-Key")
                if key and key in fake._by_key:
                    first_params, first_body = fake._by_key[key]
                    if first_params != params:
                        self._send(400, {"error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with the same parameters "
                                       "they were first used with. Try using a key other than "
                                       f"'{key}' if you meant to execute a different request."}})
                        return
                    self._send(200, first_body)
                    return
                try:
                    body = fake._answer(self.path, params)
                except KeyError:
                    self._send(404, {"error": {"type": "invalid_request_error",
                                               "message": f"Unrecognized request URL (POST: {self.path})."}})
                    return
                if key:
                    fake._by_key[key] = (params, body)
                self._send(200, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


# --- the platform's Stripe settings --------------------------------------------------------------

def configure(api_endpoint: str = "https://api.stripe.com", *, webhook_secret: str = WEBHOOK_SECRET) -> None:
    """A KMS key, the "stripe" provider with its key and webhook secret, and priced plans / pack.
    Needs moto (the ``aws`` or ``ddb`` fixture) and SECRETS_KMS_KEY_ID pointing at a key."""
    from chalicelib.integrations import stripe_client
    from chalicelib.services import plans, providers
    from chalicelib.services.ttl_cache import clear_all

    providers.create_provider(provider_id="stripe", display_name="Stripe", provider_type="payment",
                              api_endpoint=api_endpoint,
                              secret_values={"api_key": API_KEY, "webhook_secret": webhook_secret})
    for (plan_id, interval), price in PRICES.items():
        plans.update_plan(plan_id, {f"stripe_price_{'monthly' if interval == 'month' else 'yearly'}": price})
    plans.update_pack("content-50", {"stripe_price_id": PACK_PRICE})
    clear_all()
    stripe_client.reset()


def kms_key() -> str:
    import boto3

    return boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
