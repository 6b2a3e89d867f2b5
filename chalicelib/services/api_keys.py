"""API keys of an account: created by admins, shown once, revoked at once, counted per minute.

A key is kept as its SHA-256 hash (``auth.api_keys``) in the account's ``ApiKey`` record, and
found by its visible prefix through ``ApiKeyPrefix`` (services.caller reads both: the pointer,
then the record with the account in the request's one BatchGetItem). Revoking marks the record
and deletes the pointer in one transaction; the pointer is read consistently, so the very next
request with the key is a 401. Each use counts against the key's own limit
(``services.rate_limits``, a window of a minute) and moves ``last_used_at``, at most once a
minute so that a busy key does not pay a write per request for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib import config
from chalicelib.auth import api_keys as keys
from chalicelib.auth.context import Tenant
from chalicelib.errors import NotFound, UnprocessableEntity
from chalicelib.ids import new_id
from chalicelib.models.api_keys import ApiKey, ApiKeyPrefix
from chalicelib.models.conditions import conditional
from chalicelib.models.pages import Page, paginate
from chalicelib.models.transactions import Transaction
from chalicelib.services import audit, rate_limits
from chalicelib.services.sites import get_site
from chalicelib.timeutil import iso, utcnow

LAST_USED_EVERY = timedelta(minutes=1)
RATE_WINDOW_SECONDS = 60
MAX_RATE_LIMIT_PER_MINUTE = 6000


@dataclass(frozen=True)
class CreatedKey:
    record: ApiKey
    key: str  # the whole key: returned once, never stored


def create(tenant: Tenant, *, name: str, scopes: Iterable[str], site_id: str | None = None,
           expires_at: datetime | None = None, rate_limit_per_minute: int | None = None) -> CreatedKey:
    wanted = set(scopes)
    unknown = wanted - set(keys.SCOPES)
    if not wanted or unknown:
        raise UnprocessableEntity(f"Give one or more scopes of {', '.join(keys.SCOPES)}.",
                                  details=[{"field": "scopes", "message": "unknown or none"}])
    if expires_at is not None and expires_at <= utcnow():
        raise UnprocessableEntity("The expiry must be in the future.",
                                  details=[{"field": "expires_at", "message": "in the past"}])
    if site_id is not None:
        get_site(tenant.account_id, site_id)  # 404 for another account's site
    limit = rate_limit_per_minute or config.api_key_rate_limit_per_minute()
    prefix, key = keys.new_key()
    record = ApiKey(tenant.account_id, new_id(), name=name, prefix=prefix, key_hash=keys.hash_key(key),
                    scopes=wanted, site_id=site_id, expires_at=expires_at, rate_limit_per_minute=limit,
                    created_by=audit.actor_of(tenant, tenant.account_id))
    tx = Transaction("create api key")
    tx.put(ApiKeyPrefix(prefix, account_id=tenant.account_id, key_id=record.key_id),
           condition=ApiKeyPrefix.prefix.does_not_exist(), label="prefix")  # 36^12 prefixes: never in practice
    tx.put(record, condition=ApiKey.key_id.does_not_exist(), label="key")
    tx.commit()
    audit.record(tenant.account_id, audit.API_KEY_CREATED, tenant, target=f"api_key:{record.key_id}",
                 details={"name": name, "prefix": prefix, "scopes": ",".join(sorted(wanted)), "site_id": site_id,
                          "expires_at": iso(expires_at), "rate_limit_per_minute": limit})
    return CreatedKey(record, key)


def get(account_id: str, key_id: str) -> ApiKey:
    try:
        return ApiKey.get(account_id, key_id)
    except ApiKey.DoesNotExist:
        raise NotFound("API key") from None


def list_keys(account_id: str, *, limit: int, cursor: str | None) -> Page:
    return paginate(lambda **kw: ApiKey.query(account_id, scan_index_forward=False, **kw),
                    scope=f"api-keys:{account_id}", limit=limit, cursor=cursor)


def revoke(tenant: Tenant, key_id: str) -> ApiKey:
    """Revoke a key: its next request is refused. Revoking a revoked key changes nothing."""
    record = get(tenant.account_id, key_id)
    if record.revoked_at is not None:
        return record
    now = utcnow()
    tx = Transaction("revoke api key")
    tx.update(record, [ApiKey.revoked_at.set(now), ApiKey.revoked_by.set(audit.actor_of(tenant, tenant.account_id))],
              condition=ApiKey.revoked_at.does_not_exist(), label="key")
    tx.delete(ApiKeyPrefix(record.prefix), condition=ApiKeyPrefix.key_id == record.key_id, label="prefix")
    with conditional() as write:  # revoked meanwhile by another request: recorded once
        tx.commit()
    if write.held:
        audit.record(tenant.account_id, audit.API_KEY_REVOKED, tenant, target=f"api_key:{key_id}",
                     details={"name": record.name, "prefix": record.prefix})
    return get(tenant.account_id, key_id)


def count_use(record: ApiKey) -> None:
    """One request of the key: 429 past its limit; then ``last_used_at``, at most once a minute."""
    rate_limits.check(record.account_id, f"api_key:{record.key_id}", int(record.rate_limit_per_minute),
                      RATE_WINDOW_SECONDS)
    now = utcnow()
    if record.last_used_at is not None and now - record.last_used_at < LAST_USED_EVERY:
        return
    with conditional():  # another request of the key moved it meanwhile, or it was deleted: either is fine
        record.update(actions=[ApiKey.last_used_at.set(now)],
                      condition=ApiKey.key_id.exists() & (ApiKey.last_used_at.does_not_exist()
                                                          | (ApiKey.last_used_at < now - LAST_USED_EVERY)))
