"""A user's own credentials: password reset by e-mail, password change, address confirmation, names.

Links are read from the mail the mail worker sent (moto's SES and the .eml mailbox).
"""

from __future__ import annotations

from chalicelib import timeutil
from chalicelib.models.accounts import User

RESET = "/reset-password"
VERIFY = "/verify-email"
NEW = "a brand new password"


def _password_hash(member) -> str:
    return User.get(member.account_id, member.user_id, consistent_read=True).password_hash


def _signs_in(api, member, password: str) -> bool:
    return api.post("/v1/auth/login", {"email": member.email, "password": password}).status == 200


def _ask_reset(api, email: str):
    return api.post("/v1/auth/password-reset", {"email": email})


def test_reset_sets_the_password_and_ends_every_session(api, register, mail):
    owner = register()
    second = api.post("/v1/auth/login", {"email": owner.email, "password": owner.password}).json
    asked = _ask_reset(api, owner.email)
    assert asked.status == 202
    token = mail.token(owner.email, RESET)

    done = api.post("/v1/auth/password-reset/confirm", {"token": token, "new_password": NEW})
    assert done.status == 204, done.json
    assert _signs_in(api, owner, NEW) and not _signs_in(api, owner, owner.password)
    for access, refresh in ((owner.token, owner.refresh_token), (second["access_token"], second["refresh_token"])):
        assert api.get("/v1/me", token=access).status == 401
        assert api.post("/v1/auth/refresh", {"refresh_token": refresh}).status == 401
    assert mail.latest(owner.email)["Subject"] == "Your Content Engine password was changed"
    fresh = api.post("/v1/auth/login", {"email": owner.email, "password": NEW}).json["access_token"]
    audited = api.get("/v1/audit?action=user.password_reset", token=fresh).json["items"]
    assert [(e["actor"], e["target"]) for e in audited] == [(f"user:{owner.user_id}", f"user:{owner.user_id}")]


def test_the_reset_answer_is_the_same_whether_the_address_exists_or_not(api, register, mail):
    owner = register()
    known, unknown = _ask_reset(api, owner.email), _ask_reset(api, "nobody-here@example.com")
    assert (known.status, known.json) == (unknown.status, unknown.json)
    assert mail.count("nobody-here@example.com") == 0 and mail.count(owner.email) == 2  # + the verification


def test_asking_again_within_a_minute_sends_nothing_more(api, register, mail):
    owner = register()
    _ask_reset(api, owner.email)
    _ask_reset(api, owner.email)
    assert mail.count(owner.email) == 2  # the verification and one reset
    timeutil.advance(61)
    assert _ask_reset(api, owner.email).status == 202
    assert mail.count(owner.email) == 3


def _refused_and_nothing_changed(api, owner, token: str, before: str) -> None:
    refused = api.post("/v1/auth/password-reset/confirm", {"token": token, "new_password": NEW})
    assert (refused.status, refused.error_code) == (400, "invalid_token")
    assert _password_hash(owner) == before
    assert api.get("/v1/me", token=owner.token).status == 200


def test_a_used_reset_link_is_refused_and_changes_nothing(api, register, mail):
    owner = register()
    _ask_reset(api, owner.email)
    token = mail.token(owner.email, RESET)
    assert api.post("/v1/auth/password-reset/confirm", {"token": token, "new_password": NEW}).status == 204
    owner.token = api.post("/v1/auth/login", {"email": owner.email, "password": NEW}).json["access_token"]
    _refused_and_nothing_changed(api, owner, token, _password_hash(owner))


def test_an_expired_reset_link_is_refused_and_changes_nothing(api, register, mail):
    owner = register()
    _ask_reset(api, owner.email)
    token = mail.token(owner.email, RESET)
    timeutil.advance(30 * 60 + 1)
    _refused_and_nothing_changed(api, owner, token, _password_hash(owner))


