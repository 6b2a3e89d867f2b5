"""ModuleEnableSettings: which product modules an account has switched on (one item per account).

A missing item means "the defaults" (``MODULE_DEFAULTS``), so new accounts need no write.
"""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute

from chalicelib.models.base import TimestampedModel, table_meta
from chalicelib.models.site_scope import ACCOUNT

# The reference's defaults: linker and optimizer are opt-in, the rest is on.
MODULE_DEFAULTS: dict[str, bool] = {
    "planner": True,
    "writer": True,
    "linker": False,
    "optimizer": False,
    "automation": True,
    "integration": True,
    "publisher": True,
}


class ModuleEnableSettings(TimestampedModel):
    Meta = table_meta("module_settings")
    site_scope = ACCOUNT
    account_id = UnicodeAttribute(hash_key=True)
    planner_enabled = BooleanAttribute(null=True)
    writer_enabled = BooleanAttribute(null=True)
    linker_enabled = BooleanAttribute(null=True)
    optimizer_enabled = BooleanAttribute(null=True)
    automation_enabled = BooleanAttribute(null=True)
    integration_enabled = BooleanAttribute(null=True)
    publisher_enabled = BooleanAttribute(null=True)
    updated_by = UnicodeAttribute(null=True)

    def enabled(self, module: str) -> bool:
        value = getattr(self, f"{module}_enabled", None)
        return MODULE_DEFAULTS[module] if value is None else bool(value)
