"""Plans and credit packs: the built-in catalogue, lookups and staff management.

A plan grants credits of each type every period, caps sites and users, and says whether
its unused credits roll over (``rollover``) or expire at the period's end. Internal plans
are never shown to customers nor sold. A credit pack is a one-off purchase whose credits
never expire. Both are sold through Stripe Prices whose ids staff set on the records.
"""

from __future__ import annotations

from typing import Any, TypeVar

from chalicelib.errors import Conflict, NotFound, UnprocessableEntity
from chalicelib.models.accounts import GLOBAL_SCOPE, Plan
from chalicelib.models.billing import CREDIT_TYPES
from chalicelib.models.conditions import conditional
from chalicelib.models.payments import CreditPack
from chalicelib.services import system_store

DEFAULT_PLAN_ID = "free"
M = TypeVar("M", Plan, CreditPack)

# Seeded by `make seed` and the local stack; a missing record falls back to these.
BUILTIN_PLANS: dict[str, dict] = {
    "free": dict(name="Free", max_sites=1, max_users=2, idea_credits=20, content_credits=5,
                 image_credits=10, optimization_credits=0, price_monthly_cents=0, price_yearly_cents=0,
                 sort_order=0),
    "starter": dict(name="Starter", max_sites=3, max_users=5, idea_credits=200, content_credits=50,
                    image_credits=100, optimization_credits=20, price_monthly_cents=4900,
                    price_yearly_cents=49000, sort_order=10),
    "growth": dict(name="Growth", max_sites=10, max_users=15, idea_credits=1000, content_credits=250,
                   image_credits=500, optimization_credits=100, price_monthly_cents=14900,
                   price_yearly_cents=149000, rollover=True, sort_order=20),
    "internal": dict(name="Internal", max_sites=100, max_users=100, idea_credits=100000,
                     content_credits=100000, image_credits=100000, optimization_credits=100000,
                     price_monthly_cents=0, price_yearly_cents=0, is_internal=True, sort_order=99),
}

BUILTIN_PACKS: dict[str, dict] = {
    "content-50": dict(name="50 articles", content_credits=50, price_cents=2900, sort_order=10),
    "images-200": dict(name="200 images", image_credits=200, price_cents=1900, sort_order=20),
    "ideas-500": dict(name="500 ideas", idea_credits=500, price_cents=990, sort_order=30),
}

PLAN_WHAT, PACK_WHAT = "Plan", "Credit pack"


# --- plans -----------------------------------------------------------------------------------

def get_plan(plan_id: str) -> Plan:
    try:
        return Plan.get(GLOBAL_SCOPE, plan_id)
    except Plan.DoesNotExist:
        defaults = BUILTIN_PLANS.get(plan_id) or BUILTIN_PLANS[DEFAULT_PLAN_ID]
        return Plan(GLOBAL_SCOPE, plan_id, **defaults)


def all_plans() -> list[Plan]:
    """Every plan: the stored records, and the built-in ones not stored (yet)."""
    stored = {p.plan_id: p for p in Plan.query(GLOBAL_SCOPE)}
    for plan_id, fields in BUILTIN_PLANS.items():
        stored.setdefault(plan_id, Plan(GLOBAL_SCOPE, plan_id, **fields))
    return sorted(stored.values(), key=lambda p: (int(p.sort_order or 0), int(p.price_monthly_cents or 0), p.plan_id))


def public_plans() -> list[Plan]:
    return [p for p in all_plans() if p.is_active and not p.is_internal]


def purchasable_plan(plan_id: str) -> Plan:
    """A plan a customer may subscribe to; internal and inactive plans do not exist for them."""
    plan = next((p for p in all_plans() if p.plan_id == plan_id), None)
    if plan is None or not plan.is_active or plan.is_internal:
        raise NotFound(PLAN_WHAT)
    return plan


def plan_for_price(price_id: str | None) -> Plan | None:
    """The plan billed with a Stripe Price (one Query of the small global partition)."""
    if not price_id:
        return None
    for plan in Plan.query(GLOBAL_SCOPE):
        if price_id in (plan.stripe_price_monthly, plan.stripe_price_yearly):
            return plan
    return None


def interval_of_price(plan: Plan, price_id: str | None) -> str | None:
    if price_id and price_id == plan.stripe_price_yearly:
        return "year"
    if price_id and price_id == plan.stripe_price_monthly:
        return "month"
    return None


def _check_prices(values: dict[str, Any], own_key: str, *, price_fields: tuple[str, ...], model: type,
                  key_attr: str) -> None:
    """A Stripe Price sells one thing: refuse a price id already used by another record."""
    wanted = {values[f] for f in price_fields if values.get(f)}
    if not wanted:
        return
    for other in model.query(GLOBAL_SCOPE):
        if getattr(other, key_attr) == own_key:
            continue
        used = {getattr(other, f) for f in price_fields} & wanted
        if used:
            raise Conflict(f"The Stripe price {sorted(used)[0]} is already used by {getattr(other, key_attr)}.",
                           code="price_in_use")


