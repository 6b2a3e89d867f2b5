"""The Stripe API client: created on first use, with the key from IntegrationProvider "stripe".

The SDK is imported here, inside functions only: the API's other routes (and every
worker) never load it. The client is cached per (key, endpoint), so a key rotated by
staff takes effect as soon as the provider cache (a few seconds) lets it through.
The provider's ``api_endpoint`` is the API's base address (https://api.stripe.com by
default; tests point it at a local server answering as Stripe does).

Every call that creates something passes an idempotency key: a retried request (by the
SDK, or by a client retrying ours) returns the first result instead of a second object.
"""

from __future__ import annotations

import threading
from typing import Any

from chalicelib.errors import ApiError, Conflict

PROVIDER_ID = "stripe"
DEFAULT_API_BASE = "https://api.stripe.com"
MAX_NETWORK_RETRIES = 2

_clients: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


class BillingUnavailable(ApiError):
    status, code = 503, "billing_unavailable"


class PaymentProviderError(ApiError):
    status, code = 502, "payment_provider_error"


def _settings() -> tuple[str, str]:
    from chalicelib.services import providers

    provider = providers.get_provider(PROVIDER_ID)
    key = providers.get_api_key(PROVIDER_ID) if provider is not None else None
    if not key:
        raise BillingUnavailable("Payments are not set up on this platform yet (no Stripe key); "
                                 "try again later or contact support.")
    return key, (provider.api_endpoint or DEFAULT_API_BASE).rstrip("/")


def client() -> Any:
    """The StripeClient for the configured key (created on first use)."""
    key, base = _settings()
    with _lock:
        existing = _clients.get((key, base))
        if existing is not None:
            return existing
        import stripe

        created = stripe.StripeClient(key, base_addresses={"api": base}, max_network_retries=MAX_NETWORK_RETRIES)
        _clients[(key, base)] = created
        return created


def reset() -> None:
    with _lock:
        _clients.clear()


def call(operation: str, fn: Any) -> Any:
    """Run one Stripe call; Stripe's errors become API errors with the same shape as ours."""
    import stripe

    try:
        return fn(client())
    except stripe.AuthenticationError:
        raise BillingUnavailable("Stripe refused the platform's API key; staff must update it.") from None
    except stripe.IdempotencyError:
        raise Conflict("This Idempotency-Key was already used for a different request; use a new key.",
                       code="idempotency_key_reused") from None
    except stripe.StripeError as exc:
        message = getattr(exc, "user_message", None) or "Stripe could not complete the request."
        raise PaymentProviderError(f"{operation}: {message}", details={
            "stripe_code": getattr(exc, "code", None), "http_status": getattr(exc, "http_status", None)}) from None


def create_customer(*, account_id: str, name: str, email: str | None) -> str:
    # One key per account: two racing first checkouts get the same customer back from Stripe.
    params: dict[str, Any] = {"name": name, "metadata": {"account_id": account_id}}
    if email:
        params["email"] = email
    customer = call("Creating the Stripe customer", lambda c: c.v1.customers.create(
        params=params, options={"idempotency_key": f"customer-{account_id}"}))
    return str(customer.id)


def create_checkout_session(params: dict[str, Any], *, idempotency_key: str) -> Any:
    return call("Creating the checkout session", lambda c: c.v1.checkout.sessions.create(
        params=params, options={"idempotency_key": idempotency_key}))


def create_portal_session(params: dict[str, Any], *, idempotency_key: str) -> Any:
    return call("Opening the billing portal", lambda c: c.v1.billing_portal.sessions.create(
        params=params, options={"idempotency_key": idempotency_key}))
