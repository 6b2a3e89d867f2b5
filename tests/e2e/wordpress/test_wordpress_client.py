"""WordPressClient and the companion plugin against a real WordPress (``make e2e``)."""

from __future__ import annotations

import json
import queue
import secrets
import struct
import threading
import uuid
import zlib
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from chalicelib.integrations.wordpress.client import WordPressClient
from chalicelib.integrations.wordpress.errors import (
    WPAuthError,
    WPAuthHeaderStripped,
    WPBadRequest,
    WPForbidden,
    WPNotFound,
    WPNotWordPress,
)
from chalicelib.integrations.wordpress.fields import CONTENT_ID_META
from chalicelib.integrations.wordpress.webhooks import (
    InMemoryReplayGuard,
    parse_event,
    verify_signature,
    verify_webhook,
)
from chalicelib.timeutil import utcnow
from infra.local.processes import free_port
from infra.wordpress.server import WordPressServer

pytestmark = [pytest.mark.wordpress, pytest.mark.e2e]

PLUGIN = "seo-engine-companion/seo-engine-companion.php"
SEO_STUB = "seo-engine-e2e-seo-stub.php"


def _cid() -> str:
    return str(uuid.uuid4())


def _png(width: int = 2, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture
def client(wordpress: WordPressServer) -> Iterator[WordPressClient]:
    with WordPressClient(wordpress.url, wordpress.username, wordpress.app_password) as wp:
        yield wp


# --- connection ---------------------------------------------------------------------------

def test_start_is_fast_enough(wordpress: WordPressServer) -> None:
    # ~2 s on an idle machine once the packages are installed; generous for a loaded CI box.
    assert getattr(wordpress, "start_seconds", 0) < 30


def test_check_connection(client: WordPressClient, wordpress: WordPressServer) -> None:
    info = client.check_connection()
    assert info.name == "SEO Engine e2e" and info.url == wordpress.url
    assert info.pretty_permalinks and info.rest_root == f"{wordpress.url}/wp-json/"
    assert info.application_passwords
    assert info.user.slug == wordpress.username and "administrator" in info.user.roles
    assert info.can_publish and info.can_upload and info.can_manage_terms
    assert info.companion is not None and info.companion.version == "1.0.0"


def test_wrong_password(wordpress: WordPressServer) -> None:
    with pytest.raises(WPAuthError) as caught:
        WordPressClient(wordpress.url, wordpress.username, "aaaa bbbb cccc dddd eeee ffff").check_connection()
    assert not isinstance(caught.value, WPAuthHeaderStripped)
    with pytest.raises(WPAuthError):
        WordPressClient(wordpress.url, "nobody", wordpress.app_password).check_connection()


def test_stripped_authorization_header(wordpress: WordPressServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # The test router serves /__strip_auth__/... with the Authorization header removed, as a
    # misconfigured Apache + CGI host does. That prefix is not WordPress's address, which the
    # client would rightly refuse: let it pass here.
    monkeypatch.setattr(WordPressClient, "_check_site_path", lambda self, index: None)
    stripped = f"{wordpress.url}/__strip_auth__"
    with pytest.raises(WPAuthHeaderStripped) as caught:  # diagnosed by the plugin's auth-check route
        WordPressClient(stripped, wordpress.username, wordpress.app_password).check_connection()
    assert "CGIPassAuth" in str(caught.value)
    with pytest.raises(WPAuthError) as wrong:
        WordPressClient(stripped, wordpress.username, "aaaa bbbb cccc dddd eeee ffff").check_connection()
    assert isinstance(wrong.value, WPAuthHeaderStripped)  # the header never arrives: the password is moot
    wordpress.deactivate_plugin(PLUGIN)
    try:  # without the plugin: diagnosed over XML-RPC
        with pytest.raises(WPAuthHeaderStripped):
            WordPressClient(stripped, wordpress.username, wordpress.app_password).check_connection()
        with pytest.raises(WPAuthError) as wrong_bare:
            WordPressClient(stripped, wordpress.username, "aaaa bbbb cccc dddd eeee ffff").check_connection()
        assert not isinstance(wrong_bare.value, WPAuthHeaderStripped)
        with pytest.raises(WPAuthError) as wrong_direct:
            WordPressClient(wordpress.url, wordpress.username, "aaaa bbbb cccc dddd eeee ffff").check_connection()
        assert not isinstance(wrong_direct.value, WPAuthHeaderStripped)
    finally:
        wordpress.activate_plugin(PLUGIN)


def test_wrong_url(wordpress: WordPressServer) -> None:
    with pytest.raises(WPNotFound):
        WordPressClient(f"http://127.0.0.1:{free_port()}", "admin", "x").check_connection()
    with pytest.raises(WPNotFound):
        WordPressClient(f"{wordpress.url}/no-such-blog", "admin", wordpress.app_password).check_connection()


def test_not_wordpress(webhook_receiver: WebhookReceiver) -> None:
    with pytest.raises(WPNotWordPress):
        WordPressClient(webhook_receiver.url, "admin", "x").check_connection()


def test_plain_permalinks_fallback(wordpress: WordPressServer) -> None:
    wordpress.php("global $wp_rewrite; $wp_rewrite->set_permalink_structure(''); flush_rewrite_rules(false);")
    try:
        with WordPressClient(wordpress.url, wordpress.username, wordpress.app_password) as plain:
            info = plain.check_connection()
            assert not info.pretty_permalinks and "rest_route=" in info.rest_root
            cid = _cid()
            post = plain.create_post(content_id=cid, title="Plain permalinks", content="<p>x</p>")
            assert plain.find_post_by_content_id(cid).id == post.id
            plain.trash_post(post.id)
    finally:
        wordpress.php("global $wp_rewrite; $wp_rewrite->set_permalink_structure('/%postname%/'); "
                      "flush_rewrite_rules(false);")


# --- structure, terms, media ---------------------------------------------------------------

def test_sync_structure(client: WordPressClient, wordpress: WordPressServer) -> None:
    wordpress.php("wp_insert_term('Synced Category', 'category'); wp_insert_term('synced-tag', 'post_tag');"
                  "wp_insert_user(['user_login' => 'author1', 'user_pass' => wp_generate_password(), "
                  "'role' => 'author', 'display_name' => 'Author One']);"
                  "wp_insert_user(['user_login' => 'sub1', 'user_pass' => wp_generate_password(), "
                  "'role' => 'subscriber']);")
    structure = client.sync_structure()
    assert {"Uncategorized", "Synced Category"} <= {c.name for c in structure.categories}
    assert "synced-tag" in {t.name for t in structure.tags}
    authors = {a.slug: a for a in structure.authors}
    assert {"admin", "author1"} <= set(authors) and "sub1" not in authors
    assert authors["author1"].can("publish_posts")
    assert {"post", "page"} <= {t.slug for t in structure.post_types}
    assert "attachment" not in {t.slug for t in structure.post_types}


def test_ensure_terms(client: WordPressClient, wordpress: WordPressServer) -> None:
    suffix = secrets.token_hex(3)
    existing = int(wordpress.php(f"echo wp_insert_term('Existing {suffix}', 'category', "
                                 f"['slug' => 'odd-slug-{suffix}'])['term_id'];"))
    first = client.ensure_terms([f"News {suffix}", f"Existing {suffix}", f"news {suffix}"],
                                [f"python-{suffix}", f"AI & ML {suffix}"])
    assert len(first.categories) == 2 and existing in first.categories  # found by name despite its slug
    assert len(first.tags) == 2
    again = WordPressClient(wordpress.url, wordpress.username, wordpress.app_password).ensure_terms(
        [f"News {suffix}", f"Existing {suffix}"], [f"python-{suffix}", f"AI & ML {suffix}"])
    assert again == first


def test_upload_media(client: WordPressClient) -> None:
    data = _png()
    media = client.upload_media(data, "Hero Image (final).png", "image/png", alt_text="A red square",
                                caption="Caption here")
    assert media.id > 0 and media.mime_type == "image/png" and media.alt_text == "A red square"
    assert media.url.endswith(".png") and "hero-image-final" in media.url
    assert requests.get(media.url, timeout=10).content == data


# --- posts ----------------------------------------------------------------------------------

def test_create_future_post_with_content_id(client: WordPressClient) -> None:
    cid = _cid()
    terms = client.ensure_terms(["E2E"], ["e2e-tag"])
    media = client.upload_media(_png(), "featured.png", "image/png", alt_text="featured")
    when = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    post = client.create_post(content_id=cid, title="Scheduled <em>post</em>", content="<h2>Hello</h2><p>World</p>",
                              excerpt="Short", status="future", date_gmt=when, categories=terms.categories,
                              tags=terms.tags, featured_media=media.id)
    assert post.status == "future" and post.date_gmt == when
    assert post.content_id == cid and post.meta[CONTENT_ID_META] == cid
    assert post.categories == tuple(terms.categories) and post.tags == tuple(terms.tags)
    assert post.featured_media == media.id and post.excerpt == "Short"
    assert f"seo-engine:content-id={cid}" in (post.content or "")
    fetched = client.get_post(post.id)
    assert fetched is not None and fetched.status == "future" and fetched.content_id == cid


def test_find_by_content_id_via_plugin_route(client: WordPressClient, monkeypatch: pytest.MonkeyPatch) -> None:
    cid = _cid()
    post = client.create_post(content_id=cid, title="Find me", content="<p>x</p>", status="draft")

    def no_search(*args: Any) -> Any:
        raise AssertionError("the plugin route should have answered; no search fallback")

    monkeypatch.setattr(client, "_search_by_marker", no_search)
    found = client.find_post_by_content_id(cid)
    assert found is not None and found.id == post.id and found.status == "draft"
    assert client.find_post_by_content_id(_cid()) is None


def test_find_by_content_id_without_the_plugin(client: WordPressClient, wordpress: WordPressServer) -> None:
    cid = _cid()
    post = client.create_post(content_id=cid, title="Find me without plugin", content="<p>x</p>", status="publish")
    wordpress.deactivate_plugin(PLUGIN)
    try:
        with WordPressClient(wordpress.url, wordpress.username, wordpress.app_password) as bare:
            assert not bare.has_companion
            found = bare.find_post_by_content_id(cid)
            assert found is not None and found.id == post.id and found.content_id == cid
            assert bare.find_post_by_content_id(_cid()) is None
            # Without the plugin the content marker alone identifies new posts.
            cid2 = _cid()
            created = bare.create_post(content_id=cid2, title="No plugin", content="<p>y</p>")
            assert CONTENT_ID_META not in created.meta and created.content_id == cid2
            assert bare.find_post_by_content_id(cid2).id == created.id
    finally:
        wordpress.activate_plugin(PLUGIN)


def test_update_keeps_the_content_id(client: WordPressClient) -> None:
    cid = _cid()
    post = client.create_post(content_id=cid, title="Before", content="<p>old</p>", status="publish")
    updated = client.update_post(post.id, content_id=cid, title="After", content="<p>new</p>")
    assert updated.title == "After" and "<p>new</p>" in (updated.content or "")
    assert (updated.content or "").count("seo-engine:content-id=") == 1
    assert client.find_post_by_content_id(cid).title == "After"


def test_trash(client: WordPressClient) -> None:
    cid = _cid()
    post = client.create_post(content_id=cid, title="Trash me", content="<p>x</p>", status="publish")
    trashed = client.trash_post(post.id)
    assert trashed is not None and trashed.status == "trash"
    assert client.trash_post(post.id).status == "trash"  # idempotent
    assert client.find_post_by_content_id(cid) is None
    assert client.find_post_by_content_id(cid, include_trash=True).id == post.id
    assert client.get_post(post.id).status == "trash"
    assert client.get_post(post.id + 100000) is None
    assert client.trash_post(post.id + 100000) is None


def test_seo_meta_when_an_seo_plugin_is_active(client: WordPressClient, wordpress: WordPressServer) -> None:
    wordpress.activate_plugin(SEO_STUB)
    try:
        with WordPressClient(wordpress.url, wordpress.username, wordpress.app_password) as seo:
            assert {"_yoast_wpseo_title", "rank_math_description"} <= seo.exposed_meta_keys()
            assert set(seo.companion_status().seo_plugins) == {"yoast", "rankmath"}
            post = seo.create_post(content_id=_cid(), title="SEO", content="<p>x</p>", seo_title="Meta title",
                                   seo_description="Meta description")
            stored = wordpress.php_json(
                f"echo json_encode(array_map(fn($k) => get_post_meta({post.id}, $k, true), "
                "['_yoast_wpseo_title', '_yoast_wpseo_metadesc', 'rank_math_title', 'rank_math_description']));")
            assert stored == ["Meta title", "Meta description", "Meta title", "Meta description"]
    finally:
        wordpress.deactivate_plugin(SEO_STUB)
    # Without an SEO plugin the fields are not sent (and nothing fails).
    with WordPressClient(wordpress.url, wordpress.username, wordpress.app_password) as plain:
        assert "_yoast_wpseo_title" not in plain.exposed_meta_keys()
        plain.create_post(content_id=_cid(), title="No SEO plugin", content="<p>x</p>", seo_title="ignored")


def test_an_editor_cannot_change_plugin_settings(wordpress: WordPressServer) -> None:
    creds = wordpress.php_json(
        "$id = wp_insert_user(['user_login' => 'editor1', 'user_pass' => wp_generate_password(), 'role' => 'editor']);"
        "[$pw] = WP_Application_Passwords::create_new_application_password($id, ['name' => 'e2e']);"
        "echo json_encode(['pw' => $pw]);")
    with WordPressClient(wordpress.url, "editor1", creds["pw"]) as editor:
        assert editor.check_connection().companion is not None
        with pytest.raises(WPForbidden):
            editor.configure_companion(product_url="https://evil.example.com", site_id="x", secret="y" * 40)


# --- webhooks -------------------------------------------------------------------------------

class WebhookReceiver:
    def __init__(self) -> None:
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                received.put({"path": self.path, "headers": dict(self.headers), "raw": raw})
                self.send_response(204)
                self.end_headers()

            def do_GET(self) -> None:
                body = b"<html><body>not WordPress</body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def drain(self) -> None:
        while not self.received.empty():
            self.received.get_nowait()

    def next(self, timeout: float = 15) -> dict[str, Any]:
        return self.received.get(timeout=timeout)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def configured(client: WordPressClient, webhook_receiver: WebhookReceiver) -> Iterator[str]:
    secret = secrets.token_urlsafe(32)
    status = client.configure_companion(product_url=webhook_receiver.url, site_id="site-e2e", secret=secret)
    assert status.configured and status.site_id == "site-e2e"
    webhook_receiver.drain()
    yield secret
    webhook_receiver.drain()


def _event(receiver: WebhookReceiver, secret: str) -> dict[str, Any]:
    delivery = receiver.next()
    assert delivery["path"] == "/v1/webhooks/wordpress/site-e2e"
    headers = delivery["headers"]
    ts = verify_signature(delivery["raw"], headers["X-SEO-Engine-Timestamp"], headers["X-SEO-Engine-Signature"],
                          secret)
    event = parse_event(delivery["raw"], timestamp=ts)
    return {"event": event, "raw": delivery["raw"], "headers": headers}


def test_settings_route_never_returns_the_secret(client: WordPressClient, configured: str,
                                                 wordpress: WordPressServer) -> None:
    response = requests.get(f"{wordpress.url}/wp-json/seo-engine/v1/settings",
                            auth=(wordpress.username, wordpress.app_password), timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert configured not in response.text and body["secret_set"] is True
    assert body["webhook_url"].endswith("/v1/webhooks/wordpress/site-e2e")
    with pytest.raises(WPBadRequest):
        client.configure_companion(product_url="ftp://x", site_id="s", secret="z" * 40)
    with pytest.raises(WPBadRequest):
        client.configure_companion(product_url="https://x.example", site_id="s", secret="short")
    anonymous = requests.get(f"{wordpress.url}/wp-json/seo-engine/v1/settings", timeout=10)
    assert anonymous.status_code == 401


def test_ping(client: WordPressClient, configured: str, webhook_receiver: WebhookReceiver) -> None:
    assert client.send_test_webhook() == 204
    delivered = _event(webhook_receiver, configured)
    assert delivered["event"].event == "ping" and delivered["event"].post_id == 0


def test_signed_webhooks_on_update_trash_restore_delete(client: WordPressClient, configured: str,
                                                         webhook_receiver: WebhookReceiver,
                                                         wordpress: WordPressServer) -> None:
    cid = _cid()
    post = client.create_post(content_id=cid, title="Hooked", content="<p>x</p>", status="publish")
    with pytest.raises(queue.Empty):
        webhook_receiver.next(timeout=1.5)  # creating is the product's own doing: no webhook

    client.update_post(post.id, content_id=cid, title="Hooked again")
    updated = _event(webhook_receiver, configured)
    assert updated["event"].event == "updated" and updated["event"].content_id == cid
    assert updated["event"].post_id == post.id and updated["event"].status == "publish"
    assert updated["event"].link.startswith(wordpress.url) and updated["event"].modified_gmt is not None
    body = json.loads(updated["raw"])
    assert set(body) == {"event", "post_id", "content_id", "status", "link", "modified_gmt", "timestamp", "nonce"}

    client.trash_post(post.id)
    trashed = _event(webhook_receiver, configured)
    assert trashed["event"].event == "trashed" and trashed["event"].status == "trash"
    with pytest.raises(queue.Empty):
        webhook_receiver.next(timeout=1.0)  # one event for the trash, not also an "updated"

    wordpress.php(f"wp_untrash_post({post.id});", user_id=wordpress.user_id)
    restored = _event(webhook_receiver, configured)
    assert restored["event"].event == "restored" and restored["event"].status != "trash"

    wordpress.php(f"wp_delete_post({post.id}, true);", user_id=wordpress.user_id)
    deleted = _event(webhook_receiver, configured)
    assert deleted["event"].event == "deleted" and deleted["event"].content_id == cid

    # The product side: verify + replay guard, as the webhook route will.
    guard = InMemoryReplayGuard()
    verify_webhook(deleted["raw"], deleted["headers"], secret=configured, site_id="site-e2e", replay_guard=guard)
    assert guard.claim("site-e2e", deleted["event"].nonce, deleted["event"].replay_expires_at) is False


def test_no_webhook_for_posts_without_content_id(configured: str, webhook_receiver: WebhookReceiver,
                                                 wordpress: WordPressServer) -> None:
    wordpress.php("$id = wp_insert_post(['post_title' => 'Manual', 'post_status' => 'publish']);"
                  "wp_update_post(['ID' => $id, 'post_title' => 'Manual 2']); wp_trash_post($id);",
                  user_id=wordpress.user_id)
    with pytest.raises(queue.Empty):
        webhook_receiver.next(timeout=1.5)