def test_a_foreign_reset_link_is_refused_and_changes_nothing(api, register, mail):
    owner, other = register(), register("other")
    before = _password_hash(owner)
    verify = mail.token(owner.email, VERIFY)  # a link of another kind
    _refused_and_nothing_changed(api, owner, verify, before)
    _ask_reset(api, other.email)
    theirs = mail.token(other.email, RESET)
    _, token_id, secret = theirs.removeprefix("rst_").split(".")
    _refused_and_nothing_changed(api, owner, f"rst_{owner.account_id}.{token_id}.{secret}", before)
    _ask_reset(api, owner.email)
    mine = mail.token(owner.email, RESET)
    account, token_id, _ = mine.removeprefix("rst_").split(".")
    _refused_and_nothing_changed(api, owner, f"rst_{account}.{token_id}.{secret}", before)  # tampered secret
    assert _signs_in(api, other, other.password)


def test_an_older_reset_link_dies_when_the_password_changes(api, register, mail):
    owner = register()
    _ask_reset(api, owner.email)
    old = mail.token(owner.email, RESET)
    changed = api.post("/v1/me/password", {"current_password": owner.password, "new_password": NEW},
                       token=owner.token)
    assert changed.status == 200
    owner.token = changed.json["access_token"]
    _refused_and_nothing_changed(api, owner, old, _password_hash(owner))


def test_change_needs_the_current_password_and_ends_the_other_sessions(api, register, mail):
    owner = register()
    other = api.post("/v1/auth/login", {"email": owner.email, "password": owner.password}).json
    wrong = api.post("/v1/me/password", {"current_password": "not my password", "new_password": NEW},
                     token=owner.token)
    assert (wrong.status, wrong.error_code) == (400, "wrong_password")
    assert _signs_in(api, owner, owner.password)

    changed = api.post("/v1/me/password", {"current_password": owner.password, "new_password": NEW},
                       token=owner.token)
    assert changed.status == 200
    assert api.get("/v1/me", token=changed.json["access_token"]).status == 200  # this client goes on
    assert api.post("/v1/auth/refresh", {"refresh_token": changed.json["refresh_token"]}).status == 200
    assert api.get("/v1/me", token=other["access_token"]).status == 401
    assert api.post("/v1/auth/refresh", {"refresh_token": other["refresh_token"]}).status == 401
    assert api.get("/v1/me", token=owner.token).status == 401  # the old tokens of this client too
    assert _signs_in(api, owner, NEW) and not _signs_in(api, owner, owner.password)
    audited = api.get("/v1/audit?action=user.password_changed", token=changed.json["access_token"]).json["items"]
    assert len(audited) == 1


def test_registering_mails_a_link_that_confirms_the_address_once(api, register, mail):
    owner = register()
    assert api.get("/v1/me", token=owner.token).json["user"]["email_verified"] is False
    token = mail.token(owner.email, VERIFY)
    confirmed = api.post("/v1/auth/verify-email", {"token": token})
    assert confirmed.status == 200 and confirmed.json == {"email": owner.email, "email_verified": True}
    assert api.get("/v1/me", token=owner.token).json["user"]["email_verified"] is True
    assert api.post("/v1/auth/verify-email", {"token": token}).error_code == "invalid_token"
    assert api.post("/v1/me/verify-email", token=owner.token).error_code == "already_verified"


def test_a_new_verification_link_can_be_asked_for(api, register, mail):
    owner = register()
    first = mail.token(owner.email, VERIFY)
    assert api.post("/v1/me/verify-email", token=owner.token).status == 202
    second = mail.token(owner.email, VERIFY)
    assert first != second
    timeutil.advance(7 * 24 * 3600 + 1)
    assert api.post("/v1/auth/verify-email", {"token": second}).error_code == "invalid_token"


def test_profile_edit_changes_only_the_names_given(api, register):
    owner = register()
    assert api.patch("/v1/me", {"first_name": "Ada"}, token=owner.token).json["first_name"] == "Ada"
    both = api.patch("/v1/me", {"last_name": "Lovelace"}, token=owner.token).json
    assert (both["first_name"], both["last_name"]) == ("Ada", "Lovelace")
    refused = api.patch("/v1/me", {"email": "new@example.com"}, token=owner.token)
    assert refused.status == 422
    assert api.get("/v1/me", token=owner.token).json["user"]["email"] == owner.email
