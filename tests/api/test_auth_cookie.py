"""The browser's refresh cookie: set by register/login/refresh, read by refresh, cleared by logout.

A browser keeps the access token in memory and never sees the refresh token in script: it rides
in an httpOnly, Secure, SameSite=Strict cookie scoped to /v1/auth. Mobile clients keep using the
JSON body, which is unchanged.
"""

from __future__ import annotations

import pytest

from chalicelib import config

pytestmark = pytest.mark.security

COOKIE = "seo_refresh"


def _set_cookie(resp) -> dict[str, str]:
    """The Set-Cookie header as {name: value, attribute: value-or-''} (attribute names lower-case)."""
    header = {k.lower(): v for k, v in resp.headers.items()}.get("set-cookie")
    assert header, f"no Set-Cookie in {resp.headers}"
    first, *attributes = [part.strip() for part in header.split(";")]
    name, _, value = first.partition("=")
    parsed = {"name": name, "value": value}
    for attribute in attributes:
        key, _, val = attribute.partition("=")
        parsed[key.lower()] = val
    return parsed


def _assert_scoped(cookie: dict[str, str]) -> None:
    assert cookie["name"] == COOKIE
    assert cookie["path"] == "/v1/auth"
    assert "httponly" in cookie and "secure" in cookie
    assert cookie["samesite"] == "Strict"
    assert "domain" not in cookie  # host-only: never sent to another host


def _refresh_with_cookie(api, value: str, extra: str = ""):
    return api.post("/v1/auth/refresh", {}, headers={"cookie": f"{extra}{COOKIE}={value}"})


def test_login_sets_the_refresh_cookie_beside_the_unchanged_json_body(api, register):
    owner = register()
    r = api.post("/v1/auth/login", {"email": owner.email, "password": owner.password})
    assert r.status == 200
    assert set(r.json) == {"access_token", "refresh_token", "token_type", "expires_in"}
    cookie = _set_cookie(r)
    _assert_scoped(cookie)
    assert cookie["value"] == r.json["refresh_token"]
    assert int(cookie["max-age"]) == config.refresh_token_ttl_seconds()
    assert r.headers["Cache-Control"] == "no-store"


def test_register_sets_the_refresh_cookie(api):
    r = api.post("/v1/auth/register", {"account_name": "Cookie Co", "email": "cookie@example.com",
                                       "password": "long enough pw"})
    assert r.status == 201
    cookie = _set_cookie(r)
    _assert_scoped(cookie)
    assert cookie["value"] == r.json["tokens"]["refresh_token"]


def test_refresh_reads_the_cookie_when_the_body_has_no_token_and_rotates_it(api, register):
    owner = register()
    r = _refresh_with_cookie(api, owner.refresh_token)
    assert r.status == 200, r.json
    rotated = _set_cookie(r)
    _assert_scoped(rotated)
    assert rotated["value"] == r.json["refresh_token"] != owner.refresh_token
    assert api.get("/v1/me", token=r.json["access_token"]).status == 200
    # The rotated cookie works in turn.
    again = _refresh_with_cookie(api, rotated["value"])
    assert again.status == 200 and _set_cookie(again)["value"] != rotated["value"]


def test_a_replayed_cookie_ends_the_session_and_is_cleared(api, register):
    owner = register()
    newer = _refresh_with_cookie(api, owner.refresh_token).json["refresh_token"]
    replay = _refresh_with_cookie(api, owner.refresh_token)
    assert replay.status == 401
    cleared = _set_cookie(replay)
    _assert_scoped(cleared)
    assert cleared["value"] == "" and cleared["max-age"] == "0"
    # Reuse of a rotated token is theft: the newer one dies too.
    assert _refresh_with_cookie(api, newer).status == 401


def test_the_body_token_wins_over_the_cookie(api, register):
    owner = register()
    r = api.post("/v1/auth/refresh", {"refresh_token": owner.refresh_token},
                 headers={"cookie": f"{COOKIE}=not-a-token"})
    assert r.status == 200
    assert _set_cookie(r)["value"] == r.json["refresh_token"]


def test_no_token_in_body_or_cookie_is_a_401_that_says_so(api):
    r = api.post("/v1/auth/refresh", {})
    assert r.status == 401 and r.error_code == "refresh_token_missing"
    assert _set_cookie(r)["max-age"] == "0"
    garbage = _refresh_with_cookie(api, "garbage")
    assert garbage.status == 401 and garbage.error_code == "unauthorized"


def test_other_cookies_of_the_host_do_not_hide_ours(api, register):
    owner = register()
    # Other apps on 127.0.0.1 share the host's cookies; some are malformed.
    r = _refresh_with_cookie(api, owner.refresh_token, extra='theme=dark; "broken; =x; junk; other="a;b"; ')
    assert r.status == 200, r.json


def test_a_form_post_from_another_site_cannot_use_the_cookie(api, register):
    """SameSite=Strict keeps the cookie off cross-site requests; a form cannot send JSON either."""
    owner = register()
    r = api.post("/v1/auth/refresh", headers={"cookie": f"{COOKIE}={owner.refresh_token}",
                                              "content-type": "application/x-www-form-urlencoded"})
    assert r.status == 415
    # The cookie was not spent: it still refreshes.
    assert _refresh_with_cookie(api, owner.refresh_token).status == 200


def test_logout_clears_the_cookie_and_the_cookie_stops_working(api, register):
    owner = register()
    out = api.post("/v1/auth/logout", token=owner.token)
    assert out.status == 204
    cleared = _set_cookie(out)
    _assert_scoped(cleared)
    assert cleared["value"] == "" and cleared["max-age"] == "0"
    assert _refresh_with_cookie(api, owner.refresh_token).status == 401
    assert api.get("/v1/me", token=owner.token).status == 401


def test_mobile_clients_still_refresh_through_the_body(api, register):
    owner = register()
    r = api.post("/v1/auth/refresh", {"refresh_token": owner.refresh_token})
    assert r.status == 200 and r.json["token_type"] == "Bearer"
