"""Accounts storage on both backends: transactions, conditions and limits behave the same."""

from __future__ import annotations

import threading

import pytest

from chalicelib.auth.context import Tenant
from chalicelib.auth.roles import Role
from chalicelib.errors import Conflict, PaymentRequired, Unauthorized
from chalicelib.messages import DeletionTurn
from chalicelib.models.accounts import Account, EmailLogin, Sector, Site
from chalicelib.models.deletions import site_target
from chalicelib.services import deletion, identity, media, sites


def test_register_writes_account_owner_and_login_in_one_transaction(ddb):
    account, user, tokens = identity.register(account_name="Acme", email=" Ana@Example.COM ", password="x" * 12)
    assert EmailLogin.get("ana@example.com").user_id == user.user_id
    assert Account.get(account.account_id).owner_user_id == user.user_id
    assert identity.authenticate_bearer(tokens.access_token).role == Role.owner


def test_a_taken_email_is_a_conflict_and_writes_nothing(ddb):
    identity.register(account_name="A", email="dup@example.com", password="x" * 12)
    with pytest.raises(Conflict):
        identity.register(account_name="B", email="DUP@example.com", password="y" * 12)
    assert EmailLogin.get("dup@example.com") is not None


def test_refresh_rotates_and_a_reused_token_ends_the_session(ddb):
    _, _, pair = identity.register(account_name="A", email="r@example.com", password="x" * 12)
    new_pair = identity.refresh(pair.refresh_token)
    assert new_pair.refresh_token != pair.refresh_token
    with pytest.raises(Unauthorized):
        identity.refresh(pair.refresh_token)  # replay of the rotated token
    with pytest.raises(Unauthorized):
        identity.refresh(new_pair.refresh_token)  # the whole family is revoked now
    with pytest.raises(Unauthorized):
        identity.authenticate_bearer(new_pair.access_token)


def test_site_limit_holds_under_concurrent_creates(ddb):
    account, _, _ = identity.register(account_name="A", email="race@example.com", password="x" * 12)
    Account(account.account_id).update(actions=[Account.plan_id.set("starter")])  # max_sites = 3
    results: list[str] = []

    def create(i: int) -> None:
        try:
            sites.create_site(account.account_id, name=f"site {i}")
            results.append("ok")
        except PaymentRequired:
            results.append("limit")

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 3
    assert len(list(Site.query(account.account_id))) == 3
    assert Account.get(account.account_id).site_count == 3


def test_sectors_are_scoped_to_their_site_and_deleted_with_it(ddb, monkeypatch):
    monkeypatch.setattr(deletion, "_send", lambda *a, **k: None)  # no SQS or S3 in this tier
    monkeypatch.setattr(media, "delete_prefix", lambda prefix: 0)
    account, _, _ = identity.register(account_name="A", email="sec@example.com", password="x" * 12)
    Account(account.account_id).update(actions=[Account.plan_id.set("starter")])
    site_a = sites.create_site(account.account_id, name="a")
    site_b = sites.create_site(account.account_id, name="b")
    for name in ("one", "two"):
        sites.create_sector(account.account_id, site_a.site_id, name=name)
    sites.create_sector(account.account_id, site_b.site_id, name="other")
    names = [s.name for s in Sector.query(f"{account.account_id}#{site_a.site_id}")]
    assert sorted(names) == ["one", "two"]
    deletion.request_site_deletion(account.account_id, site_a.site_id)
    assert Account.get(account.account_id).site_count == 1  # freed when the deletion is accepted
    deletion.process(DeletionTurn(account_id=account.account_id, target=site_target(site_a.site_id)), budget_seconds=60)
    assert list(Sector.query(f"{account.account_id}#{site_a.site_id}")) == []
    assert [s.name for s in Sector.query(f"{account.account_id}#{site_b.site_id}")] == ["other"]


def test_user_limit_and_unique_email(ddb):
    account, owner, _ = identity.register(account_name="A", email="own@example.com", password="x" * 12)
    tenant = Tenant(account.account_id, owner.user_id, Role.owner, "s")
    identity.create_user(tenant, email="u1@example.com", password="p" * 12, role=Role.editor)  # free: 2 users
    with pytest.raises(PaymentRequired):
        identity.create_user(tenant, email="u2@example.com", password="p" * 12, role=Role.editor)
    Account(account.account_id).update(actions=[Account.plan_id.set("starter")])
    with pytest.raises(Conflict):
        identity.create_user(tenant, email="U1@example.com", password="p" * 12, role=Role.editor)
    assert Account.get(account.account_id).user_count == 2
