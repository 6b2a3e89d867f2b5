"""Plans: the built-in catalogue and lookups. Staff manage the records (billing issue)."""

from __future__ import annotations

from pynamodb.exceptions import PutError

from chalicelib.models.accounts import GLOBAL_SCOPE, Plan
from chalicelib.models.base import is_condition_failure

DEFAULT_PLAN_ID = "free"

# Seeded by `make seed` and the local stack; a missing record falls back to these.
BUILTIN_PLANS: dict[str, dict] = {
    "free": dict(name="Free", max_sites=1, max_users=2, idea_credits=20, content_credits=5,
                 image_credits=10, optimization_credits=0, price_monthly_cents=0, price_yearly_cents=0),
    "starter": dict(name="Starter", max_sites=3, max_users=5, idea_credits=200, content_credits=50,
                    image_credits=100, optimization_credits=20, price_monthly_cents=4900,
                    price_yearly_cents=49000),
    "growth": dict(name="Growth", max_sites=10, max_users=15, idea_credits=1000, content_credits=250,
                   image_credits=500, optimization_credits=100, price_monthly_cents=14900,
                   price_yearly_cents=149000),
    "internal": dict(name="Internal", max_sites=100, max_users=100, idea_credits=100000,
                     content_credits=100000, image_credits=100000, optimization_credits=100000,
                     price_monthly_cents=0, price_yearly_cents=0, is_internal=True),
}


def get_plan(plan_id: str) -> Plan:
    try:
        return Plan.get(GLOBAL_SCOPE, plan_id)
    except Plan.DoesNotExist:
        defaults = BUILTIN_PLANS.get(plan_id) or BUILTIN_PLANS[DEFAULT_PLAN_ID]
        return Plan(GLOBAL_SCOPE, plan_id, **defaults)


def seed_builtin_plans() -> int:
    """Create the built-in plans that do not exist yet; never overwrites staff edits."""
    created = 0
    for plan_id, fields in BUILTIN_PLANS.items():
        try:
            Plan(GLOBAL_SCOPE, plan_id, **fields).save(condition=Plan.plan_id.does_not_exist())
            created += 1
        except PutError as exc:
            if not is_condition_failure(exc):
                raise
    return created
