"""The plan's seats: users and pending invites together stay within ``max_users``.

A seat is taken by a write that adds to ``user_count`` (a user created) or ``pending_invites``
(an invite sent), conditional on both counts being what was read: two admins inviting at once
cannot both take the last seat (the loser reads again, under ``optimistic``). An invite's seat is
handed to its user when it is accepted, and freed when it is revoked or found expired.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import NumberAttribute

from chalicelib.errors import PaymentRequired
from chalicelib.models.accounts import Account, Invite, Plan
from chalicelib.models.conditions import conditional
from chalicelib.models.transactions import Transaction
from chalicelib.timeutil import utcnow


def free(account: Account, plan: Plan) -> int:
    return int(plan.max_users) - int(account.user_count or 0) - int(account.pending_invites or 0)


def limit_reached(plan: Plan) -> PaymentRequired:
    return PaymentRequired(
        f"Your plan allows {int(plan.max_users)} users, pending invites included; upgrade the plan, revoke an "
        "invite or deactivate a user.",
        code="plan_limit_reached", details={"limit": "max_users", "max": int(plan.max_users)})


def counts_unchanged(account: Account) -> Any:
    """A condition: the account's user and invite counts are still those of ``account``."""
    pending = int(account.pending_invites or 0)
    same_pending = (Account.pending_invites == pending) if pending else (
        Account.pending_invites.does_not_exist() | (Account.pending_invites == 0))
    return (Account.user_count == int(account.user_count or 0)) & same_pending


def take(tx: Transaction, account: Account, plan: Plan, counter: NumberAttribute) -> None:
    """Add to ``tx`` the taking of one seat (``counter``: user_count or pending_invites), or raise 402."""
    if free(account, plan) <= 0:
        raise limit_reached(plan)
    tx.update(account, [counter.add(1)],
              condition=counts_unchanged(account) & (Account.is_active == True),  # noqa: E712 - a condition
              label="account")


def release_expired_invites(account_id: str) -> int:
    """Mark the account's pending invites past their end expired, each freeing its seat once."""
    now = int(utcnow().timestamp())
    released = 0
    for invite in Invite.query(account_id, filter_condition=(Invite.status == "pending") & (Invite.valid_until <= now)):
        tx = Transaction("expire invite")
        tx.update(invite, [Invite.status.set("expired")],
                  condition=(Invite.status == "pending") & (Invite.valid_until <= now), label="invite")
        tx.update(Account(account_id), [Account.pending_invites.add(-1)], label="account")
        with conditional() as write:  # accepted, revoked or resent meanwhile: not ours to free
            tx.commit()
        released += int(write.held)
    return released
