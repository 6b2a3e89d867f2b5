"""Credit periods: a plan period opens, the one before closes, in one transaction.

The live balance item (``CreditBalance``) is what every charge draws from; a period adds
a record (``CreditPeriod``) and moves the balance's plan buckets:

- the closing period's unused plan credits expire (an ``expire`` ledger entry per type) or
  roll over (they stay in the plan bucket), as the closing period's plan says (``rollover``);
- the new plan's credits are granted (a ``grant`` entry per type, keyed by the period);
- pack credits are never touched;
- a period that renews itself (no invoice pays for it: signup, a subscription's end, a renewal)
  puts the balance in the ``renewals_due`` index until its end; a period an invoice opened takes
  it out (the next invoice renews it). services.plan_renewals reads that index.

The balance update is conditional on the balance still being what was read (the same
current period and the same plan credits), so a charge racing the change makes it retry
rather than expire a stale amount: ``sum(ledger deltas) == balance`` holds throughout.
Every period is keyed by its start and its source (``<ISO start>#<invoice id>``), so
opening the same period twice is a no-op, whatever the number of retries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.models.billing import BALANCE_KEY, CREDIT_TYPES, RENEWAL_SHARD, CreditBalance, CreditPeriod, amounts
from chalicelib.models.shards import shard
from chalicelib.models.transactions import ConditionsFailed, Transaction, TransactionConflict, optimistic
from chalicelib.services.ledger import entry, existing_entry, get_balance, new_entry_only
from chalicelib.services.plans import get_plan
from chalicelib.timeutil import iso, utcnow

# Adds writes to the period's transaction (e.g. the account's plan switch); and, after a failed
# attempt, says whether the change is still wanted (False: another writer made it moot; stop).
Extra = Callable[[Transaction], None]
StillWanted = Callable[[], bool]


@dataclass(frozen=True)
class PeriodResult:
    outcome: str  # opened, already_open, late, topped_up, unchanged, skipped
    period_key: str | None = None


def period_key_for(start: datetime, source_id: str) -> str:
    return f"{iso(start)}#{source_id}"


def plan_grants(plan: Any) -> dict[str, int]:
    return {t: int(getattr(plan, f"{t}_credits", 0) or 0) for t in CREDIT_TYPES}


def get_period(account_id: str, period_key: str) -> CreditPeriod | None:
    try:
        return CreditPeriod.get(account_id, period_key, consistent_read=True)
    except CreditPeriod.DoesNotExist:
        return None


def _plan_attr(credit_type: str) -> Any:
    return getattr(CreditBalance, f"{credit_type}_plan")


def _unchanged(bal: CreditBalance) -> Any:
    """The balance is still as read: same current period, same plan credits per type."""
    condition = (CreditBalance.period_key == bal.period_key) if bal.period_key else \
        CreditBalance.period_key.does_not_exist()
    for t in CREDIT_TYPES:
        attr, n = _plan_attr(t), int(getattr(bal, f"{t}_plan") or 0)
        condition &= (attr == n) if n else ((attr == 0) | attr.does_not_exist())
    return condition


def open_period(account_id: str, plan: Any, *, start: datetime, end: datetime, source: str, source_id: str,
                extra: Extra | None = None, still_wanted: StillWanted | None = None,
                balance_actions: Callable[[], list[Any]] | None = None, expire_all: bool = False,
                renews_itself: bool = True) -> PeriodResult:
    """Open the period [start, end) of ``plan`` (idempotent per start and source).

    A period that starts before the current one (a late invoice) does not reopen the past:
    its credits are granted into the current period and it is recorded as ``superseded``.
    ``expire_all``: the closing period's plan credits expire even if its plan rolls over
    (a subscription that ended: rolling over is a benefit of staying subscribed).
    ``renews_itself``: False for a period an invoice pays for (its next invoice renews it).
    """
    key = period_key_for(start, source_id)
    grants = plan_grants(plan)

    def attempt() -> PeriodResult:
        if get_period(account_id, key) is not None:
            return PeriodResult("already_open", key)
        bal = get_balance(account_id)
        late = bal.period_start is not None and start <= bal.period_start
        if late:
            tx = _late(account_id, plan, bal, key, grants, start, end, source, source_id, balance_actions)
        else:
            tx = _open(account_id, plan, bal, key, grants, start, end, source, source_id, balance_actions, expire_all,
                       renews_itself)
        if extra is not None:
            extra(tx)
        try:
            tx.commit()
        except (ConditionsFailed, TransactionConflict):
            # Another writer came first: done already, made moot, or the balance moved (read again).
            if get_period(account_id, key) is not None:
                return PeriodResult("already_open", key)
            if still_wanted is not None and not still_wanted():
                return PeriodResult("skipped", key)
            raise
        return PeriodResult("late" if late else "opened", key)

    return optimistic(attempt, what="credit period")


def _open(account_id: str, plan: Any, bal: CreditBalance, key: str, grants: dict[str, int], start: datetime,
          end: datetime, source: str, source_id: str, balance_actions: Callable[[], list[Any]] | None,
          expire_all: bool, renews_itself: bool) -> Transaction:
    prev = get_period(account_id, bal.period_key) if bal.period_key else None
    if expire_all:
        rollover = False
    elif prev is not None:
        rollover = bool(prev.rollover)
    else:  # an account from before periods were recorded: its plan decides
        rollover = bool(get_plan(bal.plan_id).rollover) if bal.plan_id else False
    remaining = {t: int(getattr(bal, f"{t}_plan") or 0) for t in CREDIT_TYPES}
    expire = {t: 0 if rollover else remaining[t] for t in CREDIT_TYPES}
    carried = {t: remaining[t] - expire[t] for t in CREDIT_TYPES}
    closing_key = bal.period_key or f"before#{key}"
    now = utcnow()
    tx = Transaction("open period")
    for t in CREDIT_TYPES:
        if expire[t]:
            tx.put(entry(account_id, "expire", f"{closing_key}#{t}", t, -expire[t], -expire[t], 0, "plan_expiry",
                         None, note=f"unused {t} plan credits of the period {closing_key} expire"
                         + (" (the subscription ended)" if expire_all else " (the plan does not roll over)")),
                   condition=new_entry_only(), label=f"expire {t}")
        if grants[t]:
            tx.put(entry(account_id, "grant", f"plan#{key}#{t}", t, grants[t], grants[t], 0, "plan_grant", None,
                         note=f"{plan.name} plan credits for {iso(start)} to {iso(end)}"),
                   condition=new_entry_only(), label=f"grant {t}")
    actions = [_plan_attr(t).add(grants[t] - expire[t]) for t in CREDIT_TYPES if grants[t] - expire[t]]
    actions += [CreditBalance.plan_id.set(plan.plan_id), CreditBalance.period_start.set(start),
                CreditBalance.period_end.set(end), CreditBalance.period_key.set(key),
                CreditBalance.created_at.set(CreditBalance.created_at | now),
                CreditBalance.renewal_shard.set(shard(account_id, RENEWAL_SHARD)) if renews_itself
                else CreditBalance.renewal_shard.remove()]
    actions += balance_actions() if balance_actions else []
    tx.update(CreditBalance(account_id, BALANCE_KEY), actions, condition=_unchanged(bal), label="balance")
    if prev is not None:
        tx.update(prev, [
            CreditPeriod.status.set("closed"), CreditPeriod.closing.set(amounts(remaining)),
            CreditPeriod.expired.set(amounts(expire)), CreditPeriod.rolled_over_out.set(amounts(carried)),
            CreditPeriod.closed_at.set(now)],
            condition=CreditPeriod.status == "current", label="closing period")
    tx.put(CreditPeriod(account_id, key, plan_id=plan.plan_id, rollover=bool(plan.rollover), period_start=start,
                        period_end=end, source=source, source_id=source_id, status="current",
                        granted=amounts(grants), rolled_over_in=amounts(carried), added=amounts()),
           condition=CreditPeriod.period_key.does_not_exist(), label="period")
    return tx


def _late(account_id: str, plan: Any, bal: CreditBalance, key: str, grants: dict[str, int], start: datetime,
          end: datetime, source: str, source_id: str, balance_actions: Callable[[], list[Any]] | None) -> Transaction:
    tx = Transaction("late period")
    for t in CREDIT_TYPES:
        if grants[t]:
            tx.put(entry(account_id, "grant", f"plan#{key}#{t}", t, grants[t], grants[t], 0, "plan_grant", None,
                         note=f"{plan.name} plan credits of the earlier period {iso(start)}, paid late: added to "
                         "the current period"),
                   condition=new_entry_only(), label=f"grant {t}")
    actions = [_plan_attr(t).add(grants[t]) for t in CREDIT_TYPES if grants[t]]
    actions += balance_actions() if balance_actions else []
    if actions:
        tx.update(CreditBalance(account_id, BALANCE_KEY), actions, label="balance")
    if bal.period_key and any(grants.values()):
        tx.update(CreditPeriod(account_id, bal.period_key),
                  [getattr(CreditPeriod.added, t).add(grants[t]) for t in CREDIT_TYPES if grants[t]],
                  condition=CreditPeriod.period_key.exists(), label="current period")
    tx.put(CreditPeriod(account_id, key, plan_id=plan.plan_id, rollover=bool(plan.rollover), period_start=start,
                        period_end=end, source=source, source_id=source_id, status="superseded",
                        granted=amounts(grants), rolled_over_in=amounts(), added=amounts(),
                        superseded_by=bal.period_key),
           condition=CreditPeriod.period_key.does_not_exist(), label="period")
    return tx


def top_up(account_id: str, plan: Any, *, key: str) -> PeriodResult:
    """A mid-period upgrade: grant what the new plan gives beyond the current period's plan.

    The difference per type (never negative: a downgrade takes nothing back and applies from
    the next period) goes into the current period, which now follows the new plan's rules.
    """
    def attempt() -> PeriodResult:
        bal = get_balance(account_id)
        if not bal.period_key:
            return PeriodResult("unchanged")
        current = plan_grants(get_plan(bal.plan_id)) if bal.plan_id else dict.fromkeys(CREDIT_TYPES, 0)
        new = plan_grants(plan)
        diff = {t: max(0, new[t] - current[t]) for t in CREDIT_TYPES}
        if not any(diff.values()):
            return PeriodResult("unchanged", bal.period_key)
        tx = Transaction("top up")
        for t in CREDIT_TYPES:
            if diff[t]:
                tx.put(entry(account_id, "grant", f"upgrade#{key}#{t}", t, diff[t], diff[t], 0, "plan_upgrade", None,
                             note=f"upgrade to {plan.name}: the difference for the rest of the period"),
                       condition=new_entry_only(), label=f"grant {t}")
        tx.update(CreditBalance(account_id, BALANCE_KEY),
                  [*(_plan_attr(t).add(diff[t]) for t in CREDIT_TYPES if diff[t]),
                   CreditBalance.plan_id.set(plan.plan_id)],
                  condition=CreditBalance.period_key == bal.period_key, label="balance")
        tx.update(CreditPeriod(account_id, bal.period_key),
                  [*(getattr(CreditPeriod.added, t).add(diff[t]) for t in CREDIT_TYPES if diff[t]),
                   CreditPeriod.plan_id.set(plan.plan_id), CreditPeriod.rollover.set(bool(plan.rollover))],
                  condition=CreditPeriod.period_key.exists(), label="period")
        try:
            tx.commit()
        except (ConditionsFailed, TransactionConflict):
            first = next(t for t in CREDIT_TYPES if diff[t])
            if existing_entry(account_id, "grant", f"upgrade#{key}#{first}") is not None:
                return PeriodResult("unchanged", bal.period_key)  # this upgrade was granted meanwhile
            raise
        return PeriodResult("topped_up", bal.period_key)

    return optimistic(attempt, what="credit balance")
