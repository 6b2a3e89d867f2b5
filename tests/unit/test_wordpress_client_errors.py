"""WordPressClient against a fake WordPress on loopback: discovery, error classes, bodies.

The real WordPress tests (tests/e2e/wordpress) cover the happy paths; these cover what a
real install cannot easily show: a host that strips Authorization, 429/5xx, a REST API
disabled by a plugin, something that is not WordPress.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.integrations.wordpress.client import WordPressClient
from chalicelib.integrations.wordpress.errors import (
    WPAuthError,
    WPAuthHeaderStripped,
    WPBlockedURL,
    WPError,
    WPForbidden,
    WPNotFound,
    WPNotWordPress,
    WPObjectNotFound,
    WPRateLimited,
    WPRestDisabled,
    WPUnavailable,
)
from chalicelib.integrations.wordpress.fields import marker_content_id, with_marker, wp_datetime

PASSWORD = "abcd EFGH ijkl MNOP qrst UVWX"
INDEX = {
    "name": "Fake &amp; Site", "description": "", "url": "", "home": "", "gmt_offset": 2,
    "timezone_string": "Europe/Berlin", "namespaces": ["oembed/1.0", "wp/v2"], "routes": {},
    "authentication": {"application-passwords": {"endpoints": {}}},
}
ME = {"id": 3, "name": "Ed", "slug": "ed", "roles": ["editor"],
      "capabilities": {"publish_posts": True, "upload_files": True, "manage_categories": True, "edit_posts": True}}
Reply = tuple[int, Any, dict[str, str]]


def _wp_error(status: int, code: str, message: str = "nope") -> Reply:
    return status, {"code": code, "message": message, "data": {"status": status}}, {}


class FakeWordPress:
    """Routes: ``(METHOD, rest route or path)`` -> reply or callable(request dict) -> reply."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Reply | Callable[[dict[str, Any]], Reply]] = {
            ("GET", "/wp-json/"): (200, INDEX, {}),
            ("GET", "/wp/v2/users/me"): self._me,
            ("OPTIONS", "/wp/v2/posts"): (200, {"schema": {"properties": {"meta": {"properties": {}}}}}, {}),
        }
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                route = parts.path
                if route.startswith("/wp-json/") and route != "/wp-json/":
                    route = route[len("/wp-json"):]
                if "rest_route" in query:
                    route = query.pop("rest_route")
                request = {"method": self.command, "route": route, "query": query, "headers": dict(self.headers),
                           "body": self.rfile.read(length) if length else b""}
                fake.requests.append(request)
                reply = fake.routes.get((self.command, route)) or (404, "<html>not here</html>", {})
                status, body, headers = reply(request) if callable(reply) else reply
                raw = body if isinstance(body, bytes) else (
                    body.encode() if isinstance(body, str) else json.dumps(body).encode())
                self.send_response(status)
                content_type = "text/html" if isinstance(body, str | bytes) else "application/json"
                self.send_header("Content-Type", content_type)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                self._any()

            def do_POST(self) -> None:
                self._any()

            def do_DELETE(self) -> None:
                self._any()

            def do_OPTIONS(self) -> None:
                self._any()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @staticmethod
    def _me(request: dict[str, Any]) -> Reply:
        auth = request["headers"].get("Authorization", "")
        if not auth:
            return _wp_error(401, "rest_not_logged_in", "You are not currently logged in.")
        _user, _, password = base64.b64decode(auth.split()[1]).decode().partition(":")
        if password != PASSWORD:
            return _wp_error(401, "incorrect_password", "The provided password is an invalid application password.")
        return 200, ME, {}

    def client(self, password: str = PASSWORD, **kw: Any) -> WordPressClient:
        return WordPressClient(self.url, "ed", password, **kw)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def wp(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeWordPress]:
    monkeypatch.setenv("ALLOW_LOOPBACK_TARGETS", "1")
    fake = FakeWordPress()
    yield fake
    fake.close()


def test_check_connection_reports_site_and_user(wp: FakeWordPress) -> None:
    info = wp.client().check_connection()
    assert info.name == "Fake & Site" and info.pretty_permalinks and info.application_passwords
    assert info.user.id == 3 and info.can_publish and info.can_upload and info.companion is None
    assert info.rest_root == f"{wp.url}/wp-json/"


