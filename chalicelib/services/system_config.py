"""The smaller platform records: operation credit costs, content strategies, module switches."""

from __future__ import annotations

from typing import Any

from chalicelib.models.accounts import GLOBAL_SCOPE
from chalicelib.models.system import CreditCostConfig, GlobalModuleSettings, GlobalStrategy
from chalicelib.services import system_store
from chalicelib.services.ttl_cache import TTLCache, clear_all

_modules = TTLCache("global-module-settings")


# --- credit costs ---------------------------------------------------------------------------

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

def list_strategies() -> list[GlobalStrategy]:
    return list(GlobalStrategy.query(GLOBAL_SCOPE))


def get_strategy(strategy_id: str) -> GlobalStrategy:
    return system_store.get_or_404(GlobalStrategy, GLOBAL_SCOPE, strategy_id, "Strategy")


def create_strategy(*, strategy_id: str, updated_by: str | None = None, **fields: Any) -> GlobalStrategy:
    return system_store.create(GlobalStrategy(GLOBAL_SCOPE, strategy_id, updated_by=updated_by, **fields),
                               "Strategy")


def update_strategy(strategy_id: str, changes: dict[str, Any], *, updated_by: str | None = None) -> GlobalStrategy:
    return system_store.update(get_strategy(strategy_id), changes, updated_by=updated_by, what="Strategy")


def delete_strategy(strategy_id: str) -> None:
    system_store.delete(GlobalStrategy, GLOBAL_SCOPE, strategy_id, "Strategy")


# --- platform module switches ---------------------------------------------------------------

def get_module_settings(*, fresh: bool = False) -> GlobalModuleSettings:
    def load() -> GlobalModuleSettings:
        try:
            return GlobalModuleSettings.get(GLOBAL_SCOPE, consistent_read=fresh)
        except GlobalModuleSettings.DoesNotExist:
            return GlobalModuleSettings(GLOBAL_SCOPE)

    return load() if fresh else _modules.get_or_load("singleton", load)


def module_offered(module: str) -> bool:
    """Does the platform offer this module at all (before any account switch)?"""
    return bool(getattr(get_module_settings(), f"{module}_enabled"))


def update_module_settings(changes: dict[str, bool], *, updated_by: str | None = None) -> GlobalModuleSettings:
    if not changes:
        return get_module_settings(fresh=True)
    system_store.put_if_absent(GlobalModuleSettings(GLOBAL_SCOPE))
    item = system_store.update(GlobalModuleSettings(GLOBAL_SCOPE), changes, updated_by=updated_by,
                               what="Module settings")
    clear_all()
    return item