PLAN_PRICE_FIELDS = ("stripe_price_monthly", "stripe_price_yearly")


def create_plan(fields: dict[str, Any], *, updated_by: str | None = None) -> Plan:
    _check_prices(fields, fields["plan_id"], price_fields=PLAN_PRICE_FIELDS, model=Plan, key_attr="plan_id")
    plan = Plan(GLOBAL_SCOPE, **fields, updated_by=updated_by)
    return system_store.create(plan, PLAN_WHAT)


def update_plan(plan_id: str, changes: dict[str, Any], *, updated_by: str | None = None) -> Plan:
    """Change a plan; a built-in plan not stored yet is stored with the change."""
    plan = _stored(Plan, plan_id, BUILTIN_PLANS, PLAN_WHAT)
    _check_prices(changes, plan_id, price_fields=PLAN_PRICE_FIELDS, model=Plan, key_attr="plan_id")
    system_store.update(plan, changes, updated_by=updated_by, what=PLAN_WHAT)
    plan.refresh()
    return plan


# --- credit packs ----------------------------------------------------------------------------

def all_packs() -> list[CreditPack]:
    stored = {p.pack_id: p for p in CreditPack.query(GLOBAL_SCOPE)}
    for pack_id, fields in BUILTIN_PACKS.items():
        stored.setdefault(pack_id, CreditPack(GLOBAL_SCOPE, pack_id, **fields))
    return sorted(stored.values(), key=lambda p: (int(p.sort_order or 0), p.pack_id))


def public_packs() -> list[CreditPack]:
    return [p for p in all_packs() if p.is_active]


def purchasable_pack(pack_id: str) -> CreditPack:
    pack = next((p for p in all_packs() if p.pack_id == pack_id), None)
    if pack is None or not pack.is_active:
        raise NotFound(PACK_WHAT)
    return pack


def pack_credits(pack: CreditPack) -> dict[str, int]:
    return {t: int(getattr(pack, f"{t}_credits") or 0) for t in CREDIT_TYPES}


def _validate_pack(values: dict[str, Any], current: CreditPack | None = None) -> None:
    merged = {**(pack_credits(current) if current else {}),
              **{k.removesuffix("_credits"): v for k, v in values.items() if k.endswith("_credits")}}
    if not any(int(v or 0) > 0 for v in merged.values()):
        raise UnprocessableEntity("A credit pack must grant at least one credit.", code="empty_pack")


def create_pack(fields: dict[str, Any], *, updated_by: str | None = None) -> CreditPack:
    _validate_pack(fields)
    _check_prices(fields, fields["pack_id"], price_fields=("stripe_price_id",), model=CreditPack,
                  key_attr="pack_id")
    return system_store.create(CreditPack(GLOBAL_SCOPE, **fields, updated_by=updated_by), PACK_WHAT)


def update_pack(pack_id: str, changes: dict[str, Any], *, updated_by: str | None = None) -> CreditPack:
    pack = _stored(CreditPack, pack_id, BUILTIN_PACKS, PACK_WHAT)
    _validate_pack(changes, pack)
    _check_prices(changes, pack_id, price_fields=("stripe_price_id",), model=CreditPack, key_attr="pack_id")
    system_store.update(pack, changes, updated_by=updated_by, what=PACK_WHAT)
    pack.refresh()
    return pack


# --- seeding ---------------------------------------------------------------------------------

def _stored(model: type[M], key: str, builtins: dict[str, dict], what: str) -> M:
    """The stored record; a built-in one not stored yet is stored first (so that staff can change it)."""
    try:
        return model.get(GLOBAL_SCOPE, key)
    except model.DoesNotExist:
        if key not in builtins:
            raise NotFound(what) from None
        _store_builtin(model(GLOBAL_SCOPE, key, **builtins[key]))
        return model.get(GLOBAL_SCOPE, key)


def _store_builtin(item: Any) -> bool:
    with conditional() as write:  # stored already (perhaps edited by staff): left as it is
        item.save(condition=type(item)._range_key_attribute().does_not_exist())
    return write.held


def seed_builtin_plans() -> int:
    """Create the built-in plans and packs that do not exist yet; never overwrites staff edits."""
    created = sum(_store_builtin(Plan(GLOBAL_SCOPE, plan_id, **fields)) for plan_id, fields in BUILTIN_PLANS.items())
    created += sum(_store_builtin(CreditPack(GLOBAL_SCOPE, pack_id, **fields))
                   for pack_id, fields in BUILTIN_PACKS.items())
    return created