def test_wrong_password_is_an_auth_error(wp: FakeWordPress) -> None:
    with pytest.raises(WPAuthError) as caught:
        wp.client("wrong").check_connection()
    assert not isinstance(caught.value, WPAuthHeaderStripped) and caught.value.code == "incorrect_password"


XMLRPC_OK = ("<?xml version=\"1.0\"?><methodResponse><params><param><value><array><data></data></array></value>"
             "</param></params></methodResponse>")
XMLRPC_BAD = ("<?xml version=\"1.0\"?><methodResponse><fault><value><struct><member><name>faultCode</name>"
              "<value><int>403</int></value></member></struct></value></fault></methodResponse>")


def _not_logged_in(request: dict[str, Any]) -> Reply:
    # What WordPress 6.1 answers both for a stripped header and for a wrong application password.
    return _wp_error(401, "rest_not_logged_in", "You are not currently logged in.")


def _xmlrpc(request: dict[str, Any]) -> Reply:
    return 200, (XMLRPC_OK if PASSWORD.encode() in request["body"] else XMLRPC_BAD), {}


def test_stripped_authorization_header_is_detected_over_xmlrpc(wp: FakeWordPress) -> None:
    wp.routes[("GET", "/wp/v2/users/me")] = _not_logged_in
    wp.routes[("POST", "/xmlrpc.php")] = _xmlrpc
    with pytest.raises(WPAuthHeaderStripped) as caught:
        wp.client().check_connection()
    assert "CGIPassAuth" in str(caught.value) and "HTTP_AUTHORIZATION" in str(caught.value)
    me = [r for r in wp.requests if r["route"] == "/wp/v2/users/me"][-1]
    assert "Authorization" in me["headers"]  # we did send it
    # The same answer with a wrong password is a wrong password.
    with pytest.raises(WPAuthError) as wrong:
        wp.client("abcd abcd abcd abcd abcd abcd").check_connection()
    assert not isinstance(wrong.value, WPAuthHeaderStripped)
    # A login password (not an Application Password) that XML-RPC accepts is named as such.
    wp.routes[("POST", "/xmlrpc.php")] = (200, XMLRPC_OK, {})
    with pytest.raises(WPAuthError, match="login password"):
        wp.client("my-login-password!").check_connection()


def test_stripped_authorization_header_is_detected_by_the_plugin(wp: FakeWordPress) -> None:
    wp.routes[("GET", "/wp-json/")] = (200, {**INDEX, "namespaces": ["wp/v2", "seo-engine/v1"]}, {})
    wp.routes[("GET", "/wp/v2/users/me")] = _not_logged_in
    wp.routes[("GET", "/seo-engine/v1/auth-check")] = (200, {"authorization_received": False}, {})
    with pytest.raises(WPAuthHeaderStripped):
        wp.client().check_connection()
    wp.routes[("GET", "/seo-engine/v1/auth-check")] = (200, {"authorization_received": True,
                                                             "error": "incorrect_password"}, {})
    with pytest.raises(WPAuthError) as wrong:
        wp.client().check_connection()
    assert not isinstance(wrong.value, WPAuthHeaderStripped)


def test_undecidable_401_names_both_causes(wp: FakeWordPress) -> None:
    wp.routes[("GET", "/wp/v2/users/me")] = _not_logged_in  # no plugin, no XML-RPC
    with pytest.raises(WPAuthError) as caught:
        wp.client().check_connection()
    assert not isinstance(caught.value, WPAuthHeaderStripped)
    assert "is wrong, or the host strips" in str(caught.value) and "CGIPassAuth" in str(caught.value)


def test_without_application_passwords_it_is_not_called_header_stripping(wp: FakeWordPress) -> None:
    wp.routes[("GET", "/wp-json/")] = (200, {**INDEX, "authentication": []}, {})
    wp.routes[("GET", "/wp/v2/users/me")] = _wp_error(401, "rest_not_logged_in")
    with pytest.raises(WPAuthError) as caught:
        wp.client().check_connection()
    assert not isinstance(caught.value, WPAuthHeaderStripped)
    assert "Application Passwords are not available" in str(caught.value)


