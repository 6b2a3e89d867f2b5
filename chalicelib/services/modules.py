"""Module switches per account (ModuleEnableSettings): a disabled module's routes answer 403.

The router checks the switch of every route declared with a module (``check_enabled``) on
the settings it read with the caller (services.caller: the same BatchGetItem); work started
outside a request asks ``require_module_enabled``. A missing item means the defaults.
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import Forbidden
from chalicelib.models.modules import MODULE_DEFAULTS, ModuleEnableSettings
from chalicelib.observability import logger
from chalicelib.timeutil import utcnow

MODULES = tuple(MODULE_DEFAULTS)


def get_settings(account_id: str) -> ModuleEnableSettings:
    try:
        return ModuleEnableSettings.get(account_id)
    except ModuleEnableSettings.DoesNotExist:
        return ModuleEnableSettings(account_id)


def enabled_modules(account_id: str) -> dict[str, bool]:
    settings = get_settings(account_id)
    return {module: settings.enabled(module) for module in MODULES}


def require_module_enabled(account_id: str, module: str) -> None:
    check_enabled(get_settings(account_id), module)


def check_enabled(settings: ModuleEnableSettings, module: str) -> None:
    """403 module_disabled unless the account has ``module`` switched on."""
    if module not in MODULE_DEFAULTS:
        # A route tagged with a module that has no switch is always on; say so loudly.
        logger.warning("route declared with a module that has no switch", extra={"module": module})
        return
    if not settings.enabled(module):
        raise Forbidden(f"The {module} module is switched off for this account; an admin can switch it on "
                        "with PATCH /v1/account/modules.", code="module_disabled", details={"module": module})


def update_modules(account_id: str, changes: dict[str, bool], *, updated_by: str | None = None) -> dict[str, bool]:
    if changes:
        actions: list[Any] = [getattr(ModuleEnableSettings, f"{m}_enabled").set(bool(v)) for m, v in changes.items()]
        actions.append(ModuleEnableSettings.created_at.set(ModuleEnableSettings.created_at | utcnow()))
        if updated_by:
            actions.append(ModuleEnableSettings.updated_by.set(updated_by))
        ModuleEnableSettings(account_id).update(actions=actions)
    return enabled_modules(account_id)
