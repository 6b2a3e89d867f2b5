"""Who is calling, and what a request needs to know before its work: read in one round trip.

An access token names an account, a user and a session. Before a route does anything, the
user (role, active, ended sessions), the account (active), the account's module switches and,
under ``/v1/sites/{site_id}``, the site (and sector) are read together in one BatchGetItem.
Nothing of it is cached between requests, so a role change, a deactivation or a logout takes
effect on the very next request.

An API key (``sk_...``) costs one more read before that one: its prefix's pointer (a consistent
GetItem: a revoked key has none), which names the account; the key's record then comes in the
same BatchGetItem as the account, switches and site.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.auth import api_keys, tokens
from chalicelib.auth.context import Tenant
from chalicelib.auth.roles import Role
from chalicelib.errors import Forbidden, Unauthorized
from chalicelib.models.accounts import Account, Sector, Site, User, site_key
from chalicelib.models.api_keys import ApiKey, ApiKeyPrefix
from chalicelib.models.batch import Key, get_many
from chalicelib.models.modules import ModuleEnableSettings
from chalicelib.timeutil import utcnow


def account_inactive() -> Forbidden:
    return Forbidden("This account is deactivated; contact support to have it reactivated.",
                     code="account_inactive")


@dataclass(frozen=True)
class Caller:
    tenant: Tenant
    user: User | None  # None: the caller is an API key
    account: Account
    modules: ModuleEnableSettings | None = None  # None: not asked for
    site: Site | None = None  # None: not asked for, or no such site of this account
    sector: Sector | None = None
    api_key: ApiKey | None = None  # the key's record, when the caller is an API key


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
    user_key = Key(User, account_id, claims.user_id)
    found, account, switches, site, sector = _read(account_id, user_key, modules, site_id, sector_id)
    user = found[user_key]
    if user is None:
        raise Unauthorized()
    if (not user.is_active or claims.session_id in (user.revoked_sessions or {})
            or claims.generation < int(user.session_generation or 0)):  # a password reset or change ended it
        raise Unauthorized("This session has ended; sign in again.")
    if user.account_inactive or account.is_active is False:  # tokens issued before the deactivation too
        raise account_inactive()
    tenant = Tenant(account_id=user.account_id, user_id=user.user_id, role=Role(user.role),
                    session_id=claims.session_id, is_staff=bool(user.is_staff))
    return Caller(tenant, user, account, switches, site, sector)


def load_key(key: str, *, modules: bool = False, site_id: str | None = None,
             sector_id: str | None = None) -> Caller:
    """Verify an API key and read what the request needs; 401 / 403 account_inactive.

    The key acts as an admin of its account, within its scopes and site (api.routing checks
    both per route); it is refused when unknown, revoked, expired or not matching its hash.
    """
    invalid = Unauthorized("The API key is invalid, expired or revoked.", code="invalid_api_key")
    try:
        prefix, _ = api_keys.parse(key)
    except api_keys.InvalidKey:
        raise invalid from None
    try:
        pointer = ApiKeyPrefix.get(prefix, consistent_read=True)
    except ApiKeyPrefix.DoesNotExist:
        raise invalid from None
    account_id = pointer.account_id
    key_at = Key(ApiKey, account_id, pointer.key_id)
    found, account, switches, site, sector = _read(account_id, key_at, modules, site_id, sector_id)
    record = found[key_at]
    if record is None or not api_keys.matches(key, record.key_hash) or record.revoked_at is not None:
        raise invalid
    if record.expires_at is not None and record.expires_at <= utcnow():
        raise invalid
    if account.is_active is False:
        raise account_inactive()
    tenant = Tenant(account_id=account_id, user_id=f"api_key:{record.key_id}", role=Role.admin, session_id="",
                    api_key_id=record.key_id, key_scopes=frozenset(record.scopes or ()),
                    key_site_id=record.site_id)
    return Caller(tenant, None, account, switches, site, sector, api_key=record)


def _read(account_id: str, who: Key, modules: bool, site_id: str | None,
          sector_id: str | None) -> tuple[dict, Account, ModuleEnableSettings | None, Site | None, Sector | None]:
    """The caller's record ``who``, the account, its switches, the site and sector: one BatchGetItem."""
    account_key = Key(Account, account_id)
    modules_key = Key(ModuleEnableSettings, account_id) if modules else None
    site_at = Key(Site, account_id, site_id) if site_id else None
    sector_at = Key(Sector, site_key(account_id, site_id), sector_id) if site_id and sector_id else None
    found = get_many([k for k in (who, account_key, modules_key, site_at, sector_at) if k is not None])
    account = found[account_key]
    if account is None:
        raise Unauthorized()
    switches = None
    if modules_key is not None:
        switches = found[modules_key] or ModuleEnableSettings(account_id)  # no item: the defaults
    return (found, account, switches, found[site_at] if site_at else None,
            found[sector_at] if sector_at else None)
