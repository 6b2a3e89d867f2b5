"""Sites, their sectors, and the industry catalogue."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pynamodb.exceptions import TransactWriteError

from chalicelib.api.errors import NotFound, PaymentRequired, UnprocessableEntity
from chalicelib.ids import new_id
from chalicelib.models.accounts import GLOBAL_SCOPE, Account, Industry, Sector, Site, site_key
from chalicelib.models.base import is_condition_failure
from chalicelib.models.transactions import transact_write
from chalicelib.services.identity import get_account
from chalicelib.services.plans import get_plan
from chalicelib.timeutil import utcnow


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

def get_site(account_id: str, site_id: str) -> Site:
    """The caller's site, or 404: another account's site is indistinguishable from none."""
    try:
        return Site.get(account_id, site_id)
    except Site.DoesNotExist:
        raise NotFound("Site") from None


def create_site(account_id: str, *, name: str, domain: str = "", industry_id: str | None = None,
                time_zone: str = "UTC", is_active: bool = True) -> Site:
    validate_time_zone(time_zone)
    _check_industry(industry_id)
    account = get_account(account_id)
    plan = get_plan(account.plan_id)
    site = Site(account_id, new_id(), name=name, domain=domain, industry_id=industry_id,
                time_zone=time_zone, is_active=is_active)
    try:
        with transact_write() as tx:
            tx.update(account, actions=[Account.site_count.add(1)],
                      condition=Account.site_count < int(plan.max_sites))
            tx.save(site)
    except TransactWriteError as exc:
        if is_condition_failure(exc):
            raise PaymentRequired(
                f"Your plan allows {int(plan.max_sites)} sites; upgrade the plan or delete a site.",
                code="plan_limit_reached", details={"limit": "max_sites", "max": int(plan.max_sites)}) from None
        raise
    return site


def update_site(account_id: str, site_id: str, changes: dict[str, Any]) -> Site:
    site = get_site(account_id, site_id)
    if "time_zone" in changes:
        validate_time_zone(changes["time_zone"])
    if changes.get("industry_id"):
        _check_industry(changes["industry_id"])
    actions = [getattr(Site, field).set(value) for field, value in changes.items()]
    if actions:
        site.update(actions=[*actions, Site.updated_at.set(utcnow())], condition=Site.site_id.exists())
    return site


def delete_site(account_id: str, site_id: str) -> None:
    """Delete a site and its sectors; frees a place under the plan's site limit."""
    site = get_site(account_id, site_id)
    for sector in Sector.query(site_key(account_id, site_id)):
        sector.delete()
    try:
        with transact_write() as tx:
            tx.delete(site, condition=Site.site_id.exists())
            tx.update(Account(account_id), actions=[Account.site_count.add(-1)])
    except TransactWriteError as exc:
        if is_condition_failure(exc):
            raise NotFound("Site") from None
        raise


# --- sectors ----------------------------------------------------------------------------

def get_sector(account_id: str, site_id: str, sector_id: str) -> Sector:
    try:
        return Sector.get(site_key(account_id, site_id), sector_id)
    except Sector.DoesNotExist:
        raise NotFound("Sector") from None


def create_sector(account_id: str, site_id: str, *, name: str, description: str = "",
                  is_active: bool = True) -> Sector:
    get_site(account_id, site_id)
    sector = Sector(site_key(account_id, site_id), new_id(), account_id=account_id, site_id=site_id,
                    name=name, description=description, is_active=is_active)
    sector.save()
    return sector


def update_sector(account_id: str, site_id: str, sector_id: str, changes: dict[str, Any]) -> Sector:
    sector = get_sector(account_id, site_id, sector_id)
    actions = [getattr(Sector, field).set(value) for field, value in changes.items()]
    if actions:
        sector.update(actions=[*actions, Sector.updated_at.set(utcnow())], condition=Sector.sector_id.exists())
    return sector


def delete_sector(account_id: str, site_id: str, sector_id: str) -> None:
    sector = get_sector(account_id, site_id, sector_id)
    sector.delete()


# --- industries (global; staff write) ---------------------------------------------------

def create_industry(*, name: str, description: str = "", industry_id: str | None = None) -> Industry:
    industry = Industry(GLOBAL_SCOPE, industry_id or new_id(), name=name, description=description)
    industry.save()
    return industry


def update_industry(industry_id: str, changes: dict[str, Any]) -> Industry:
    industry = get_industry(industry_id)
    actions = [getattr(Industry, field).set(value) for field, value in changes.items()]
    if actions:
        industry.update(actions=[*actions, Industry.updated_at.set(utcnow())])
    return industry


def delete_industry(industry_id: str) -> None:
    get_industry(industry_id).delete()
