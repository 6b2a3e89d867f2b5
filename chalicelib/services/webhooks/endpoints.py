"""An account's webhook endpoints: created with a secret shown once, filtered by event, guarded URLs.

The URL passes the SSRF guard when it is saved (its form, and every address its host resolves
to) and again on every delivery (services.webhooks.delivery): a name that later resolves to a
private address is refused then. The secret is kept KMS-encrypted, bound to its endpoint.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from chalicelib.auth.context import Tenant
from chalicelib.errors import Conflict, NotFound, UnprocessableEntity
from chalicelib.ids import new_id
from chalicelib.integrations.http_guard import BlockedTarget, ResolutionFailed, check_url, resolve_checked
from chalicelib.models.conditions import conditional
from chalicelib.models.pages import Page, paginate
from chalicelib.models.webhooks import WebhookEndpoint
from chalicelib.services import secrets
from chalicelib.services.event_names import WEBHOOK_EVENTS
from chalicelib.services.webhooks import signing
from chalicelib.timeutil import utcnow

MAX_ENDPOINTS = 20


def secret_context(account_id: str, endpoint_id: str) -> dict[str, str]:
    return {"record": "webhook_endpoint", "account_id": account_id, "endpoint_id": endpoint_id}


def checked_url(url: str, field: str = "url") -> str:
    """``url`` if the SSRF guard lets us call it; else 422 naming why."""
    try:
        check_url(url)
        parts = urlsplit(url)
        resolve_checked(parts.hostname or "", parts.port or (443 if parts.scheme.lower() == "https" else 80))
    except BlockedTarget as exc:
        raise UnprocessableEntity(f"This URL may not be called: {exc}", code="webhook_url_blocked",
                                  details=[{"field": field, "message": str(exc)}]) from None
    except ResolutionFailed as exc:
        raise UnprocessableEntity(f"This URL's host does not resolve: {exc}", code="webhook_url_unresolvable",
                                  details=[{"field": field, "message": str(exc)}]) from None
    return url


def checked_events(events: list[str]) -> list[str]:
    bad = [{"field": f"events.{n}", "message": f"one of {', '.join(WEBHOOK_EVENTS)}"}
           for n, name in enumerate(events) if name not in WEBHOOK_EVENTS]
    if bad:
        raise UnprocessableEntity("Some events cannot be subscribed to.", details=bad)
    return sorted(set(events))


def view(endpoint: WebhookEndpoint, secret: str | None = None) -> dict[str, Any]:
    out = {"endpoint_id": endpoint.endpoint_id, "url": endpoint.url, "description": endpoint.description,
           "events": list(endpoint.events or []), "enabled": endpoint.enabled,
           "secret_hint": secrets.mask(endpoint.secret_hint),
           "consecutive_failures": int(endpoint.consecutive_failures or 0),
           "disabled_reason": endpoint.disabled_reason, "disabled_at": endpoint.disabled_at,
           "last_delivery_at": endpoint.last_delivery_at, "last_status_code": endpoint.last_status_code,
           "created_at": endpoint.created_at, "updated_at": endpoint.updated_at}
    if secret is not None:
        out["secret"] = secret  # the one answer that carries it: creation (and rotation)
    return out


def get(account_id: str, endpoint_id: str, *, consistent: bool = False) -> WebhookEndpoint:
    try:
        return WebhookEndpoint.get(account_id, endpoint_id, consistent_read=consistent)
    except WebhookEndpoint.DoesNotExist:
        raise NotFound("Webhook endpoint") from None


def of_account(account_id: str) -> list[WebhookEndpoint]:
    return list(WebhookEndpoint.query(account_id))


def page(account_id: str, *, limit: int, cursor: str | None) -> Page:
    found = paginate(lambda **kw: WebhookEndpoint.query(account_id, **kw), scope=f"webhook_endpoints:{account_id}",
                     limit=limit, cursor=cursor)
    return Page([view(e) for e in found.items], found.next_cursor)


def create(tenant: Tenant, *, url: str, events: list[str], description: str) -> dict[str, Any]:
    url, events = checked_url(url), checked_events(events)
    if WebhookEndpoint.count(tenant.account_id) >= MAX_ENDPOINTS:
        raise Conflict(f"An account has at most {MAX_ENDPOINTS} webhook endpoints.", code="too_many_endpoints")
    endpoint_id, secret = new_id(), signing.new_secret()
    endpoint = WebhookEndpoint(tenant.account_id, endpoint_id, url=url, events=events, description=description,
                               secret_enc=secrets.encrypt(secret, secret_context(tenant.account_id, endpoint_id)),
                               secret_hint=secrets.hint(secret), created_by=tenant.user_id)
    endpoint.save(condition=WebhookEndpoint.endpoint_id.does_not_exist())
    return view(endpoint, secret)


def update(account_id: str, endpoint_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    endpoint = get(account_id, endpoint_id)
    actions = []
    if "url" in changes:
        actions.append(WebhookEndpoint.url.set(checked_url(changes["url"])))
    if "events" in changes:
        actions.append(WebhookEndpoint.events.set(checked_events(changes["events"])))
    if "description" in changes:
        actions.append(WebhookEndpoint.description.set(changes["description"]))
    if changes.get("enabled") is True:  # turned back on: its failures start over
        actions += [WebhookEndpoint.enabled.set(True), WebhookEndpoint.consecutive_failures.set(0),
                    WebhookEndpoint.disabled_reason.remove(), WebhookEndpoint.disabled_at.remove()]
    elif changes.get("enabled") is False:
        actions += [WebhookEndpoint.enabled.set(False), WebhookEndpoint.disabled_reason.set("Disabled by a user."),
                    WebhookEndpoint.disabled_at.set(utcnow())]
    if actions:
        with conditional(otherwise=NotFound("Webhook endpoint")):
            endpoint.update(actions=actions, condition=WebhookEndpoint.endpoint_id.exists())
    return view(endpoint)


def rotate_secret(account_id: str, endpoint_id: str) -> dict[str, Any]:
    endpoint = get(account_id, endpoint_id)
    secret = signing.new_secret()
    with conditional(otherwise=NotFound("Webhook endpoint")):
        endpoint.update(actions=[
            WebhookEndpoint.secret_enc.set(secrets.encrypt(secret, secret_context(account_id, endpoint_id))),
            WebhookEndpoint.secret_hint.set(secrets.hint(secret))], condition=WebhookEndpoint.endpoint_id.exists())
    return view(endpoint, secret)


def delete(account_id: str, endpoint_id: str) -> None:
    with conditional(otherwise=NotFound("Webhook endpoint")):
        WebhookEndpoint(account_id, endpoint_id).delete(condition=WebhookEndpoint.endpoint_id.exists())


def secret_of(endpoint: WebhookEndpoint) -> str:
    return secrets.decrypt(endpoint.secret_enc, secret_context(endpoint.account_id, endpoint.endpoint_id))
