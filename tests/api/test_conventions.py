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
