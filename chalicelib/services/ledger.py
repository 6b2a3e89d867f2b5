"""The live balance and the ledger entries that explain it: what every credit write shares.

Charges (``services.credits``), plan periods (``services.credit_periods``) and packs
(``services.billing``) all read the balance the same way and write entries of one shape:
the entry's key is ``<kind>#<key>``, so writing it under ``entry_key.does_not_exist()`` in
the same transaction as the balance makes every credit change happen once per key.
"""

from __future__ import annotations

from typing import Any

from chalicelib.models.accounts import site_key
from chalicelib.models.billing import BALANCE_KEY, CreditBalance, CreditLedgerEntry
from chalicelib.timeutil import iso, utcnow


def get_balance(account_id: str) -> CreditBalance:
    """The account's balance (an empty one before anything was granted)."""
    try:
        return CreditBalance.get(account_id, BALANCE_KEY, consistent_read=True)
    except CreditBalance.DoesNotExist:
        return CreditBalance(account_id, BALANCE_KEY)


def entry(account_id: str, kind: str, key: str, credit_type: str, delta: int, plan_delta: int,
          pack_delta: int, operation: str, site_id: str | None, **extra: Any) -> CreditLedgerEntry:
    """A ledger entry keyed ``<kind>#<key>`` (None-valued ``extra`` fields are left out)."""
    entry_key = f"{kind}#{key}"
    now = utcnow()
    return CreditLedgerEntry(
        account_id, entry_key, kind=kind, credit_type=credit_type, delta=delta, plan_delta=plan_delta,
        pack_delta=pack_delta, operation=operation, site_id=site_id,
        site_key=site_key(account_id, site_id) if site_id else None,
        time_key=f"{iso(now)}#{entry_key}", created_at=now, updated_at=now,
        **{k: v for k, v in extra.items() if v is not None},
    )


def existing_entry(account_id: str, kind: str, key: str) -> CreditLedgerEntry | None:
    try:
        return CreditLedgerEntry.get(account_id, f"{kind}#{key}", consistent_read=True)
    except CreditLedgerEntry.DoesNotExist:
        return None


def new_entry_only() -> Any:
    """The condition of every ledger put: an entry is written once per key."""
    return CreditLedgerEntry.entry_key.does_not_exist()
