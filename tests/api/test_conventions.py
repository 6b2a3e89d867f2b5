"""The conventions every route follows: error shape, request ids, body handling, OpenAPI."""

from __future__ import annotations

import json

from openapi_spec_validator import validate

from chalicelib.api.routing import ROUTES


def assert_error_shape(resp, status, code=None):
    assert resp.status == status
    body = resp.json
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details", "request_id"}
    assert body["error"]["message"]
    assert body["error"]["request_id"] == resp.headers["X-Request-Id"]
    if code:
        assert body["error"]["code"] == code


def test_every_response_has_a_request_id(api, register):
    owner = register()
    assert api.get("/v1/me", token=owner.token).headers["X-Request-Id"]
    assert api.get("/v1/health").headers["X-Request-Id"]


def test_malformed_bodies_get_clear_4xx(api, register):
    owner = register()
    assert_error_shape(api.post("/v1/sites", body="{not json", token=owner.token), 400, "invalid_json")
    assert_error_shape(api.post("/v1/sites", body=b"\xff\xfe\x00", token=owner.token), 400, "invalid_encoding")
    assert_error_shape(api.post("/v1/sites", body="[1, 2]", token=owner.token), 422, "validation_error")
    deep = "[" * 100_000 + "]" * 100_000
    assert api.post("/v1/sites", body=deep, token=owner.token).status in (400, 413)
    huge = json.dumps({"name": "x" * (2 * 1024 * 1024)})
    assert_error_shape(api.post("/v1/sites", body=huge, token=owner.token), 413, "payload_too_large")


def test_wrong_content_type_and_method_use_the_standard_error_shape(api, register):
    owner = register()
    r = api.post("/v1/sites", body="name=x", token=owner.token, headers={"content-type": "text/plain"})
    assert_error_shape(r, 415, "unsupported_media_type")
    r = api.request("PUT", "/v1/me", token=owner.token)
    assert_error_shape(r, 405, "method_not_allowed")


def test_odd_path_ids_are_a_plain_404(api, register):
    owner = register()
    for bad in ("x" * 500, "%F0%9F%92%A9", "a%20b"):
        assert_error_shape(api.get(f"/v1/sites/{bad}", token=owner.token), 404, "not_found")


def test_openapi_document_is_valid_and_covers_every_route(api):
    r = api.get("/v1/openapi.json")
    assert r.status == 200
    doc = r.json
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    for spec in ROUTES:
        assert spec.method.lower() in doc["paths"][spec.path], f"{spec.method} {spec.path} missing"


def test_docs_page_is_self_contained(api):
    r = api.get("/v1/docs")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
    html = r.raw.decode()
    assert "openapi.json" in html
    assert "http://" not in html and "https://" not in html  # no CDN: works offline
    # the browser enforces it: nothing from elsewhere, requests only to this API
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp


def test_no_scan_guard_is_armed(aws):
    import pytest

    from chalicelib.models.accounts import Site
    from tests.conftest import ScanForbidden

    with pytest.raises(ScanForbidden):
        list(Site.scan())


def _field_errors(resp) -> dict[str, str]:
    assert_error_shape(resp, 422, "validation_error")
    return {d["field"]: d["type"] for d in resp.json["error"]["details"]}


def test_a_body_takes_json_types_as_they_are(api, register):
    """true, 1.0 or "1" is no integer; a number is no string; a string is no boolean: 422 naming the field."""
    from tests.api.planner_env import make_site

    owner = register()
    env = make_site(api, owner)
    keywords = f"{env.base}/keywords"
    for wrong in (True, 1.0, "1"):
        r = api.post(keywords, {"keyword": "moka pot", "sector_id": env.sectors[0], "search_volume": wrong},
                     token=owner.token)
        assert "search_volume" in _field_errors(r), (wrong, r.json)
    assert "keyword" in _field_errors(api.post(keywords, {"keyword": 5, "sector_id": env.sectors[0]},
                                               token=owner.token))
    for wrong in ("false", 0):
        r = api.patch(env.base, {"is_active": wrong}, token=owner.token)
        assert "is_active" in _field_errors(r), (wrong, r.json)
    assert api.get(env.base, token=owner.token).json["is_active"] is True  # nothing was changed
    # JSON's own types pass: an integer is a number, dates and times are ISO strings
    kw = api.post(keywords, {"keyword": "moka pot", "sector_id": env.sectors[0], "search_volume": 10, "cpc": 2},
                  token=owner.token)
    assert kw.status == 201 and kw.json["search_volume"] == 10 and kw.json["cpc"] == 2
    task = api.post(f"{env.base}/tasks", {"title": "t", "sector_id": env.sectors[0], "due_date": "2030-01-31"},
                    token=owner.token)
    assert task.status == 201 and task.json["due_date"] == "2030-01-31"
    # the large import body is held to the same types
    r = api.post(f"{keywords}/import", {"sector_id": 7, "keywords": ["x"]}, token=owner.token)
    assert "sector_id" in _field_errors(r)


def test_query_strings_are_still_read_from_text(api, register):
    from tests.api.planner_env import make_site

    owner = register()
    env = make_site(api, owner)
    r = api.get(f"{env.base}/keywords?limit=1", token=owner.token)
    assert r.status == 200 and r.json["items"] == []
    assert api.get(f"{env.base}/clusters?without_ideas=true", token=owner.token).status == 200
    assert "limit" in _field_errors(api.get(f"{env.base}/keywords?limit=many", token=owner.token))
