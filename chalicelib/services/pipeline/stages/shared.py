"""What the stages share: picking a job's items, AI calls, the stored plan, the charge.

The stages call these through the module (``shared.charge(...)``): one place to wrap them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from chalicelib.ai.errors import AIError
from chalicelib.errors import NotFound, UnprocessableEntity
from chalicelib.models.accounts import site_key
from chalicelib.models.conditions import conditional
from chalicelib.models.jobs import Job, JobItem
from chalicelib.models.site_records import join_key
from chalicelib.models.writer import Content, ContentImage
from chalicelib.services import accounts, ai_models, credits, plans
from chalicelib.services.pipeline.stage import ItemContext, ItemFailed, ItemSkipped, ItemSpec

# --- picking the items of a job ----------------------------------------------------------------


def batch_get(model: Any, skey: str, ids: Iterable[str]) -> dict[str, Any]:
    keys = [(skey, i) for i in dict.fromkeys(ids)]
    return {getattr(item, model._range_key_attribute().attr_name): item for item in model.batch_get(keys)}


def chosen(model: Any, skey: str, ids: list[str], label: str) -> dict[str, Any]:
    """The records a client named, by id; one that is not in this site is a 404."""
    found = batch_get(model, skey, ids)
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"{label} {missing[0]}")
    return found


def ids_or_filter(selection: dict[str, Any], key: str) -> list[str] | None:
    ids = selection.get(key)
    if ids is None:
        return None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise UnprocessableEntity(f"{key} must be a list of ids.", details=[{"field": key, "message": "list of ids"}])
    return list(dict.fromkeys(ids))


def limit(selection: dict[str, Any], default: int, maximum: int, ids: list[str] | None = None) -> int:
    if ids is not None and "limit" not in selection:
        return max(1, len(ids))  # chosen ids are taken whole (MAX_ITEMS_PER_JOB still applies), never cut silently
    value = selection.get("limit", default)
    if not isinstance(value, int) or not 1 <= value <= maximum:
        raise UnprocessableEntity(f"limit must be between 1 and {maximum}.",
                                  details=[{"field": "limit", "message": f"1..{maximum}"}])
    return value


def by_status(model: Any, skey: str, status: str, sector_id: str | None, count: int) -> list[Any]:
    if sector_id:
        return list(model.by_sector_status.query(join_key(skey, sector_id, status), limit=count))
    return list(model.by_status.query(join_key(skey, status), limit=count))


def pick(model: Any, account_id: str, site_id: str, selection: dict[str, Any], *, ids_field: str, label: str,
         status: str, default: int, maximum: int, chosen_in_status: bool = True) -> list[Any]:
    """The records a job works on: the ones a client chose (``ids_field``; with ``chosen_in_status``
    only those in ``status``), else up to ``limit`` in ``status`` (of a sector, with ``sector_id``)."""
    skey = site_key(account_id, site_id)
    ids = ids_or_filter(selection, ids_field)
    count = limit(selection, default, maximum, ids)
    if ids is not None:
        found = chosen(model, skey, ids, label)
        records = [found[i] for i in ids if not chosen_in_status or found[i].status == status]
    else:
        records = by_status(model, skey, status, selection.get("sector_id"), count)
    return records[:count]


def select_content(default_status: str) -> Callable[[str, str, dict[str, Any]], list[ItemSpec]]:
    """The selection of the stages that work on articles: chosen ones, or those in a status."""

    def select(account_id: str, site_id: str, selection: dict[str, Any]) -> list[ItemSpec]:
        contents = pick(Content, account_id, site_id, selection, ids_field="content_ids", label="Content",
                        status=selection.get("status") or default_status, default=20, maximum=500,
                        chosen_in_status=False)
        return [ItemSpec(c.content_id, sector_id=c.sector_id) for c in contents]

    return select


def images_of(skey: str, content_id: str) -> list[ContentImage]:
    return list(ContentImage.by_content.query(join_key(skey, content_id)))


def exists(getter: Callable[..., Any], *args: str) -> bool:
    """Does the record a plan is about to create exist already (a re-applied plan)?"""
    try:
        getter(*args)
    except NotFound:
        return False
    return True


def item_record(ctx: ItemContext, getter: Callable[..., Any], what: str, **options: Any) -> Any:
    """The record the item works on (its id is the item's), in an open sector; gone: the item fails."""
    try:
        record = getter(ctx.account_id, ctx.site_id, ctx.item.item_id, **options)
    except NotFound:
        raise ItemFailed(f"The {what} no longer exists.", code=f"{what}_missing") from None
    ctx.require_open_sector(record.sector_id)
    return record


# --- AI calls and their usage ------------------------------------------------------------------

def engine(account_id: str, industry_id: str | None = None) -> Any:
    # Imported here: the engine (prompts, providers) is the workers' weight, not the API's.
    from chalicelib.services.ai_engine import get_engine

    return get_engine(account_id, industry_id=industry_id)


def ai_call(call: Callable[[], Any], attempts: int = 3) -> Any:
    """One AI call, tried again on a transient failure (outage, 429, timeout).

    A stage that makes several calls should not throw away the ones that worked because
    one of them hit a blip; a persistent failure still reaches SQS's redelivery.
    """
    for attempt in range(attempts):
        try:
            return call()
        except AIError as exc:
            if not exc.retryable or attempt == attempts - 1:
                raise
            time.sleep(min(2.0, 0.2 * 2**attempt))
    raise AssertionError("unreachable")


def model_name(kind: str) -> str | None:
    model = ai_models.get_default_model(kind)
    return model.model_name if model is not None else None


def usage_dict(usage: Any) -> dict[str, Any]:
    return {"provider": usage.provider, "model": usage.model, "input_tokens": int(usage.input_tokens),
            "output_tokens": int(usage.output_tokens), "cached_tokens": int(usage.cached_tokens),
            "images": int(usage.images), "own_key": bool(getattr(usage, "own_key", False))}


def add_usage(total: dict[str, Any] | None, usage: Any) -> dict[str, Any]:
    if total is None:
        return usage_dict(usage)
    for name in ("input_tokens", "output_tokens", "cached_tokens", "images"):
        total[name] += int(getattr(usage, name))
    return total


# --- the plan and the charge -------------------------------------------------------------------

def stored_plan(ctx: ItemContext) -> dict[str, Any] | None:
    return (ctx.item.payload or {}).get("plan")


def planned(ctx: ItemContext, make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The item's stored plan; without one, ``make`` it (the AI calls) and store it first."""
    plan = stored_plan(ctx)
    if plan is None:
        plan = make()
        save_plan(ctx, plan)
    return plan


def save_plan(ctx: ItemContext, plan: dict[str, Any]) -> None:
    """Store the plan on the item; only the worker holding the item may."""
    with conditional(otherwise=ItemSkipped("the item was finished elsewhere")):
        ctx.item.update(actions=[JobItem.payload.set({**ctx.item.payload, "plan": plan})],
                        condition=JobItem.status == "running")
    ctx.item.payload = {**ctx.item.payload, "plan": plan}


def own_key_percent(account_id: str) -> int:
    """What the account's plan charges for a call on its own key, in percent of the platform's price."""
    try:
        return int(plans.get_plan(accounts.get_account(account_id).plan_id).own_key_price_percent or 0)
    except NotFound:
        return 0


def require_balance(ctx: ItemContext, operation: str, model: str | None, count: int = 1, *,
                    own_key: bool = False) -> None:
    """Before an AI call: the balance must pay for a typical call (402 -> the item fails)."""
    if own_key and not own_key_percent(ctx.account_id):
        return  # free on its own key
    estimate = credits.estimate_operation(operation, count, model)
    if estimate:
        credits.require_credits(ctx.account_id, estimate, margin=1.0)


def charge(ctx: ItemContext, operation: str, usage: dict[str, Any] | list[dict[str, Any]], *,
           key: str | None = None, related: str | None = None, article: str | None = None,
           figures: dict[str, int] | None = None) -> int:
    """Charge the stored usage once per business key; returns the credits it cost.

    ``usage`` may list the usage of several models (clustering embeds, then names with a
    text model): each is priced at its own model's rate, and the sum is one charge. The job's
    ``credits_spent``, the item's ``credits`` and, with ``article``, that content's ``cost``
    (credits plus ``figures``) move in the charge's own transaction: counted exactly once,
    whatever crashes or is delivered again.
    """
    parts = [u for u in (usage if isinstance(usage, list) else [usage]) if u]
    if not parts:
        return 0
    amount = 0
    own = any(p.get("own_key") for p in parts)
    percent = own_key_percent(ctx.account_id) if own else 100
    for part in parts:
        one = credits.Usage(input_tokens=part["input_tokens"], output_tokens=part["output_tokens"],
                            cached_tokens=part["cached_tokens"], images=part["images"], model=part["model"],
                            provider=part["provider"])
        price = credits.cost_in_credits(one, credits.price_for(operation, part["model"]))
        # The plan's rule for its own key (default 0); rounded up, so a priced call never costs 0.
        amount += price if not part.get("own_key") else -(-price * percent // 100)
    last = parts[-1]
    billed = credits.Usage(input_tokens=sum(p["input_tokens"] for p in parts),
                           output_tokens=sum(p["output_tokens"] for p in parts),
                           cached_tokens=sum(p["cached_tokens"] for p in parts),
                           images=sum(p["images"] for p in parts),
                           model="+".join(dict.fromkeys(p["model"] for p in parts)), provider=last["provider"])
    tallies = [
        credits.Tally(Job(ctx.job.site_key, ctx.job.job_id), [Job.credits_spent.add(amount)], Job.job_id.exists(),
                      "Job"),
        credits.Tally(JobItem(ctx.item.job_key, ctx.item.item_id), [JobItem.credits.add(amount)],
                      JobItem.item_id.exists(), "Job item"),
    ]
    if article is not None:
        cost = {"credits": amount, **(figures or {})}
        tallies.append(credits.Tally(Content(site_key(ctx.account_id, ctx.site_id), article),
                                     [Content.cost[name].add(value) for name, value in cost.items() if value],
                                     Content.content_id.exists(), "Content"))
    result = credits.charge(ctx.account_id, operation=operation, amount=amount, key=key or ctx.charge_key,
                            site_id=ctx.site_id, usage=billed, job_id=ctx.job.job_id,
                            related_object_id=related or ctx.item.item_id, tallies=tallies,
                            note="own key" if own else None, record_free=own)
    return result.amount if result.entry is not None else amount
