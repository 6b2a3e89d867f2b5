"""Media uploads against a real WordPress: an upload whose answer is lost is found again, never made twice.

Two ways an answer gets lost after WordPress created the attachment, both real:

- **the connection drops**: the product talks to WordPress through a proxy that forwards the
  upload, waits for WordPress's answer, then closes the connection without passing it on (what
  a load balancer timing out or a reset does);
- **WordPress fails after the INSERT**: a test plugin (``infra/wordpress/plugins/
  seo-engine-e2e-media-fault.php``) makes PHP die of a fatal error while WordPress makes the
  image's sub-sizes, after the attachment row exists; the answer is WordPress's own 500.

Publishing runs through the real route, SQS (moto) and the publish worker; the attachments are
counted in WordPress's database, by the key each upload carries in its description.
"""

from __future__ import annotations

import secrets
import socket
import struct
import threading
import uuid
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests

import app as app_module
from chalicelib.integrations.wordpress.client import WordPressClient
from chalicelib.integrations.wordpress.fields import media_key, media_marker
from chalicelib.models.writer import ContentImage
from chalicelib.services import media
from infra.local.worker import WorkerLoop
from infra.wordpress.server import WordPressServer

pytestmark = [pytest.mark.wordpress, pytest.mark.e2e]

COMPANION = "seo-engine-companion/seo-engine-companion.php"
FAULT_PLUGIN = "seo-engine-e2e-media-fault.php"
MEDIA_ROUTE = "/wp-json/wp/v2/media"
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length", "host"}


def _png(width: int, shade: int) -> bytes:
    """A real PNG (WordPress checks the bytes of an upload, not only its name)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes([shade, 40, 200]) * width for _ in range(width))
    header = struct.pack(">IIBBBBB", width, width, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


class Attachments:
    """WordPress's own database: attachments, each with the key its description carries."""

    def __init__(self, server: WordPressServer) -> None:
        self.server = server

    def last_id(self) -> int:
        return int(self.server.php("global $wpdb; echo (int) $wpdb->get_var(\"SELECT MAX(ID) FROM {$wpdb->posts}\");"))

    def since(self, after_id: int) -> list[dict[str, Any]]:
        code = ("global $wpdb; echo wp_json_encode($wpdb->get_results($wpdb->prepare(\"SELECT ID AS id, post_content "
                "AS description, post_author AS author FROM {$wpdb->posts} WHERE post_type = 'attachment' AND ID > %d "
                "ORDER BY ID\", (int) getenv('E2E_AFTER')), ARRAY_A));")
        return [{**row, "id": int(row["id"])} for row in self.server.php_json(code, env={"E2E_AFTER": str(after_id)})]


