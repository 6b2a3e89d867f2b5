"""Module switches at two scopes: the platform's (staff) and each account's (its admins).

A module is on for an account if the account switched it on; if the account never switched it,
the platform's switch decides (staff set what every account starts from); if neither did,
``MODULE_DEFAULTS``. A switched-off module's routes answer 403 ``module_disabled``.

The router checks the switch of every route declared with a module (``check_enabled``) on the
account's item it read with the caller (services.caller: the same BatchGetItem); the
platform's item is cached like every platform record (``ttl_cache``). Work started outside a
request asks ``require_module_enabled``.
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import Forbidden
from chalicelib.models.accounts import GLOBAL_SCOPE
from chalicelib.models.modules import MODULE_DEFAULTS, ModuleEnableSettings
from chalicelib.observability import logger
from chalicelib.services.ttl_cache import TTLCache, clear_all
from chalicelib.timeutil import utcnow

MODULES = tuple(MODULE_DEFAULTS)

_platform = TTLCache("platform-module-switches")


def get_settings(scope: str, *, fresh: bool = False) -> ModuleEnableSettings:
    """The switches one scope set itself (an empty item when it set none)."""
    try:
        return ModuleEnableSettings.get(scope, consistent_read=fresh)
    except ModuleEnableSettings.DoesNotExist:
        return ModuleEnableSettings(scope)


def platform_settings(*, fresh: bool = False) -> ModuleEnableSettings:
    if fresh:
        return get_settings(GLOBAL_SCOPE, fresh=True)
    return _platform.get_or_load("switches", lambda: get_settings(GLOBAL_SCOPE))


def resolve(module: str, *scopes: ModuleEnableSettings) -> bool:
    """The first switch set among ``scopes`` (most specific first), else the built-in default."""
    for item in scopes:
        value = item.switch(module)
        if value is not None:
            return bool(value)
    return MODULE_DEFAULTS[module]


def platform_modules(platform: ModuleEnableSettings | None = None) -> dict[str, bool]:
    """Every module's state for an account that set no switch of its own."""
    platform = platform or platform_settings()
    return {module: resolve(module, platform) for module in MODULES}


def enabled_modules(account_id: str, account: ModuleEnableSettings | None = None) -> dict[str, bool]:
    """Every module's state for the account. ``account``: its item, when the caller read it already."""
    account, platform = account or get_settings(account_id), platform_settings()
    return {module: resolve(module, account, platform) for module in MODULES}


def require_module_enabled(account_id: str, module: str) -> None:
    check_enabled(get_settings(account_id), module)


def check_enabled(account: ModuleEnableSettings, module: str) -> None:
    """403 module_disabled unless ``module`` is on for the account whose switches are ``account``."""
    if module not in MODULE_DEFAULTS:
        # A route tagged with a module that has no switch is always on; say so loudly.
        logger.warning("route declared with a module that has no switch", extra={"module": module})
        return
    if not resolve(module, account, platform_settings()):
        raise Forbidden(f"The {module} module is switched off for this account; an admin can switch it on "
                        "with PATCH /v1/account/modules.", code="module_disabled", details={"module": module})


def set_switches(scope: str, changes: dict[str, bool], *, updated_by: str | None = None) -> ModuleEnableSettings:
    """Set some switches of one scope (``{"planner": False}``); the others keep falling through."""
    if changes:
        unknown = set(changes) - set(MODULES)
        if unknown:
            raise ValueError(f"not a module: {', '.join(sorted(unknown))}")
        actions: list[Any] = [getattr(ModuleEnableSettings, f"{m}_enabled").set(bool(v)) for m, v in changes.items()]
        # The item exists from its first switch on: keep the time of that first write.
        actions.append(ModuleEnableSettings.created_at.set(ModuleEnableSettings.created_at | utcnow()))
        if updated_by:
            actions.append(ModuleEnableSettings.updated_by.set(updated_by))
        ModuleEnableSettings(scope).update(actions=actions)
        if scope == GLOBAL_SCOPE:
            clear_all()
    return get_settings(scope, fresh=True)
