"""Registration, sign-in, refresh rotation, sign-out, and what a bad token gets."""

from __future__ import annotations

import time

import jwt
import pytest

from chalicelib.auth import tokens

pytestmark = pytest.mark.security  # make test-security


def test_register_creates_account_owner_and_tokens(api):
    r = api.post("/v1/auth/register", {"account_name": "Acme", "email": "Ana@Example.com",
                                       "password": "long enough pw", "first_name": "Ana"})
    assert r.status == 201
    body = r.json
    assert body["user"]["role"] == "owner" and body["user"]["email"] == "ana@example.com"
    assert body["account"]["plan_id"] == "free"
    assert body["tokens"]["expires_in"] == 900
    assert "password" not in r.raw.decode() and "scrypt" not in r.raw.decode()


def test_register_twice_with_the_same_email_is_a_conflict(api, register):
    owner = register()
    r = api.post("/v1/auth/register", {"account_name": "B", "email": owner.email.upper(),
                                       "password": "long enough pw"})
    assert r.status == 409 and r.error_code == "email_taken"


def test_register_validates_the_body(api):
    r = api.post("/v1/auth/register", {"account_name": "", "email": "not-an-email", "password": "pw-QZX"})
    assert r.status == 422 and r.error_code == "validation_error"
    fields = {d["field"] for d in r.json["error"]["details"]}
    assert fields == {"account_name", "email", "password"}
    assert "pw-QZX" not in r.raw.decode()  # submitted values are never echoed


def test_login_then_me(api, register):
    owner = register()
    r = api.post("/v1/auth/login", {"email": owner.email, "password": owner.password})
    assert r.status == 200
    me = api.get("/v1/me", token=r.json["access_token"])
    assert me.status == 200 and me.json["user"]["user_id"] == owner.user_id
    assert me.json["plan"]["plan_id"] == "growth"


def test_wrong_password_and_unknown_email_look_the_same(api, register):
    owner = register()
    wrong = api.post("/v1/auth/login", {"email": owner.email, "password": "nope nope nope"})
    unknown = api.post("/v1/auth/login", {"email": "ghost@example.com", "password": "nope nope nope"})
    assert wrong.status == unknown.status == 401
    assert wrong.json["error"]["message"] == unknown.json["error"]["message"]


def test_repeated_failures_lock_the_login_with_429(api, register):
    owner = register()
    for _ in range(5):
        assert api.post("/v1/auth/login", {"email": owner.email, "password": "bad password!"}).status == 401
    r = api.post("/v1/auth/login", {"email": owner.email, "password": owner.password})
    assert r.status == 429 and r.error_code == "rate_limited"
    assert int(r.headers["Retry-After"]) > 0


def test_refresh_rotates_and_the_old_refresh_token_stops_working(api, register):
    owner = register()
    first = api.post("/v1/auth/refresh", {"refresh_token": owner.refresh_token})
    assert first.status == 200
    assert first.json["refresh_token"] != owner.refresh_token
    replay = api.post("/v1/auth/refresh", {"refresh_token": owner.refresh_token})
    assert replay.status == 401
    # Reuse of a rotated token is treated as theft: the newer token dies too.
    assert api.post("/v1/auth/refresh", {"refresh_token": first.json["refresh_token"]}).status == 401


def test_logout_revokes_access_and_refresh_tokens(api, register):
    owner = register()
    assert api.post("/v1/auth/logout", token=owner.token).status == 204
    assert api.get("/v1/me", token=owner.token).status == 401
    assert api.post("/v1/auth/refresh", {"refresh_token": owner.refresh_token}).status == 401


def test_missing_tampered_expired_and_wrong_algorithm_tokens_get_401(api, register):
    owner = register()
    assert api.get("/v1/me").status == 401
    assert api.get("/v1/me", headers={"authorization": "Basic abc"}).status == 401
    tampered = owner.token[:-4] + ("AAAA" if not owner.token.endswith("AAAA") else "BBBB")
    assert api.get("/v1/me", token=tampered).status == 401
    expired = tokens.issue_access_token(account_id=owner.account_id, user_id=owner.user_id, session_id="s",
                                        now=time.time() - 10_000)
    assert api.get("/v1/me", token=expired).status == 401
    claims = jwt.decode(owner.token, options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert api.get("/v1/me", token=unsigned).status == 401
    r = api.get("/v1/me", token=tampered)
    assert r.error_code == "unauthorized" and r.headers.get("WWW-Authenticate") == "Bearer"


def test_a_token_claiming_another_account_is_rejected(api, register):
    a, b = register("a"), register("b")
    # Even a correctly signed token cannot name a user that is not in the named account.
    forged = tokens.issue_access_token(account_id=a.account_id, user_id=b.user_id, session_id="s")
    assert api.get("/v1/me", token=forged).status == 401


def test_a_logout_drops_the_revoked_sessions_no_token_can_use_any_more(api, register):
    """The user item is read by every request: a revoked session is kept only while one of its
    access tokens could still be valid (15 minutes), so sign-outs do not grow it for ever."""
    from chalicelib.models.accounts import User

    owner = register()
    now = int(time.time())
    old = {f"ended-{n}": now - 60 - n for n in range(40)}
    User(owner.account_id, owner.user_id).update(actions=[User.revoked_sessions.set({**old, "recent": now + 300})])
    assert api.post("/v1/auth/logout", token=owner.token).status == 204
    revoked = User.get(owner.account_id, owner.user_id).revoked_sessions.as_dict()
    session_id = jwt.decode(owner.token, options={"verify_signature": False})["sid"]
    assert set(revoked) == {"recent", session_id}
    assert api.get("/v1/me", token=owner.token).status == 401
