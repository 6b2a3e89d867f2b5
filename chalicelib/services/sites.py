"""Sites, their sectors, and the industry catalogue.

A site or sector is *active*, *inactive* (reads only: no writes, no jobs; its scheduled work
waits and goes on when it is active again) or *deleting* (services.deletion: nothing new
starts, then everything it owns is deleted in the background). Every route under
``/v1/sites/{site_id}`` passes ``guard_route`` first (api.routing), and every write that
names a record or a sector checks that record's sector here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.errors import Conflict, NotFound, PaymentRequired, UnprocessableEntity
from chalicelib.ids import new_id
from chalicelib.models.accounts import GLOBAL_SCOPE, Account, Industry, Sector, Site, site_key
from chalicelib.models.conditions import conditional
from chalicelib.models.transactions import Transaction
from chalicelib.services.accounts import get_account
from chalicelib.services.plans import get_plan

GuardLevel = Literal["read", "write", "manage"]


@dataclass
class _RequestScope:
    """What one API request read of sites and sectors (read once), and whether it writes."""

    writing: bool
    sites: dict[tuple[str, str], Site] = field(default_factory=dict)
    sectors: dict[tuple[str, str, str], Sector | None] = field(default_factory=dict)


_scope: ContextVar[_RequestScope | None] = ContextVar("site_request_scope", default=None)


@contextmanager
def request_scope(*, writing: bool, known: Iterable[Site | Sector] = ()) -> Iterator[None]:
    """Around one API request (api.routing): sites and sectors are read once, writes are checked.

    ``known``: the sites and sectors the request has read already (services.caller)."""
    scope = _RequestScope(writing=writing)
    for record in known:
        if isinstance(record, Site):
            scope.sites[(record.account_id, record.site_id)] = record
        else:
            scope.sectors[(record.account_id, record.site_id, record.sector_id)] = record
    token = _scope.set(scope)
    try:
        yield
    finally:
        _scope.reset(token)


def _deleting(what: str, path: str) -> Conflict:
    return Conflict(f"This {what} is being deleted; see GET {path}/deletion for its progress.",
                    code=f"{what}_deleting")


def _inactive(what: str) -> Conflict:
    return Conflict(f"This {what} is deactivated: it can be read, but nothing can be changed or started in it "
                    f"until it is active again (PATCH is_active=true).", code=f"{what}_inactive")


def validate_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnprocessableEntity(f"Unknown time zone {name!r}; use an IANA name such as 'Europe/Berlin'.",
                                  details=[{"field": "time_zone", "message": "unknown time zone"}]) from None
    return name


def get_industry(industry_id: str) -> Industry:
    try:
        return Industry.get(GLOBAL_SCOPE, industry_id)
    except Industry.DoesNotExist:
        raise NotFound("Industry") from None


def _check_industry(industry_id: str | None) -> None:
    if industry_id:
        try:
            get_industry(industry_id)
        except NotFound:
            raise UnprocessableEntity("There is no industry with this id; see GET /v1/industries.",
                                      details=[{"field": "industry_id", "message": "unknown industry"}]) from None


# --- sites ------------------------------------------------------------------------------

def get_site(account_id: str, site_id: str, *, include_deleting: bool = False) -> Site:
    """The caller's site, or 404: another account's site is indistinguishable from none.

    A site being deleted is a 409 ``site_deleting`` unless ``include_deleting``.
    """
    scope = _scope.get()
    site = scope.sites.get((account_id, site_id)) if scope else None
    if site is None:
        try:
            site = Site.get(account_id, site_id)
        except Site.DoesNotExist:
            raise NotFound("Site") from None
        if scope:
            scope.sites[(account_id, site_id)] = site
    if site.deleting_since is not None and not include_deleting:
        raise _deleting("site", f"/v1/sites/{site_id}")
    return site


def guard_route(account_id: str, site_id: str, sector_id: str | None, level: GuardLevel) -> None:
    """A route under the site (and sector) may go on: 404 if missing, 409 if deleting, and for a
    ``write`` 409 if deactivated. ``manage`` (changing or deleting the site or sector itself) is
    how an inactive one is reactivated, so it is allowed while inactive."""
    site = get_site(account_id, site_id)
    if level == "write" and not site.is_active:
        raise _inactive("site")
    if sector_id:
        sector = get_sector(account_id, site_id, sector_id)
        if sector.deleting_since is not None:
            raise _deleting("sector", f"/v1/sites/{site_id}/sectors/{sector_id}")
        if level == "write" and not sector.is_active:
            raise _inactive("sector")


def _sector(account_id: str, site_id: str, sector_id: str) -> Sector | None:
    scope = _scope.get()
    key = (account_id, site_id, sector_id)
    if scope and key in scope.sectors:
        return scope.sectors[key]
    try:
        sector: Sector | None = Sector.get(site_key(account_id, site_id), sector_id)
    except Sector.DoesNotExist:
        sector = None
    if scope:
        scope.sectors[key] = sector
    return sector


def require_open_sector(sector: Sector) -> Sector:
    """New or changed records may go into this sector: 409 while it is deactivated or being deleted."""
    if sector.deleting_since is not None:
        raise _deleting("sector", f"/v1/sites/{sector.site_id}/sectors/{sector.sector_id}")
    if not sector.is_active:
        raise _inactive("sector")
    return sector


def check_writable(records: Iterable[Any]) -> None:
    """Inside a writing API request: every record it touches must be in an active sector.

    Called where site records are read (services.records), so no write route can change a
    record of a deactivated (or deleting) sector, whichever service it goes through.
    """
    scope = _scope.get()
    if scope is None or not scope.writing:
        return
    for record in records:
        sector_id = getattr(record, "sector_id", None)
        if not sector_id:
            continue
        sector = _sector(record.account_id, record.site_id, sector_id)
        if sector is not None:
            require_open_sector(sector)


def create_site(account_id: str, *, name: str, domain: str = "", industry_id: str | None = None,
                time_zone: str = "UTC", is_active: bool = True) -> Site:
    validate_time_zone(time_zone)
    _check_industry(industry_id)
    account = get_account(account_id)
    plan = get_plan(account.plan_id)
    site = Site(account_id, new_id(), name=name, domain=domain, industry_id=industry_id,
                time_zone=time_zone, is_active=is_active)
    tx = Transaction("create site")
    tx.update(account, [Account.site_count.add(1)], condition=Account.site_count < int(plan.max_sites), label="account")
    tx.put(site, label="site")
    with conditional(otherwise=PaymentRequired(
            f"Your plan allows {int(plan.max_sites)} sites; upgrade the plan or delete a site.",
            code="plan_limit_reached", details={"limit": "max_sites", "max": int(plan.max_sites)})):
        tx.commit()
    return site


def update_site(account_id: str, site_id: str, changes: dict[str, Any]) -> Site:
    site = get_site(account_id, site_id)
    if "time_zone" in changes:
        validate_time_zone(changes["time_zone"])
    if changes.get("industry_id"):
        _check_industry(changes["industry_id"])
    reactivated = changes.get("is_active") is True and not site.is_active
    actions = [getattr(Site, name).set(value) for name, value in changes.items()]
    if actions:
        _update_unless_deleting(site, actions, Site.site_id.exists()
                                & Site.deleting_since.does_not_exist(), "site", f"/v1/sites/{site_id}")
    if reactivated:
        resume_held_work(account_id, site_id)
    return site


def _update_unless_deleting(item: Any, actions: list, condition: Any, what: str, path: str) -> None:
    with conditional(otherwise=lambda: _deleting(what, path)):  # a deletion was accepted meanwhile
        item.update(actions=actions, condition=condition)


def resume_held_work(account_id: str, site_id: str) -> None:
    """After a site (or one of its sectors, or its account) is active again: the job items the
    workers held are sent again. Held publishing needs nothing: the tick finds due content again,
    and the automation tick mends a run whose events were held."""
    from chalicelib.services.pipeline import jobs

    jobs.requeue_held_items(account_id, site_id)


# --- sectors ----------------------------------------------------------------------------

def get_sector(account_id: str, site_id: str, sector_id: str) -> Sector:
    sector = _sector(account_id, site_id, sector_id)
    if sector is None:
        raise NotFound("Sector")
    return sector


def create_sector(account_id: str, site_id: str, *, name: str, description: str = "",
                  is_active: bool = True) -> Sector:
    get_site(account_id, site_id)
    sector = Sector(site_key(account_id, site_id), new_id(), account_id=account_id, site_id=site_id,
                    name=name, description=description, is_active=is_active)
    sector.save()
    return sector


def update_sector(account_id: str, site_id: str, sector_id: str, changes: dict[str, Any]) -> Sector:
    sector = get_sector(account_id, site_id, sector_id)
    reactivated = changes.get("is_active") is True and not sector.is_active
    actions = [getattr(Sector, name).set(value) for name, value in changes.items()]
    if actions:
        _update_unless_deleting(sector, actions, Sector.sector_id.exists()
                                & Sector.deleting_since.does_not_exist(), "sector",
                                f"/v1/sites/{site_id}/sectors/{sector_id}")
    if reactivated:
        resume_held_work(account_id, site_id)
    return sector


# --- industries (global; staff write) ---------------------------------------------------

def create_industry(*, name: str, description: str = "", industry_id: str | None = None) -> Industry:
    industry = Industry(GLOBAL_SCOPE, industry_id or new_id(), name=name, description=description)
    industry.save()
    return industry


def update_industry(industry_id: str, changes: dict[str, Any]) -> Industry:
    industry = get_industry(industry_id)
    actions = [getattr(Industry, field).set(value) for field, value in changes.items()]
    if actions:
        industry.update(actions=actions)
    return industry


def delete_industry(industry_id: str) -> None:
    get_industry(industry_id).delete()
