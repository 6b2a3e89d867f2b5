"""ModuleEnableSettings: which product modules are switched on, at one scope.

The platform's item (scope ``global``, staff) holds the switches every account starts from; an
account's item (scope = its account id) holds the switches the account set itself. A switch
left unset (null) falls through: account -> platform -> ``MODULE_DEFAULTS``, so a new account
needs no write and an unseeded platform still has its defaults.
"""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute

from chalicelib.models.base import TimestampedModel, table_meta
from chalicelib.models.system import SCOPED

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
    site_scope = SCOPED
    scope = UnicodeAttribute(hash_key=True)  # "global" or the account id
    planner_enabled = BooleanAttribute(null=True)
    writer_enabled = BooleanAttribute(null=True)
    linker_enabled = BooleanAttribute(null=True)
    optimizer_enabled = BooleanAttribute(null=True)
    automation_enabled = BooleanAttribute(null=True)
    integration_enabled = BooleanAttribute(null=True)
    publisher_enabled = BooleanAttribute(null=True)
    updated_by = UnicodeAttribute(null=True)

    def switch(self, module: str) -> bool | None:
        """This scope's own switch of the module; None when it leaves it to the next scope."""
        return getattr(self, f"{module}_enabled", None)
