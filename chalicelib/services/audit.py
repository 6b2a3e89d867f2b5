"""The audit log of security- and money-relevant actions: append-only, kept for a retention.

``record(account_id, action, actor, target=None, details=None)`` is the one way to write an
entry. Each entry gets a new time-ordered id and is put under ``entry_id.does_not_exist()``:
nothing ever overwrites or edits one, and the API only reads them (``GET /v1/audit``, owners
and admins). DynamoDB's TTL removes an entry ``config.audit_retention_days()`` after it was
written. Details are a flat map of numbers and strings and never hold a secret: a key's
visible prefix may be logged, its secret never.

An entry is written after the action it records has succeeded: a failed action leaves none
(except the failed sign-in, which is the action).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from chalicelib import config
from chalicelib.auth.context import Tenant
from chalicelib.ids import new_id
from chalicelib.models.audit import AuditEntry, action_key
from chalicelib.models.pages import Page, paginate
from chalicelib.observability import logger
from chalicelib.timeutil import utcnow

# The actions recorded by this product (other modules may record their own: an action is
# "<noun>.<verb>", lower case).
SIGN_IN = "auth.sign_in"
SIGN_IN_FAILED = "auth.sign_in_failed"
ROLE_CHANGED = "user.role_changed"
API_KEY_CREATED = "api_key.created"
API_KEY_REVOKED = "api_key.revoked"
INTEGRATION_CONNECTED = "integration.connected"
INTEGRATION_DISCONNECTED = "integration.disconnected"
CREDITS_ADJUSTED = "credits.adjusted"
PLAN_CHANGED = "plan.changed"
ACCOUNT_SUSPENDED = "account.suspended"
ACCOUNT_REACTIVATED = "account.reactivated"

ACTION_PATTERN = r"^[a-z][a-z_]{0,40}\.[a-z][a-z_]{0,40}$"

# Actors that are not a person or a key.
STRIPE = "stripe"
SYSTEM = "system"

Actor = Tenant | str


def actor_of(actor: Actor, account_id: str) -> str:
    """``user:<id>``, ``api_key:<id>``, ``staff:<id>`` (staff acting on another account), or as given."""
    if isinstance(actor, str):
        return actor
    if actor.api_key_id is not None:
        return f"api_key:{actor.api_key_id}"
    if actor.is_staff and actor.account_id != account_id:
        return f"staff:{actor.user_id}"
    return f"user:{actor.user_id}"


def _flat(details: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (details or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, (int, float, str)):
            out[key] = value
        else:
            out[key] = str(value)
    return out


def retention() -> timedelta:
    return timedelta(days=config.audit_retention_days())


def record(account_id: str, action: str, actor: Actor, target: str | None = None,
           details: Mapping[str, Any] | None = None) -> AuditEntry:
    """Append one entry to the account's audit log (never overwrites: a new id, put conditionally)."""
    now = utcnow()
    entry = AuditEntry(account_id, new_id(), action=action, action_key=action_key(account_id, action),
                       actor=actor_of(actor, account_id), target=target, details=_flat(details), at=now,
                       expires_epoch=int((now + retention()).timestamp()))
    entry.save(condition=AuditEntry.entry_id.does_not_exist())
    logger.info("audit", extra={"audit_action": action, "account_id": account_id, "actor": entry.actor,
                                "target": target})
    return entry


def entries(account_id: str, *, action: str | None, limit: int, cursor: str | None) -> Page:
    """The account's entries, newest first, optionally of one action."""
    if action:
        key = action_key(account_id, action)
        return paginate(lambda **kw: AuditEntry.by_action.query(key, scan_index_forward=False, **kw),
                        scope=f"audit:{key}", limit=limit, cursor=cursor)
    return paginate(lambda **kw: AuditEntry.query(account_id, scan_index_forward=False, **kw),
                    scope=f"audit:{account_id}", limit=limit, cursor=cursor)
