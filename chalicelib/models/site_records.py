"""What the Site+Sector scoped records (planner and writer) share.

Every such table is keyed ``(site_key = f"{account_id}#{site_id}", <record>_id)`` with a
UUIDv7 id, so "newest first" is a descending Query. Filters (by sector, by status, by
parent) are served by GSIs whose hash key is a composite string derived from the record's
state, e.g. ``f"{account_id}#{site_id}#{sector_id}#{status}"``. Those derived attributes are
computed in one place per model (``index_keys``) and written by every save and every
status transition, so an index can never disagree with the record it points at.

This module is deliberately not in ``MODEL_MODULES``: it defines no table.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import Attribute, UnicodeAttribute
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, Projection

from chalicelib.models.accounts import site_key as site_partition
from chalicelib.models.base import TimestampedModel, index_meta
from chalicelib.models.site_scope import Partition, SectorIndex


def gsi(name: str, hash_attr: str, range_attr: str, *, range_type: type[Attribute] = UnicodeAttribute,
        projection: Projection | None = None) -> GlobalSecondaryIndex:
    """A GSI on (hash_attr: string, range_attr) named ``name``; attributes must exist on the model."""
    attrs = {
        "Meta": index_meta(name, projection or AllProjection()),
        hash_attr: UnicodeAttribute(hash_key=True),
        range_attr: range_type(range_key=True),
    }
    cls = type(f"{name.title().replace('_', '')}Index", (GlobalSecondaryIndex,), attrs)
    return cls()


def join_key(*parts: Any) -> str:
    return "#".join(str(p) for p in parts)


class SiteRecord(TimestampedModel):
    """Base of the Site+Sector records. Subclasses declare the keys and ``index_keys``."""

    account_id = UnicodeAttribute()
    site_id = UnicodeAttribute()

    # Keyed by the site (hash ``account#site``) and indexed by sector (``by_sector``): how a
    # deletion finds a site's or a sector's records (models.site_scope).
    site_scope = Partition(site_partition)
    sector_scope = SectorIndex("by_sector")

    # Attributes that index_keys() reads; a status transition conditions on all of them,
    # so the derived keys it writes match the state the item really has.
    STATE_ATTRS: tuple[str, ...] = ("status",)
    # Plain attributes that index_keys() also reads: changing one rewrites the derived keys.
    KEY_INPUTS: tuple[str, ...] = ()

    def index_keys(self, **overrides: Any) -> dict[str, str | None]:
        """GSI key attribute -> value (None: not in that sparse index) for this state."""
        raise NotImplementedError

    def state(self, **overrides: Any) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in self.STATE_ATTRS}
        values.update(overrides)
        return values

    def sync_index_keys(self) -> None:
        for name, value in self.index_keys().items():
            setattr(self, name, value)

    def key_actions(self, **overrides: Any) -> list[Action]:
        """Update actions that rewrite every derived key for the state with ``overrides``."""
        cls = type(self)
        actions: list[Action] = []
        for name, value in self.index_keys(**overrides).items():
            attr = getattr(cls, name)
            actions.append(attr.set(value) if value is not None else attr.remove())
        return actions

    def save(self, *args: Any, **kwargs: Any) -> Any:
        self.sync_index_keys()
        return super().save(*args, **kwargs)

    @property
    def site_key_value(self) -> str:
        return join_key(self.account_id, self.site_id)
