"""The API's plain lists: one page of one partition, newest first where ids are time-ordered.

Each is a Query of a partition that starts with the caller's account id, paged with a signed
cursor bound to that partition (models.pages), so a cursor of one list never opens another.
Lists with filters of their own (planner and writer records) are in services.records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.models.accounts import GLOBAL_SCOPE, Industry, Sector, Site, site_key
from chalicelib.models.automation import AutomationRun
from chalicelib.models.billing import CreditLedgerEntry, CreditPeriod
from chalicelib.models.jobs import Job, JobItem, job_key
from chalicelib.models.pages import Page, paginate
from chalicelib.services import identity
from chalicelib.timeutil import iso

MAX_FAILED_ITEMS = 50


def sites(account_id: str, *, limit: int, cursor: str | None) -> Page:
    return paginate(lambda **kw: Site.query(account_id, **kw), scope=f"sites:{account_id}", limit=limit,
                    cursor=cursor)


def sectors(account_id: str, site_id: str, *, limit: int, cursor: str | None) -> Page:
    key = site_key(account_id, site_id)
    return paginate(lambda **kw: Sector.query(key, **kw), scope=f"sectors:{key}", limit=limit, cursor=cursor)


def industries(*, limit: int, cursor: str | None) -> Page:
    return paginate(lambda **kw: Industry.query(GLOBAL_SCOPE, **kw), scope="industries", limit=limit,
                    cursor=cursor)


def users(account_id: str, *, limit: int, cursor: str | None) -> Page:
    return paginate(lambda **kw: identity.list_users(account_id, **kw), scope=f"users:{account_id}", limit=limit,
                    cursor=cursor)


def jobs(account_id: str, site_id: str, *, limit: int, cursor: str | None) -> Page:
    key = site_key(account_id, site_id)
    return paginate(lambda **kw: Job.query(key, scan_index_forward=False, **kw), scope=f"jobs:{key}", limit=limit,
                    cursor=cursor)


def job_items(account_id: str, job_id: str, status: str | None, *, limit: int, cursor: str | None) -> Page:
    key = job_key(account_id, job_id)
    condition = (JobItem.status == status) if status else None
    return paginate(lambda **kw: JobItem.query(key, filter_condition=condition, **kw),
                    scope=f"job-items:{key}:{status}", limit=limit, cursor=cursor)


def failed_job_items(account_id: str, job_id: str) -> list[JobItem]:
    """The first failed items of a job, with their reasons."""
    return list(JobItem.query(job_key(account_id, job_id), filter_condition=JobItem.status == "failed",
                              limit=MAX_FAILED_ITEMS))


def automation_runs(account_id: str, site_id: str, *, limit: int, cursor: str | None) -> Page:
    key = site_key(account_id, site_id)
    return paginate(lambda **kw: AutomationRun.query(key, scan_index_forward=False, **kw),
                    scope=f"automation-runs:{key}", limit=limit, cursor=cursor)


def credit_periods(account_id: str, *, limit: int, cursor: str | None) -> Page:
    return paginate(lambda **kw: CreditPeriod.query(account_id, scan_index_forward=False, **kw),
                    scope=f"periods:{account_id}", limit=limit, cursor=cursor)


def ledger(account_id: str, *, kinds: set[str] | None, start: datetime | None, end: datetime | None,
           site_id: str | None, operation: str | None, limit: int, cursor: str | None) -> Page:
    """Ledger entries newest first, between two times (inclusive), of one site or the whole account."""
    lo = iso(start) if start else "0"  # below any ISO time; DynamoDB refuses an empty key value
    hi = (iso(end) if end else "9999") + "~"
    condition: Any = None
    if kinds is not None:
        condition = CreditLedgerEntry.kind.is_in(*kinds)
    if operation:
        op = CreditLedgerEntry.operation == operation
        condition = op if condition is None else condition & op
    if site_id:
        key = site_key(account_id, site_id)
        index, scope = CreditLedgerEntry.by_site, f"ledger-site:{key}"
    else:
        key, index, scope = account_id, CreditLedgerEntry.by_time, f"ledger:{account_id}"

    def query(**kw: Any) -> Any:
        return index.query(key, CreditLedgerEntry.time_key.between(lo, hi), filter_condition=condition,
                           scan_index_forward=False, **kw)

    return paginate(query, scope=f"{scope}:{lo}:{hi}:{kinds}:{operation}", limit=limit, cursor=cursor)
