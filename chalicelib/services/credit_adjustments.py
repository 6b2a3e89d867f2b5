"""Staff adjustments of an account's credits: a grant or a deduction, with its reason.

Each is one ledger entry (kind ``adjust``, so ``balance == sum of the ledger`` still holds) written
in the same transaction as the balance, keyed by the request's idempotency key: the same
adjustment sent twice is applied once. A grant goes to the pack bucket by default (it does not
expire with the plan period) or to the plan bucket; a deduction takes plan credits first, then
pack credits, and never takes the balance below zero (409 ``insufficient_credits``). Every
applied adjustment is in the account's audit log, with the staff member and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.auth.context import Tenant
from chalicelib.errors import Conflict
from chalicelib.models.billing import BALANCE_KEY, CREDIT_TYPES, CreditBalance, CreditLedgerEntry
from chalicelib.models.transactions import Transaction, optimistic
from chalicelib.services import audit
from chalicelib.services.accounts import get_account
from chalicelib.services.ledger import entry, existing_entry, get_balance, new_entry_only

KIND = "adjust"
OPERATION = "staff_adjustment"


@dataclass(frozen=True)
class Adjustment:
    applied: bool  # False: this key was adjusted before; nothing changed
    entry: CreditLedgerEntry


def adjust(account_id: str, *, credit_type: str, amount: int, reason: str, by: Tenant, key: str,
           bucket: str = "pack") -> Adjustment:
    """Add (amount > 0) or take (amount < 0) credits of one type, once per ``key``."""
    if credit_type not in CREDIT_TYPES or amount == 0 or bucket not in ("plan", "pack"):
        raise ValueError("a known credit type, a non-zero amount, and the plan or pack bucket")
    get_account(account_id)  # 404 for no such account

    def attempt() -> Adjustment:
        if (done := existing_entry(account_id, KIND, key)) is not None:
            return Adjustment(False, done)
        plan_attr = getattr(CreditBalance, f"{credit_type}_plan")
        pack_attr = getattr(CreditBalance, f"{credit_type}_pack")
        if amount > 0:
            plan_delta, pack_delta = (amount, 0) if bucket == "plan" else (0, amount)
        else:
            bal = get_balance(account_id)
            plan_left = int(getattr(bal, f"{credit_type}_plan") or 0)
            pack_left = int(getattr(bal, f"{credit_type}_pack") or 0)
            if plan_left + pack_left < -amount:
                raise Conflict(f"The account has {plan_left + pack_left} {credit_type} credits; it cannot lose "
                               f"{-amount}.", code="insufficient_credits",
                               details={"credit_type": credit_type, "available": plan_left + pack_left})
            plan_delta = -min(plan_left, -amount)
            pack_delta = amount - plan_delta
        record = entry(account_id, KIND, key, credit_type, amount, plan_delta, pack_delta, OPERATION, None,
                       note=reason[:500], user_id=audit.actor_of(by, account_id))
        moves = [(plan_attr, plan_delta), (pack_attr, pack_delta)]
        condition = None
        for attr, n in moves:  # a deduction holds only while the buckets still have what it takes
            if n < 0:
                condition = (attr >= -n) if condition is None else condition & (attr >= -n)
        tx = Transaction("adjust credits")
        tx.put(record, condition=new_entry_only(), label="ledger")
        tx.update(CreditBalance(account_id, BALANCE_KEY), [attr.add(n) for attr, n in moves if n],
                  condition=condition, label="balance")
        tx.commit()  # a failed condition: a retry of this key, or the balance moved: read again
        audit.record(account_id, audit.CREDITS_ADJUSTED, by, target=f"account:{account_id}",
                     details={"credit_type": credit_type, "amount": amount, "bucket": bucket if amount > 0 else None,
                              "reason": reason[:500], "ledger_entry": record.entry_key})
        return Adjustment(True, record)

    return optimistic(attempt, what="credit balance")
