"""CORS: browser pages on the origins the deployment lists may call the API; no other origin may."""

from __future__ import annotations

import pytest

WEB = "https://app.example.com"


@pytest.fixture
def allow(monkeypatch):
    return lambda value: monkeypatch.setenv("CORS_ALLOWED_ORIGINS", value)


def _preflight(api, path: str, origin: str, method: str = "POST"):
    return api.request("OPTIONS", path, headers={"origin": origin, "access-control-request-method": method,
                                                 "access-control-request-headers": "authorization,content-type"})


def test_by_default_no_origin_is_allowed(api, register):
    owner = register()
    r = api.get("/v1/me", token=owner.token, headers={"origin": WEB})
    assert r.status == 200 and "Access-Control-Allow-Origin" not in r.headers
    pre = _preflight(api, "/v1/sites", WEB)
    assert pre.status == 403 and pre.error_code == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in pre.headers


def test_a_listed_origin_gets_its_preflight_answered_and_its_answers_readable(api, register, allow):
    owner = register()
    allow(f"{WEB}, https://admin.example.com/")
    pre = _preflight(api, "/v1/sites/{x}".replace("{x}", "s1"), WEB, "PATCH")
    assert pre.status == 204
    assert pre.headers["Access-Control-Allow-Origin"] == WEB
    assert set(pre.headers["Access-Control-Allow-Methods"].split(", ")) == {"GET", "PATCH", "DELETE", "OPTIONS"}
    assert "Authorization" in pre.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in pre.headers
    r = api.get("/v1/me", token=owner.token, headers={"origin": "https://admin.example.com"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://admin.example.com"
    assert r.headers["Vary"] == "Origin" and "Retry-After" in r.headers["Access-Control-Expose-Headers"]
    failed = api.get("/v1/me", headers={"origin": WEB})  # errors are readable too: the client shows them
    assert failed.status == 401 and failed.headers["Access-Control-Allow-Origin"] == WEB


def test_an_unlisted_origin_gets_nothing_even_when_others_are_listed(api, register, allow):
    owner = register()
    allow(WEB)
    for origin in ("https://evil.example.com", "https://app.example.com.evil.com", "null"):
        assert _preflight(api, "/v1/sites", origin).status == 403
        r = api.get("/v1/me", token=owner.token, headers={"origin": origin})
        assert "Access-Control-Allow-Origin" not in r.headers and r.headers["Vary"] == "Origin"


def test_every_path_of_the_api_answers_preflights():
    import app
    from chalicelib import manifest

    paths = {r["path"] for r in manifest.load()["routes"]}
    assert {p for p, methods in app.app.routes.items() if "OPTIONS" in methods} == paths
