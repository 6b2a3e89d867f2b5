"""The deployment's sign-up mode: open (anyone registers), invite-only or closed (nobody does)."""

from __future__ import annotations

import pytest

BODY = {"account_name": "Stranger Ltd", "email": "stranger@example.com", "password": "correct horse battery"}


@pytest.mark.parametrize("mode, code, says", [("invite-only", "signup_invite_only", "invite"),
                                              ("closed", "signup_closed", "closed")])
def test_a_deployment_not_open_refuses_registration_with_a_clear_error(api, monkeypatch, mode, code, says):
    monkeypatch.setenv("SIGNUP_MODE", mode)
    r = api.post("/v1/auth/register", BODY)
    assert r.status == 403 and r.error_code == code and says in r.json["error"]["message"]
    from chalicelib.models.accounts import EmailLogin

    with pytest.raises(EmailLogin.DoesNotExist):
        EmailLogin.get("stranger@example.com")  # nothing was written


def test_an_open_deployment_registers(api, monkeypatch):
    monkeypatch.setenv("SIGNUP_MODE", "open")
    assert api.post("/v1/auth/register", BODY).status == 201


def test_existing_users_still_sign_in_and_add_members_when_sign_up_is_closed(api, register, monkeypatch):
    owner = register()
    monkeypatch.setenv("SIGNUP_MODE", "closed")
    assert api.post("/v1/auth/login", {"email": owner.email, "password": owner.password}).status == 200
    r = api.post("/v1/users", {"email": "colleague@example.com", "password": "another good password",
                               "role": "editor"}, token=owner.token)
    assert r.status == 201


def test_the_operator_creates_accounts_while_sign_up_is_closed(aws, monkeypatch):
    from chalicelib.services import identity

    monkeypatch.setenv("SIGNUP_MODE", "closed")
    account, user, _ = identity.register(account_name="By hand", email="first@example.com", password="x" * 12)
    assert user.account_id == account.account_id


def test_an_unknown_mode_is_a_configuration_error_naming_the_choices(monkeypatch):
    from chalicelib import config

    monkeypatch.setenv("SIGNUP_MODE", "invite_only")
    with pytest.raises(config.ConfigError, match="open, invite-only, closed"):
        config.signup_mode()
