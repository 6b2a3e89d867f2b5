"""API keys on both backends: found by prefix, revoked in one transaction, last use moved once a minute."""

from __future__ import annotations

import pytest

from chalicelib import timeutil
from chalicelib.auth.context import Tenant
from chalicelib.auth.roles import Role
from chalicelib.errors import Unauthorized
from chalicelib.models.api_keys import ApiKey, ApiKeyPrefix
from chalicelib.services import api_keys, caller, identity


@pytest.fixture
def owner(ddb) -> Tenant:
    account, user, _ = identity.register(account_name="Keys", email="keys@example.com", password="x" * 12)
    return Tenant(account.account_id, user.user_id, Role.owner, "s")


def test_a_key_is_found_by_its_prefix_and_refused_once_revoked(owner):
    created = api_keys.create(owner, name="ci", scopes=["read"])
    loaded = caller.load_key(created.key, modules=True)
    assert loaded.tenant.account_id == owner.account_id and loaded.tenant.key_scopes == {"read"}
    assert ApiKeyPrefix.get(created.record.prefix).key_id == created.record.key_id
    api_keys.revoke(owner, created.record.key_id)
    api_keys.revoke(owner, created.record.key_id)  # twice: the same
    assert ApiKey.get(owner.account_id, created.record.key_id).revoked_at is not None
    with pytest.raises(ApiKeyPrefix.DoesNotExist):
        ApiKeyPrefix.get(created.record.prefix)
    with pytest.raises(Unauthorized):
        caller.load_key(created.key)


def test_last_use_is_written_once_a_minute(owner):
    created = api_keys.create(owner, name="ci", scopes=["read"])
    api_keys.count_use(created.record)
    first = ApiKey.get(owner.account_id, created.record.key_id).last_used_at
    api_keys.count_use(created.record)  # the stale copy (no last use) tries again: the condition holds it
    assert ApiKey.get(owner.account_id, created.record.key_id).last_used_at == first
    timeutil.advance(61)
    api_keys.count_use(ApiKey.get(owner.account_id, created.record.key_id))
    assert ApiKey.get(owner.account_id, created.record.key_id).last_used_at > first
