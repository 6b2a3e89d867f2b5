"""The account events: their names, said once, and what each one is for.

An event is emitted where it happens (``services.account_events.emit``) and fanned out by one
worker to the account's people (in-app and e-mail, per each user's preference) and to the
account's outbound webhook endpoints subscribed to it. ``notify``: people may be told
(their preference decides how); ``webhook``: endpoints may subscribe to it. ``grouped``: a
burst of it (a run's 40 failures) is one notification and one e-mail per group window
(services.notify.groups). ``min_role``: who hears of it at all (billing is for admins).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from chalicelib.auth.roles import Role

Channel = Literal["in_app", "email", "both", "none"]
CHANNELS: tuple[str, ...] = ("in_app", "email", "both", "none")

RUN_COMPLETED = "run.completed"
RUN_FAILED = "run.failed"
CONTENT_GENERATED = "content.generated"
CONTENT_REVIEW = "content.ready_for_review"
CONTENT_APPROVED = "content.approved"
CONTENT_PUBLISHED = "content.published"
CONTENT_FAILED = "content.failed"
PUBLISH_FAILED = "publish.failed"
INTEGRATION_BROKEN = "integration.broken"
CREDITS_LOW = "credits.low"
PAYMENT_FAILED = "payment.failed"
PLAN_RENEWED = "plan.renewed"
WEBHOOK_DISABLED = "webhook.disabled"
WEBHOOK_TEST = "webhook.test"  # sent by the test-send route only; never emitted


@dataclass(frozen=True)
class EventDef:
    name: str
    title: str
    notify: bool
    webhook: bool
    default: Channel = "in_app"
    grouped: bool = False
    min_role: Role = Role.viewer


EVENTS: dict[str, EventDef] = {e.name: e for e in (
    EventDef(RUN_COMPLETED, "Automation run completed", notify=True, webhook=True, default="in_app"),
    EventDef(RUN_FAILED, "Automation run failed", notify=True, webhook=True, default="both"),
    EventDef(CONTENT_GENERATED, "Article generated", notify=False, webhook=True),
    EventDef(CONTENT_REVIEW, "Article ready for review", notify=True, webhook=False, default="both", grouped=True),
    EventDef(CONTENT_APPROVED, "Article approved", notify=False, webhook=True),
    EventDef(CONTENT_PUBLISHED, "Article published", notify=True, webhook=True, default="in_app", grouped=True),
    EventDef(CONTENT_FAILED, "Article failed", notify=True, webhook=True, default="both", grouped=True),
    EventDef(PUBLISH_FAILED, "Publishing failed", notify=True, webhook=True, default="both", grouped=True),
    EventDef(INTEGRATION_BROKEN, "WordPress connection broken", notify=True, webhook=True, default="both",
             grouped=True, min_role=Role.admin),
    EventDef(CREDITS_LOW, "Credits running low", notify=True, webhook=True, default="both", min_role=Role.admin),
    EventDef(PAYMENT_FAILED, "Payment failed", notify=True, webhook=False, default="both", min_role=Role.admin),
    EventDef(PLAN_RENEWED, "Plan renewed", notify=True, webhook=False, default="in_app", min_role=Role.admin),
    EventDef(WEBHOOK_DISABLED, "Webhook endpoint disabled", notify=True, webhook=False, default="both",
             min_role=Role.admin),
)}
NOTIFY_EVENTS: tuple[str, ...] = tuple(name for name, e in EVENTS.items() if e.notify)
WEBHOOK_EVENTS: tuple[str, ...] = tuple(name for name, e in EVENTS.items() if e.webhook)


def event(name: str) -> EventDef:
    return EVENTS[name]
