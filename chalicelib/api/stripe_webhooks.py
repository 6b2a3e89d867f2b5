"""POST /v1/webhooks/stripe: Stripe's signed events (services/stripe_events.py does the work)."""

from __future__ import annotations

from chalice import Blueprint
from pydantic import BaseModel

from chalicelib.api.routing import Req, route

bp = Blueprint(__name__)


class StripeWebhookOut(BaseModel):
    received: bool
    handled: bool
    event_id: str
    type: str
    outcome: str


@route(bp, "/v1/webhooks/stripe", "POST", summary="Stripe webhook endpoint (signed with the endpoint secret)",
       tags=["webhooks"], response=StripeWebhookOut, auth="none",
       extra_responses={400: "invalid_signature: unsigned, wrongly signed or stale",
                        409: "event_in_progress: the same event is being handled; Stripe retries",
                        503: "billing_unavailable: the webhook secret is not configured"})
def stripe_webhook(req: Req) -> StripeWebhookOut:
    from chalicelib.services import stripe_events

    # body=None: the router leaves the raw bytes alone; the signature covers them exactly.
    result = stripe_events.handle_webhook(req.raw_body, req.header(stripe_events.SIGNATURE_HEADER))
    return StripeWebhookOut.model_validate(result)
