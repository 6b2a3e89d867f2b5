"""Credits: balances that never go below zero, and a ledger that explains every change.

Rules (README, "Credits"):
- Each operation draws from one credit type (``OPERATION_CREDIT_TYPE``).
- Text operations cost ``max(base_credits, ceil(billable_tokens / tokens_per_credit))``,
  where billable tokens = input + output - half the cached input (providers bill cached
  prompt tokens at about half price). Image operations cost ``credits_per_image`` per image
  (at least ``base_credits``). Prices come from AIModelConfig and CreditCostConfig.
- Plan credits are spent before purchased (pack) credits, which never expire.
- A change to the balance and its ledger entry are one transaction; the entry's key is the
  operation's idempotency key, so a retry changes nothing, and the balance condition
  (``available >= amount``) means no race can overdraw it.
- The figures that describe a charge (a job's ``credits_spent``, an article's ``cost``) are
  ``Tally`` updates in that same transaction: a retried charge does not count twice, and a
  crash right after it loses nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from chalicelib.errors import NotFound, PaymentRequired, UnprocessableEntity
from chalicelib.models.billing import BALANCE_KEY, CREDIT_TYPES, CreditBalance, CreditLedgerEntry
from chalicelib.models.system import AIModelConfig, CreditCostConfig
from chalicelib.models.transactions import ConditionsFailed, Transaction, optimistic
from chalicelib.observability import metric
from chalicelib.services.credit_periods import open_period
from chalicelib.services.ledger import entry as ledger_entry
from chalicelib.services.ledger import existing_entry, get_balance, new_entry_only
from chalicelib.timeutil import utcnow

OPERATION_CREDIT_TYPE = {
    "cluster_keywords": "idea",
    "generate_ideas": "idea",
    "generate_content": "content",
    "generate_image_prompts": "content",
    "generate_images": "image",
    "optimize_content": "optimization",
}

# What an operation typically uses, for estimates before a job starts.
TYPICAL_USAGE = {
    "cluster_keywords": {"input_tokens": 400, "output_tokens": 120},      # per cluster named
    "generate_ideas": {"input_tokens": 900, "output_tokens": 900},        # per cluster
    "generate_content": {"input_tokens": 1800, "output_tokens": 3000},    # per article
    "generate_image_prompts": {"input_tokens": 1200, "output_tokens": 400},
    "generate_images": {"images": 1},                                     # per image
}

ESTIMATE_MARGIN = 1.2


class InsufficientCredits(PaymentRequired):
    code = "insufficient_credits"


class AccountPastDue(PaymentRequired):
    code = "account_past_due"


PAST_DUE_MESSAGE = ("The last payment for this account's plan failed, so new generation is paused. "
                    "Update the payment method in the billing portal (POST /v1/billing/portal returns its "
                    "URL); generation resumes as soon as the invoice is paid.")


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    images: int = 0
    model: str | None = None
    provider: str | None = None


@dataclass(frozen=True)
class Price:
    tokens_per_credit: int | None = None
    credits_per_image: int | None = None
    base_credits: int = 1


def credit_type_of(operation: str) -> str:
    try:
        return OPERATION_CREDIT_TYPE[operation]
    except KeyError:
        raise ValueError(f"unknown operation {operation!r}") from None


def cost_in_credits(usage: Usage, price: Price) -> int:
    if usage.images:
        per_image = price.credits_per_image if price.credits_per_image is not None else 1
        return max(price.base_credits, per_image * usage.images)
    tokens = usage.input_tokens + usage.output_tokens - usage.cached_tokens // 2
    if tokens <= 0:
        return 0
    per_credit = max(1, price.tokens_per_credit or 1000)
    return max(price.base_credits, math.ceil(tokens / per_credit))


def price_for(operation: str, model_name: str | None) -> Price:
    """The price of an operation on a model, from AIModelConfig and CreditCostConfig."""
    base = 1
    try:
        cost = CreditCostConfig.get("global", operation)
        if cost.is_active:
            base = int(cost.base_credits)
    except CreditCostConfig.DoesNotExist:
        pass
    if model_name:
        try:
            model = AIModelConfig.get("global", model_name)
            return Price(tokens_per_credit=int(model.tokens_per_credit) if model.tokens_per_credit else None,
                         credits_per_image=int(model.credits_per_image) if model.credits_per_image else None,
                         base_credits=base)
        except AIModelConfig.DoesNotExist:
            pass
    return Price(base_credits=base)


# --- reading -----------------------------------------------------------------------------

def balances(account_id: str) -> dict[str, dict[str, int]]:
    bal = get_balance(account_id)
    return {t: {"plan": int(getattr(bal, f"{t}_plan") or 0), "pack": int(getattr(bal, f"{t}_pack") or 0),
                "available": bal.available(t)} for t in CREDIT_TYPES}


def require_credits(account_id: str, estimate: dict[str, int], *, margin: float = ESTIMATE_MARGIN) -> None:
    """Refuse work that the balance cannot cover with a margin (402 insufficient_credits), and
    any generation while a plan invoice is unpaid (402 account_past_due), from the same read."""
    bal = get_balance(account_id)
    if bal.past_due_invoices:
        raise AccountPastDue(PAST_DUE_MESSAGE, details={"unpaid_invoices": sorted(bal.past_due_invoices),
                                                        "fix": "POST /v1/billing/portal"})
    short = {t: n for t, n in estimate.items() if n and bal.available(t) < math.ceil(n * margin)}
    if short:
        raise InsufficientCredits(
            "Not enough credits for this work: " + ", ".join(
                f"{t} needs about {math.ceil(estimate[t] * margin)} (with margin), {bal.available(t)} left"
                for t in short) + ". Buy a credit pack or wait for the next period.",
            details={"estimate": estimate, "margin": margin,
                     "balance": {t: bal.available(t) for t in CREDIT_TYPES}})


def estimate_operation(operation: str, count: int, model_name: str | None) -> dict[str, int]:
    typical = TYPICAL_USAGE.get(operation)
    if not typical or count <= 0:
        return {}
    per_item = cost_in_credits(Usage(**typical), price_for(operation, model_name))
    return {credit_type_of(operation): per_item * count}


# --- writing -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Tally:
    """A figure that describes a charge, moved in the charge's own transaction.

    ``item`` is a key-only instance of the record (a Job, a JobItem, a Content); its
    ``condition`` should require that the record exists, or an update would create a stub.
    ``what`` names the record in the 404 raised when the condition fails (it was deleted).
    """

    item: Model
    actions: Sequence[Action]
    condition: Condition | None
    what: str


@dataclass
class LedgerResult:
    applied: bool  # False: this key was already recorded; nothing changed
    entry: CreditLedgerEntry | None
    amount: int = 0
    details: dict[str, Any] = field(default_factory=dict)


def charge(account_id: str, *, operation: str, amount: int, key: str, site_id: str | None = None,
           usage: Usage | None = None, user_id: str | None = None, job_id: str | None = None,
           related_object_id: str | None = None, note: str | None = None,
           tallies: Sequence[Tally] = (), record_free: bool = False) -> LedgerResult:
    """Debit ``amount`` credits of the operation's type, once per ``key``, and apply ``tallies``
    in the same transaction (so they move exactly when the debit is written, never twice).

    Raises InsufficientCredits when the balance cannot pay, NotFound when a tallied record
    is gone: nothing is written then. A charge of 0 writes nothing, tallies included, unless
    ``record_free`` (a call on the account's own key): then the entry records its usage at 0.
    """
    credit_type = credit_type_of(operation)
    if amount < 0:
        raise ValueError("amount must be >= 0")
    usage = usage or Usage()
    if amount == 0 and not record_free:
        return LedgerResult(applied=False, entry=None)
    plan_attr = getattr(CreditBalance, f"{credit_type}_plan")
    pack_attr = getattr(CreditBalance, f"{credit_type}_pack")

    def attempt() -> LedgerResult:
        if (done := existing_entry(account_id, "debit", key)) is not None:
            return LedgerResult(applied=False, entry=done, amount=-int(done.delta))
        bal = get_balance(account_id)
        plan_left = int(getattr(bal, f"{credit_type}_plan") or 0)
        pack_left = int(getattr(bal, f"{credit_type}_pack") or 0)
        if plan_left + pack_left < amount:
            raise InsufficientCredits(
                f"Not enough {credit_type} credits: this costs {amount}, {plan_left + pack_left} left.",
                details={"credit_type": credit_type, "needed": amount, "available": plan_left + pack_left})
        from_plan = min(plan_left, amount)
        from_pack = amount - from_plan
        entry = ledger_entry(account_id, "debit", key, credit_type, -amount, -from_plan, -from_pack, operation,
                             site_id, user_id=user_id, job_id=job_id, related_object_id=related_object_id,
                             note=note, model=usage.model, provider=usage.provider, input_tokens=usage.input_tokens,
                             output_tokens=usage.output_tokens, cached_tokens=usage.cached_tokens,
                             images=usage.images)
        # Only the buckets drawn from are touched: an absent attribute fails any condition.
        parts = [(attr, n) for attr, n in ((plan_attr, from_plan), (pack_attr, from_pack)) if n]
        condition = None
        for attr, n in parts:
            condition = (attr >= n) if condition is None else condition & (attr >= n)
        tx = Transaction("charge")
        tx.put(entry, condition=new_entry_only(), label="ledger")
        if parts:
            tx.update(CreditBalance(account_id, BALANCE_KEY), [attr.add(-n) for attr, n in parts],
                      condition=condition, label="balance")
        for n, tally in enumerate(tallies):
            tx.update(tally.item, tally.actions, condition=tally.condition, label=f"tally {n}")
        try:
            tx.commit()
        except ConditionsFailed as exc:
            gone = [tally for n, tally in enumerate(tallies) if f"tally {n}" in exc.labels]
            if gone and "ledger" not in exc.labels:
                raise NotFound(gone[0].what) from None
            raise  # the entry exists (a retry: the next attempt returns it), or the balance moved: read again
        metric("CreditsSpent", amount, "Count", credit_type=credit_type)
        return LedgerResult(applied=True, entry=entry, amount=amount)

    return optimistic(attempt, what="credit balance")


def grant(account_id: str, *, credit_type: str, amount: int, key: str, bucket: str = "plan",
          operation: str = "plan_grant", kind: str = "grant", note: str | None = None,
          user_id: str | None = None) -> LedgerResult:
    """Add credits to the plan or pack bucket, once per ``key``."""
    if credit_type not in CREDIT_TYPES:
        raise UnprocessableEntity(f"Unknown credit type {credit_type!r}.")
    if bucket not in ("plan", "pack"):
        raise ValueError("bucket must be plan or pack")
    attr = getattr(CreditBalance, f"{credit_type}_{bucket}")
    entry = ledger_entry(account_id, kind, key, credit_type, amount, amount if bucket == "plan" else 0,
                         amount if bucket == "pack" else 0, operation, None, note=note, user_id=user_id)
    tx = Transaction("grant")
    tx.put(entry, condition=new_entry_only(), label="ledger")
    tx.update(CreditBalance(account_id, BALANCE_KEY), [attr.add(amount)], label="balance")
    try:
        tx.commit()
    except ConditionsFailed:  # only the entry has a condition: granted before
        return LedgerResult(applied=False, entry=existing_entry(account_id, kind, key))
    return LedgerResult(applied=True, entry=entry, amount=amount)


def ledger_totals(entries: Iterable[CreditLedgerEntry]) -> dict[str, int]:
    totals = dict.fromkeys(CREDIT_TYPES, 0)
    for e in entries:
        totals[e.credit_type] = totals.get(e.credit_type, 0) + int(e.delta)
    return totals


def start_first_period(account_id: str, plan: Any, *, days: int = 30) -> None:
    """A new account's first period: its plan's credits, granted once."""
    start = utcnow()
    open_period(account_id, plan, start=start, end=start + timedelta(days=days), source="signup", source_id="signup")