def test_plain_permalinks_fall_back_to_rest_route(wp: FakeWordPress) -> None:
    wp.routes.pop(("GET", "/wp-json/"))
    wp.routes[("GET", "/")] = (200, INDEX, {})  # ?rest_route=/ arrives as route "/"
    info = wp.client().check_connection()
    assert not info.pretty_permalinks and "rest_route=" in info.rest_root
    me = next(r for r in wp.requests if r["route"] == "/wp/v2/users/me")
    assert me["query"] == {"context": "edit"}


def test_rest_root_from_the_link_header(wp: FakeWordPress) -> None:
    wp.routes.pop(("GET", "/wp-json/"))
    wp.routes[("GET", "/")] = lambda r: (200, "<html>home</html>", {
        "Link": f'<{wp.url}/custom-api/>; rel="https://api.w.org/"'}) if not r["query"] else (404, "<html/>", {})
    wp.routes[("GET", "/custom-api/")] = (200, INDEX, {})
    wp.routes[("GET", "/custom-api/wp/v2/users/me")] = (200, ME, {})
    assert wp.client().check_connection().rest_root == f"{wp.url}/custom-api/"


def test_not_wordpress(wp: FakeWordPress) -> None:
    wp.routes.clear()
    wp.routes[("GET", "/")] = (200, "<html><body>Just a shop</body></html>", {})
    with pytest.raises(WPNotWordPress):
        wp.client().check_connection()


def test_wrong_url_is_not_found(wp: FakeWordPress) -> None:
    wp.routes.clear()
    with pytest.raises(WPNotFound):
        wp.client().check_connection()
    port = wp.httpd.server_address[1]
    wp.close()  # nothing listens there any more
    with pytest.raises(WPNotFound):
        WordPressClient(f"http://127.0.0.1:{port}", "ed", PASSWORD).check_connection()


def test_private_url_is_blocked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOW_LOOPBACK_TARGETS", "0")
    with pytest.raises(WPBlockedURL):
        WordPressClient("http://169.254.169.254", "ed", PASSWORD).check_connection()
    with pytest.raises(WPBlockedURL):
        WordPressClient("http://127.0.0.1:9", "ed", PASSWORD).check_connection()
    assert issubclass(WPBlockedURL, WPNotFound)


@pytest.mark.parametrize("reply", [
    _wp_error(401, "rest_login_required", "REST API restricted to authenticated users."),
    _wp_error(403, "rest_cannot_access", "DRA: Only authenticated users can access the REST API."),
])
def test_rest_api_disabled(wp: FakeWordPress, reply: Reply) -> None:
    wp.routes[("GET", "/wp-json/")] = reply
    with pytest.raises(WPRestDisabled):
        wp.client().check_connection()


def test_rest_api_requiring_login_works_with_credentials(wp: FakeWordPress) -> None:
    wp.routes[("GET", "/wp-json/")] = lambda r: (200, INDEX, {}) if r["headers"].get("Authorization") else \
        _wp_error(401, "rest_login_required")
    assert wp.client().check_connection().user.id == 3


def test_wordpress_without_rest_is_rest_disabled(wp: FakeWordPress) -> None:
    wp.routes.clear()
    wp.routes[("GET", "/")] = (200, '<html><link rel="stylesheet" href="/wp-content/themes/x/style.css"></html>', {})
    with pytest.raises(WPRestDisabled):
        wp.client().check_connection()


def test_rate_limit_and_server_errors_are_retryable(wp: FakeWordPress) -> None:
    wp.routes[("GET", "/wp/v2/users/me")] = (429, {"code": "too_many"}, {"Retry-After": "7"})
    with pytest.raises(WPRateLimited) as limited:
        wp.client().check_connection()
    assert limited.value.retryable and limited.value.retry_after == 7.0
    wp.routes[("GET", "/wp/v2/users/me")] = (503, "<html>maintenance</html>", {})
    with pytest.raises(WPUnavailable) as unavailable:
        wp.client().check_connection()
    assert unavailable.value.retryable and unavailable.value.status == 503


def test_a_timeout_on_a_write_leaves_the_outcome_unknown(wp: FakeWordPress) -> None:
    def slow(request: dict[str, Any]) -> Reply:
        time.sleep(1.0)
        return 201, {"id": 1}, {}

    wp.routes[("POST", "/wp/v2/posts")] = slow
    client = wp.client(timeout=(1.0, 0.3))
    with pytest.raises(WPUnavailable) as caught:
        client.create_post(content_id="c-1", title="t", content="<p>x</p>")
    assert caught.value.outcome_unknown and caught.value.retryable


