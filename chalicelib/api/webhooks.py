"""/v1/webhooks: the account's outbound webhook endpoints (admins), their delivery logs and test sends.

The signing secret is in the answer of the creation (and of a rotation) only; later answers
show its last characters.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalice import Blueprint
from pydantic import Field

from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import Body, Deleted, ListQuery, Out, Page, changes
from chalicelib.auth.roles import Role
from chalicelib.services.webhooks import delivery, endpoints

bp = Blueprint(__name__)
TAGS = ["webhooks"]
ADMIN = Role.admin

URL_HELP = "https://... (the SSRF guard refuses private addresses, now and on every delivery)"


class EndpointBody(Body):
    url: str = Field(min_length=8, max_length=2000, description=URL_HELP)
    events: list[str] = Field(min_length=1, max_length=20, description="Event names to deliver.")
    description: str = Field("", max_length=300)


class EndpointPatch(Body):
    url: str | None = Field(None, min_length=8, max_length=2000, description=URL_HELP)
    events: list[str] | None = Field(None, min_length=1, max_length=20)
    description: str | None = Field(None, max_length=300)
    enabled: bool | None = Field(None, description="true: on again, its failures counted from zero.")


class EndpointOut(Out):
    endpoint_id: str
    url: str
    description: str
    events: list[str]
    enabled: bool
    secret_hint: str
    consecutive_failures: int
    disabled_reason: str | None
    disabled_at: datetime | None
    last_delivery_at: datetime | None
    last_status_code: int | None
    created_at: datetime
    updated_at: datetime


class EndpointWithSecret(EndpointOut):
    secret: str = Field(description="whsec_...: shown this once. Verify deliveries with it (Standard Webhooks).")


class AttemptOut(Out):
    attempt: int
    at: str
    status_code: int | None
    error: str | None
    retry_in: int | None


class DeliveryOut(Out):
    delivery_id: str
    event: str
    status: str
    attempts_made: int
    attempts: list[AttemptOut]
    response_code: int | None
    error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    payload: str
    created_at: datetime


@route(bp, "/v1/webhooks", "GET", summary="The account's webhook endpoints", tags=TAGS, query=ListQuery,
       response=Page[EndpointOut], role=ADMIN)
def list_endpoints(req: Req) -> Any:
    q: ListQuery = req.query
    return endpoints.page(req.account_id, limit=q.limit, cursor=q.cursor)


@route(bp, "/v1/webhooks", "POST", summary="Add a webhook endpoint (its secret is answered this once)", tags=TAGS,
       body=EndpointBody, response=EndpointWithSecret, status=201, role=ADMIN,
       extra_responses={422: "webhook_url_blocked / webhook_url_unresolvable: the URL may not be called"})
def create_endpoint(req: Req) -> Any:
    b: EndpointBody = req.body
    return endpoints.create(req.tenant, url=b.url, events=b.events, description=b.description)


@route(bp, "/v1/webhooks/{endpoint_id}", "GET", summary="One webhook endpoint", tags=TAGS, response=EndpointOut,
       role=ADMIN)
def get_endpoint(req: Req, endpoint_id: str) -> Any:
    return endpoints.view(endpoints.get(req.account_id, endpoint_id))


@route(bp, "/v1/webhooks/{endpoint_id}", "PATCH", summary="Change an endpoint's URL, events or state", tags=TAGS,
       body=EndpointPatch, response=EndpointOut, role=ADMIN)
def update_endpoint(req: Req, endpoint_id: str) -> Any:
    return endpoints.update(req.account_id, endpoint_id, changes(req.body, refuse_null=True))


@route(bp, "/v1/webhooks/{endpoint_id}", "DELETE", summary="Remove a webhook endpoint", tags=TAGS,
       response=Deleted, role=ADMIN)
def delete_endpoint(req: Req, endpoint_id: str) -> Deleted:
    endpoints.delete(req.account_id, endpoint_id)
    return Deleted(id=endpoint_id)


@route(bp, "/v1/webhooks/{endpoint_id}/rotate-secret", "POST", summary="A new signing secret (answered this once)",
       tags=TAGS, response=EndpointWithSecret, role=ADMIN)
def rotate_secret(req: Req, endpoint_id: str) -> Any:
    return endpoints.rotate_secret(req.account_id, endpoint_id)


@route(bp, "/v1/webhooks/{endpoint_id}/test", "POST", summary="Send a webhook.test delivery to the endpoint",
       tags=TAGS, response=DeliveryOut, status=202, role=ADMIN)
def test_endpoint(req: Req, endpoint_id: str) -> Any:
    return delivery.send_test(req.account_id, endpoint_id)


@route(bp, "/v1/webhooks/{endpoint_id}/deliveries", "GET", summary="The endpoint's delivery log, newest first",
       tags=TAGS, query=ListQuery, response=Page[DeliveryOut], role=ADMIN)
def list_deliveries(req: Req, endpoint_id: str) -> Any:
    q: ListQuery = req.query
    return delivery.page(req.account_id, endpoint_id, limit=q.limit, cursor=q.cursor)


@route(bp, "/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}", "GET", summary="One delivery and its attempts",
       tags=TAGS, response=DeliveryOut, role=ADMIN)
def get_delivery(req: Req, endpoint_id: str, delivery_id: str) -> Any:
    return delivery.get_delivery(req.account_id, endpoint_id, delivery_id)
