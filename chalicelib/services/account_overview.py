"""What platform staff see of one account: found by its id or an e-mail of one of its users.

An e-mail is looked up in the global ``EmailLogin`` table (the normalised e-mail is its key, as
at sign-in): one GetItem, no Scan and no second index to keep in step with it. The overview
reads the account, its plan, balances, sites (one Query) and the newest jobs of its first
sites (one Query each, bounded), never anything of another account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.models.accounts import Account, EmailLogin, Plan, Site, User, site_key
from chalicelib.models.jobs import Job
from chalicelib.services import credits, plans
from chalicelib.services.accounts import get_account
from chalicelib.services.identity import normalize_email

MAX_SITES = 50
SITES_WITH_JOBS = 10  # the newest jobs are read from this many sites (a Query each)
RECENT_JOBS = 20


def find(*, email: str | None = None, account_id: str | None = None) -> list[Account]:
    """The account of ``account_id``, or of the user with ``email`` (none, or one)."""
    if email is not None:
        try:
            account_id = EmailLogin.get(normalize_email(email)).account_id
        except EmailLogin.DoesNotExist:
            return []
    if account_id is None:
        return []
    try:
        return [Account.get(account_id)]
    except Account.DoesNotExist:
        return []


@dataclass(frozen=True)
class Overview:
    account: Account
    owner_email: str | None
    plan: Plan
    balances: dict[str, dict[str, int]]
    sites: list[Site]
    recent_jobs: list[Job]

    def fields(self) -> dict[str, Any]:
        return {**self.account.attribute_values, "owner_email": self.owner_email, "plan": self.plan,
                "balances": self.balances, "sites": self.sites, "recent_jobs": self.recent_jobs}


def overview(account_id: str) -> Overview:
    account = get_account(account_id)
    try:
        owner_email = User.get(account_id, account.owner_user_id).email
    except User.DoesNotExist:
        owner_email = None
    sites = list(Site.query(account_id, limit=MAX_SITES))
    jobs: list[Job] = []
    for site in sites[:SITES_WITH_JOBS]:
        jobs += list(Job.query(site_key(account_id, site.site_id), scan_index_forward=False, limit=RECENT_JOBS))
    jobs.sort(key=lambda job: job.job_id, reverse=True)  # UUIDv7: newest first across sites
    return Overview(account, owner_email, plans.get_plan(account.plan_id), credits.balances(account_id), sites,
                    jobs[:RECENT_JOBS])