def test_forbidden_is_an_auth_error_subclass(wp: FakeWordPress) -> None:
    wp.routes[("POST", "/wp/v2/posts")] = _wp_error(403, "rest_cannot_publish", "Sorry, you are not allowed.")
    with pytest.raises(WPForbidden) as caught:
        wp.client().create_post(content_id="c-1", title="t", content="x", status="publish")
    assert isinstance(caught.value, WPAuthError) and caught.value.code == "rest_cannot_publish"


def test_missing_post(wp: FakeWordPress) -> None:
    wp.routes[("GET", "/wp/v2/posts/99")] = _wp_error(404, "rest_post_invalid_id", "Invalid post ID.")
    wp.routes[("POST", "/wp/v2/posts/99")] = _wp_error(404, "rest_post_invalid_id", "Invalid post ID.")
    client = wp.client()
    assert client.get_post(99) is None
    with pytest.raises(WPObjectNotFound):
        client.update_post(99, content_id="c-1", title="x")


def test_create_post_body_sends_only_exposed_meta(wp: FakeWordPress) -> None:
    created: dict[str, Any] = {}

    def create(request: dict[str, Any]) -> Reply:
        created.update(json.loads(request["body"]))
        return 201, {"id": 5, "status": "future", "date_gmt": created["date_gmt"], "content": {"raw": created[
            "content"]}, "meta": created.get("meta", {}), "title": {"raw": created["title"]}}, {}

    wp.routes[("POST", "/wp/v2/posts")] = create
    when = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC) + timedelta(hours=0)
    post = wp.client().create_post(content_id="c-42", title="T", content="<p>Body</p>", status="future",
                                   date_gmt=when, categories=[1], tags=[2, 3], seo_title="SEO", featured_media=9)
    assert "meta" not in created  # nothing exposed: no meta sent at all
    assert created["date_gmt"] == "2031-05-06T07:08:09" and created["categories"] == [1]
    assert created["content"].endswith("<!-- seo-engine:content-id=c-42 -->")
    assert post.content_id == "c-42" and post.date_gmt == when and post.status == "future"

    exposed = {k: {"type": "string"} for k in ("seo_engine_content_id", "_yoast_wpseo_title", "rank_math_title")}
    wp.routes[("OPTIONS", "/wp/v2/posts")] = (200, {"schema": {"properties": {"meta": {"properties": exposed}}}}, {})
    wp.client().create_post(content_id="c-43", title="T", content="x", seo_title="SEO", seo_description="D")
    assert created["meta"] == {"seo_engine_content_id": "c-43", "_yoast_wpseo_title": "SEO", "rank_math_title": "SEO"}


def test_marker_search_fallback_confirms_the_id(wp: FakeWordPress) -> None:
    wp.routes[("GET", "/wp/v2/posts")] = (200, [
        {"id": 7, "status": "draft", "content": {"raw": "mentions c-9 but has no marker"}},
        {"id": 8, "status": "draft", "content": {"raw": "<p>x</p>\n<!-- seo-engine:content-id=c-9 -->"}},
    ], {})
    post = wp.client().find_post_by_content_id("c-9")
    assert post is not None and post.id == 8
    search = next(r for r in wp.requests if r["route"] == "/wp/v2/posts")
    assert search["query"]["search"] == "c-9" and search["query"]["status"] == "any"


def test_password_never_shows(wp: FakeWordPress) -> None:
    client = wp.client()
    assert PASSWORD not in repr(client) and "***" in repr(client) and PASSWORD not in str(client)
    wp.routes[("GET", "/wp/v2/users/me")] = (500, {"code": "boom", "message": "x"}, {})
    with pytest.raises(WPError) as caught:
        client.check_connection()
    assert PASSWORD not in str(caught.value) and PASSWORD not in repr(caught.value.__dict__)


def test_marker_helpers() -> None:
    html = with_marker("<p>a</p>\n<!-- seo-engine:content-id=old -->\n", "new-1")
    assert html == "<p>a</p>\n<!-- seo-engine:content-id=new-1 -->" and marker_content_id(html) == "new-1"
    with pytest.raises(ValueError):
        with_marker("x", "bad id -->")
    with pytest.raises(ValueError):
        wp_datetime(datetime(2030, 1, 1))  # naive
