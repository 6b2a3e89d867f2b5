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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import Attribute, UnicodeAttribute
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, Projection

from chalicelib.models.accounts import site_key as site_partition
from chalicelib.models.base import TimestampedModel, index_meta
from chalicelib.models.site_scope import Partition, SectorIndex


@dataclass(frozen=True)
class Sparse:
    """The index holds only records whose state passes ``test``; a list asks for them with ``flag``=true."""

    flag: str
    test: Callable[[dict[str, Any]], bool]


def gsi(name: str, hash_attr: str, range_attr: str, *, by: tuple[str, ...] | None = None,
        only: Sparse | None = None, forward: bool = False, range_type: type[Attribute] = UnicodeAttribute,
        projection: Projection | None = None, derived: bool = True) -> GlobalSecondaryIndex:
    """A GSI on (hash_attr: string, range_attr) named ``name``; attributes must exist on the model.

    ``by``: the hash key is the site key followed by these state attributes
    (``account#site#<by...>``): the key shape is written here once, and both the record's
    derived keys (``SiteRecord.index_keys``) and the site's lists (``services.records``) follow
    it. A record with one of them unset is not in the index. ``by=None``: a key not under one
    site (global shards, the intent guard), computed by the model's ``other_keys``.
    ``forward``: the list reads the range key ascending (else newest first).
    ``derived=False``: a list like the others, but its key is written by the one service that owns its
    attributes (the content score), not by every save and transition: a transition never conditions on
    them nor rewrites their key from a stale read.
    """
    attrs = {
        "Meta": index_meta(name, projection or AllProjection()),
        hash_attr: UnicodeAttribute(hash_key=True),
        range_attr: range_type(range_key=True),
    }
    cls = type(f"{name.title().replace('_', '')}Index", (GlobalSecondaryIndex,), attrs)
    index = cls()
    index.hash_attr, index.by, index.only, index.forward = hash_attr, by, only, forward
    index.derived = derived
    return index


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

    @classmethod
    def site_indexes(cls) -> list[GlobalSecondaryIndex]:
        """The GSIs keyed under one site (declared with ``by``), in declaration order."""
        return [index for index in cls._indexes.values() if getattr(index, "by", None) is not None]

    def index_keys(self, **overrides: Any) -> dict[str, str | None]:
        """GSI key attribute -> value (None: not in that sparse index) for this state."""
        s = self.state(**overrides)
        keys: dict[str, str | None] = {}
        for index in self.site_indexes():
            if not getattr(index, "derived", True):
                continue
            values = [s[name] for name in index.by]
            inside = all(v is not None and v != "" for v in values) and (index.only is None or index.only.test(s))
            keys[index.hash_attr] = join_key(self.site_key_value, *values) if inside else None
        keys.update(self.other_keys(s))
        return keys

    def other_keys(self, state: dict[str, Any]) -> dict[str, str | None]:
        """Derived keys of the indexes not under one site (``gsi(by=None)``)."""
        return {}

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
