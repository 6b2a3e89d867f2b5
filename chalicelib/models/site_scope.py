"""How each table's records of one site (and of one sector) are found: declared once, on the model.

Every table model carries ``site_scope``: the rule that finds its records of a site, or why it
has none (a platform or account record), or why they are kept when the site goes (the credit
ledger). Tables with records of a sector also carry ``sector_scope``. Deleting a site or a
sector (``services.deletion``) is nothing but these rules run in dependency order, so a table
added later is deleted with its site as soon as it says how its records are found, and
tests/unit/test_site_scope.py fails for any table that does not say.

Every rule finds records with a GetItem or a Query (a table partition, an index partition, or
the partitions of a parent's records), never a Scan.

This module is deliberately not in ``MODEL_MODULES``: it defines no table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class Scope:
    """Base of the rules. ``deletes``: the rule finds records that a deletion removes."""

    deletes = True


@dataclass(frozen=True)
class Partition(Scope):
    """Every item of the partition ``key(account_id, site_id)`` belongs to the site.

    ``owner_attr``: for a pre-authentication lookup keyed by the site id alone (a WordPress
    webhook's route), the attribute that must hold the account id before an item is deleted.
    """

    key: Callable[[str, str], str]
    owner_attr: str | None = None


@dataclass(frozen=True)
class Item(Scope):
    """One item of the site, keyed ``(account_id, site_id)`` (a per-site settings record)."""


@dataclass(frozen=True)
class SectorIndex(Scope):
    """A sector's records: the GSI ``index`` partitioned by ``account#site#sector``."""

    index: str


@dataclass(frozen=True)
class SectorPartition(Scope):
    """Every item of the partition ``key(account_id, site_id, sector_id)`` belongs to the sector."""

    key: Callable[[str, str, str], str]


@dataclass(frozen=True)
class ChildrenOf(Scope):
    """Each record of ``parent`` (found by the parent's own rule) owns the partition ``key(parent)``."""

    parent: type
    key: Callable[[Any], str]


@dataclass(frozen=True)
class ChildOf(Scope):
    """Each record of ``parent`` owns at most one item, keyed ``key(parent)`` -> (hash, range)."""

    parent: type
    key: Callable[[Any], tuple[str, str]]


@dataclass(frozen=True)
class Itself(Scope):
    """The site's (or sector's) own record: deleted last, it is also the "stopped" flag until then."""


@dataclass(frozen=True)
class Kept(Scope):
    """Records of the site that outlive it, and why (e.g. money history is never deleted)."""

    reason: str
    deletes = False


@dataclass(frozen=True)
class NotSiteScoped(Scope):
    """No record of this table belongs to one site (platform or account-wide records)."""

    reason: str
    deletes = False


PLATFORM = NotSiteScoped("a platform record, the same for every account")
ACCOUNT = NotSiteScoped("an account-wide record, shared by all the account's sites")
