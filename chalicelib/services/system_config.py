"""The smaller platform records: operation credit costs and content strategies."""

from __future__ import annotations

from typing import Any

from chalicelib.models.accounts import GLOBAL_SCOPE
from chalicelib.models.pages import Page
from chalicelib.models.system import CreditCostConfig, GlobalStrategy
from chalicelib.services import system_store

# --- credit costs ---------------------------------------------------------------------------

def page_credit_costs(*, limit: int, cursor: str | None) -> Page:
    return system_store.page(CreditCostConfig, GLOBAL_SCOPE, limit=limit, cursor=cursor)


def get_credit_cost(operation_type: str) -> CreditCostConfig:
    return system_store.get_or_404(CreditCostConfig, GLOBAL_SCOPE, operation_type, "Credit cost")


def put_credit_cost(operation_type: str, *, updated_by: str | None = None, **fields: Any) -> CreditCostConfig:
    item = CreditCostConfig(GLOBAL_SCOPE, operation_type, updated_by=updated_by, **fields)
    item.save()
    return item


def update_credit_cost(operation_type: str, changes: dict[str, Any], *,
                       updated_by: str | None = None) -> CreditCostConfig:
    return system_store.update(get_credit_cost(operation_type), changes, updated_by=updated_by, what="Credit cost")


def delete_credit_cost(operation_type: str) -> None:
    system_store.delete(CreditCostConfig, GLOBAL_SCOPE, operation_type, "Credit cost")


# --- strategies -----------------------------------------------------------------------------

def page_strategies(*, limit: int, cursor: str | None) -> Page:
    return system_store.page(GlobalStrategy, GLOBAL_SCOPE, limit=limit, cursor=cursor)


def get_strategy(strategy_id: str) -> GlobalStrategy:
    return system_store.get_or_404(GlobalStrategy, GLOBAL_SCOPE, strategy_id, "Strategy")


def create_strategy(*, strategy_id: str, updated_by: str | None = None, **fields: Any) -> GlobalStrategy:
    return system_store.create(GlobalStrategy(GLOBAL_SCOPE, strategy_id, updated_by=updated_by, **fields),
                               "Strategy")


def update_strategy(strategy_id: str, changes: dict[str, Any], *, updated_by: str | None = None) -> GlobalStrategy:
    return system_store.update(get_strategy(strategy_id), changes, updated_by=updated_by, what="Strategy")


def delete_strategy(strategy_id: str) -> None:
    system_store.delete(GlobalStrategy, GLOBAL_SCOPE, strategy_id, "Strategy")