class LossyProxy:
    """Forwards everything to WordPress; ``lose(n)`` swallows the answers of the next n media uploads.

    A lost answer is one WordPress gave: the proxy waits for it, then closes the connection
    instead of passing it on.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.to_lose = 0
        self.lost: list[int] = []  # statuses WordPress answered, never delivered
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
                answer = requests.request(self.command, proxy.upstream + self.path, headers=headers, data=body,
                                          allow_redirects=False, timeout=120)
                if (self.command == "POST" and urlsplit(self.path).path.rstrip("/") == MEDIA_ROUTE
                        and proxy.to_lose > 0):
                    proxy.to_lose -= 1
                    proxy.lost.append(answer.status_code)
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in _HOP_HEADERS:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def do_GET(self) -> None:
                self._forward()

            def do_POST(self) -> None:
                self._forward()

            def do_DELETE(self) -> None:
                self._forward()

            def do_OPTIONS(self) -> None:
                self._forward()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def lose(self, n: int) -> None:
        self.to_lose = n

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def proxy(wordpress: WordPressServer) -> Iterator[LossyProxy]:
    lossy = LossyProxy(wordpress.url)
    yield lossy
    lossy.close()


@pytest.fixture
def kms(aws, monkeypatch):
    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("SECRETS_KMS_KEY_ID", key_id)


def _site_with_an_article(api, register, wordpress: WordPressServer, url: str) -> dict[str, Any]:
    """An approved article with a featured and two in-body images (real PNGs in S3), WordPress connected at url."""
    owner = register()
    site = api.post("/v1/sites", {"name": "Media", "time_zone": "Europe/Berlin"}, token=owner.token).json
    base = f"/v1/sites/{site['site_id']}"
    sector = api.post(f"{base}/sectors", {"name": "Grinders"}, token=owner.token).json
    r = api.post(f"{base}/integrations", {"url": url, "username": wordpress.username,
                                          "app_password": wordpress.app_password}, token=owner.token)
    assert r.status == 201, r.json
    r = api.put(f"{base}/publishing/settings", {"auto_publish_enabled": False}, token=owner.token)
    assert r.status == 200, r.json
    r = api.post(f"{base}/content", {"sector_id": sector["sector_id"], "title": f"Burr grinders {secrets.token_hex(3)}",
                                     "body_html": "<h2>Flat</h2><p>a</p><h2>Conical</h2><p>b</p>"}, token=owner.token)
    assert r.status == 201, r.json
    content_id = r.json["content_id"]
    skey = f"{owner.account_id}#{site['site_id']}"
    for position in (0, 1, 2):
        r = api.post(f"{base}/images", {"content_id": content_id, "position": position, "is_featured": position == 0,
                                        "alt_text": f"figure {position}", "caption": f"Figure {position}",
                                        "url": "https://cdn.example.com/placeholder.png"}, token=owner.token)
        assert r.status == 201 and r.json["status"] == "generated", r.json
        key = media.image_key(owner.account_id, site["site_id"], content_id, r.json["image_id"])
        media.store(key, _png(8 + position, 60 * position), "image/png")
        ContentImage.get(skey, r.json["image_id"]).update(actions=[ContentImage.storage_key.set(key)])
    r = api.patch(f"{base}/content/{content_id}", {"status": "approved"}, token=owner.token)
    assert r.status == 200, r.json
    return {"owner": owner, "base": base, "content_id": content_id, "skey": skey}


@pytest.mark.parametrize("loss", ["the connection drops (no companion plugin)",
                                  "WordPress dies making the sub-sizes (companion plugin active)"])
def test_a_lost_upload_answer_leaves_one_attachment_per_image(api, register, kms, wordpress, proxy, loss, capsys):
    attachments = Attachments(wordpress)
    dropped = loss.startswith("the connection drops")
    if dropped:
        wordpress.deactivate_plugin(COMPANION)  # core REST only: the lookup needs no plugin
    else:
        wordpress.activate_plugin(FAULT_PLUGIN)
    try:
        world = _site_with_an_article(api, register, wordpress, proxy.url if dropped else wordpress.url)
        before = attachments.last_id()
        if dropped:
            proxy.lose(1)
        else:
            wordpress.php("update_option('seo_engine_e2e_media_faults', 1);")
        r = api.post(f"{world['base']}/content/{world['content_id']}/publish", token=world["owner"].token)
        assert r.status == 202, r.json
        WorkerLoop(app_module, backoff=lambda receive_count: 0).drain(max_seconds=180)
        faults_left = int(wordpress.php("echo (int) get_option('seo_engine_e2e_media_faults', 0);"))
    finally:
        if dropped:
            wordpress.activate_plugin(COMPANION)
        else:
            wordpress.deactivate_plugin(FAULT_PLUGIN)
    # WordPress made the attachment, and the worker never heard: a 201 swallowed, or PHP's fatal 500
    lost = proxy.lost if dropped else ["fatal 500"] * (1 - faults_left)
    assert lost == ([201] if dropped else ["fatal 500"]), lost

    state = api.get(f"{world['base']}/content/{world['content_id']}", token=world["owner"].token).json
    assert state["site_status"] == "published", state
    records = api.get(f"{world['base']}/content/{world['content_id']}/publishing-records",
                      token=world["owner"].token).json["items"]
    assert [r["status"] for r in records] == ["published", "failed"]  # the lost answer cost one attempt

    # counted in WordPress's database: every attachment made since, by the key it carries
    images = sorted(ContentImage.by_content.query(f"{world['skey']}#{world['content_id']}"),
                    key=lambda i: int(i.position))
    made = attachments.since(before)
    per_key = {i.external_media_key: sum(media_marker(i.external_media_key) in a["description"] for a in made)
               for i in images}
    assert per_key == dict.fromkeys(per_key, 1) and len(per_key) == 3, per_key
    assert len(made) == 3, made  # nothing else was uploaded
    assert sorted(int(i.external_media_id) for i in images) == [a["id"] for a in made]

    # ... and each is used by the post: the featured image, and the two in its body
    auth = (wordpress.username, wordpress.app_password)
    post = requests.get(f"{wordpress.url}/wp-json/wp/v2/posts/{state['external_id']}", params={"context": "edit"},
                        auth=auth, timeout=30).json()
    assert post["featured_media"] == int(images[0].external_media_id) == made[0]["id"]  # the one whose answer was lost
    for image in images[1:]:
        item = requests.get(f"{wordpress.url}/wp-json/wp/v2/media/{image.external_media_id}", auth=auth,
                            timeout=30).json()
        assert post["content"]["raw"].count(f'src="{item["source_url"]}"') == 1
    featured = requests.get(f"{wordpress.url}/wp-json/wp/v2/media/{post['featured_media']}",
                            params={"context": "edit"}, auth=auth, timeout=30).json()
    assert featured["alt_text"] == "figure 0" and featured["caption"]["raw"] == "Figure 0"
    with capsys.disabled():
        print(f"\nWordPress e2e media, {loss}: answers lost {lost}, attachments per image "
              f"{list(per_key.values())}, attachments made {len(made)} for {len(images)} images")


def test_the_key_survives_an_authors_upload_and_the_search_finds_only_it(wordpress: WordPressServer) -> None:
    """An Author has no unfiltered_html: the description goes through kses, and the marker must come back."""
    login = f"e2e-author-{secrets.token_hex(4)}"
    made = wordpress.php_json(
        "$id = wp_insert_user(['user_login' => getenv('E2E_LOGIN'), 'user_pass' => wp_generate_password(),"
        " 'user_email' => getenv('E2E_LOGIN') . '@example.com', 'role' => 'author']);"
        "[$password] = WP_Application_Passwords::create_new_application_password($id, ['name' => 'e2e']);"
        "echo wp_json_encode(['id' => $id, 'password' => $password, 'unfiltered_html' => user_can($id, "
        "'unfiltered_html')]);", env={"E2E_LOGIN": login})
    assert made["unfiltered_html"] is False
    attachments = Attachments(wordpress)
    before = attachments.last_id()
    owner = str(uuid.uuid4())
    key = media_key(owner, _png(4, 1))
    longer = f"{key}0"  # a key the search for `key` also matches (LIKE '%key%')
    with WordPressClient(wordpress.url, login, made["password"]) as wp:
        other = wp.upload_media(_png(5, 2), "other.png", "image/png", media_key=longer)
        named = wp.upload_media(_png(6, 3), f"{key}.png", "image/png", caption=f"about {key}")  # hit, no marker
        assert wp.find_media_by_key(key) is None
        mine = wp.upload_media(_png(4, 1), "mine.png", "image/png", alt_text="mine", media_key=key)
        assert mine.media_key == key
        assert wp.find_media_by_key(key).id == mine.id
        assert wp.find_media_by_key(longer).id == other.id
        assert wp.find_media_by_key(media_key(owner, b"never uploaded")) is None
    rows = {a["id"]: a for a in attachments.since(before)}
    assert set(rows) == {other.id, named.id, mine.id}
    assert rows[mine.id]["description"] == media_marker(key)  # kses kept the comment, byte for byte
    assert int(rows[mine.id]["author"]) == made["id"]
