"""Who is calling, and what a request needs to know before its work: read in one round trip.

An access token names an account, a user and a session. Before a route does anything, the
user (role, active, ended sessions), the account (active), the account's module switches and,
under ``/v1/sites/{site_id}``, the site (and sector) are read together in one BatchGetItem.
Nothing of it is cached between requests, so a role change, a deactivation or a logout takes
effect on the very next request.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.auth import tokens
from chalicelib.auth.context import Tenant
from chalicelib.auth.roles import Role
from chalicelib.errors import Forbidden, Unauthorized
from chalicelib.models.accounts import Account, Sector, Site, User, site_key
from chalicelib.models.batch import Key, get_many
from chalicelib.models.modules import ModuleEnableSettings


def account_inactive() -> Forbidden:
    return Forbidden("This account is deactivated; contact support to have it reactivated.",
                     code="account_inactive")


@dataclass(frozen=True)
class Caller:
    tenant: Tenant
    user: User
    account: Account
    modules: ModuleEnableSettings | None = None  # None: not asked for
    site: Site | None = None  # None: not asked for, or no such site of this account
    sector: Sector | None = None


def load(token: str, *, modules: bool = False, site_id: str | None = None,
         sector_id: str | None = None) -> Caller:
    """Verify an access token and read what the request needs; 401 / 403 account_inactive.

    The role is read from the user record, not the token, so a role change or a deactivation
    takes effect at once; logout is honoured through ``revoked_sessions``, a password reset or
    change through ``session_generation``; an account's
    deactivation through its own flag (and the copy each user carries).
    """
    try:
        claims = tokens.verify_access_token(token)
    except tokens.InvalidToken:
        raise Unauthorized() from None
    account_id = claims.account_id
    user_key, account_key = Key(User, account_id, claims.user_id), Key(Account, account_id)
    modules_key = Key(ModuleEnableSettings, account_id) if modules else None
    site_at = Key(Site, account_id, site_id) if site_id else None
    sector_at = Key(Sector, site_key(account_id, site_id), sector_id) if site_id and sector_id else None
    found = get_many([k for k in (user_key, account_key, modules_key, site_at, sector_at) if k is not None])
    user, account = found[user_key], found[account_key]
    if user is None or account is None:
        raise Unauthorized()
    if (not user.is_active or claims.session_id in (user.revoked_sessions or {})
            or claims.generation < int(user.session_generation or 0)):  # a password reset or change ended it
        raise Unauthorized("This session has ended; sign in again.")
    if user.account_inactive or account.is_active is False:  # tokens issued before the deactivation too
        raise account_inactive()
    tenant = Tenant(account_id=user.account_id, user_id=user.user_id, role=Role(user.role),
                    session_id=claims.session_id, is_staff=bool(user.is_staff))
    switches = None
    if modules_key is not None:
        switches = found[modules_key] or ModuleEnableSettings(account_id)  # no item: the defaults
    return Caller(tenant, user, account, switches, found[site_at] if site_at else None,
                  found[sector_at] if sector_at else None)
