"""Plans without an invoice renew monthly: the schedule that opens their next period.

A free plan (or one staff gave without a subscription) has no invoice to open its next period,
so its balance sits in ``CreditBalance.renewals_due`` (sparse, sharded by account, ranged by the
period's end) while such a period is current. The tick reads each shard for periods that ended
(one Query per shard, never a Scan) and opens the next period through ``credit_periods``: the
period is keyed by its start and the source ``renewal``, so it opens exactly once, however many
ticks (or concurrent ticks) see it. Periods missed while nothing ran are not granted after the
fact: the next period starts at the last boundary before now. An account with a subscription
leaves the index (its invoices renew it).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.models.accounts import Account
from chalicelib.models.billing import BALANCE_KEY, RENEWAL_SHARD, CreditBalance
from chalicelib.models.conditions import conditional
from chalicelib.models.shards import shard_keys
from chalicelib.observability import logger
from chalicelib.services import account_events, credit_periods, event_names
from chalicelib.services.ledger import get_balance
from chalicelib.services.plans import get_plan
from chalicelib.timeutil import iso, utcnow

PERIOD = timedelta(days=30)
SOURCE = "renewal"


def tick(now: datetime | None = None) -> dict[str, Any]:
    """Renew every period that ended; one account's failure does not stop the others."""
    now = now or utcnow()
    result = {"renewed": 0, "not_due": 0, "subscribed": 0, "gone": 0, "errors": 0}
    for key in shard_keys(RENEWAL_SHARD):
        for item in CreditBalance.renewals_due.query(key, CreditBalance.period_end <= now):
            try:
                outcome = renew(item.account_id, now)
            except Exception as exc:  # noqa: BLE001 - the next tick tries it again
                result["errors"] += 1
                logger.warning("renewing a plan failed", extra={"account_id": item.account_id,
                                                                "error": str(exc)[:300]})
                continue
            result[outcome] = result.get(outcome, 0) + 1
    return result


def next_start(period_end: datetime, now: datetime) -> datetime:
    """The start of the period to open: the last monthly boundary after ``period_end`` not after ``now``."""
    missed = max(0, int((now - period_end) // PERIOD))
    return period_end + missed * PERIOD


def renew(account_id: str, now: datetime) -> str:
    """Open the account's next period if its current one ended (once per period)."""
    bal = get_balance(account_id)  # consistent: the index may lag a renewal that just happened
    if bal.period_end is None or bal.period_end > now or bal.renewal_shard is None:
        return "not_due"
    try:
        account = Account.get(account_id, consistent_read=True)
    except Account.DoesNotExist:
        _leave_index(account_id, bal.period_key)
        return "gone"
    if account.subscription_id:
        _leave_index(account_id, bal.period_key)  # its invoices open its periods
        return "subscribed"
    plan = get_plan(account.plan_id)
    start = next_start(bal.period_end, now)

    def still_wanted() -> bool:
        current = get_balance(account_id)
        return current.period_end is not None and current.period_end <= now and not Account.get(
            account_id, consistent_read=True).subscription_id

    result = credit_periods.open_period(account_id, plan, start=start, end=start + PERIOD, source=SOURCE,
                                        source_id=SOURCE, still_wanted=still_wanted)
    if result.outcome in ("opened", "already_open"):
        # Keyed by the period: a tick that lost the race and emits again is the same event.
        account_events.emit(account_id, event_names.PLAN_RENEWED,
                            {"plan_id": plan.plan_id, "plan_name": plan.name, "period_start": iso(start),
                             "period_end": iso(start + PERIOD),
                             "credits": credit_periods.plan_grants(plan)}, key=str(result.period_key))
        return "renewed"
    return "not_due"


def _leave_index(account_id: str, period_key: str | None) -> None:
    condition = (CreditBalance.period_key == period_key) if period_key else CreditBalance.period_key.does_not_exist()
    with conditional():  # a new period meanwhile decides for itself
        CreditBalance(account_id, BALANCE_KEY).update(actions=[CreditBalance.renewal_shard.remove()],
                                                      condition=condition)
