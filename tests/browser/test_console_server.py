"""The local console server: web/dist's files and /v1 on one origin, passed through as it is."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from infra.local.console import ConsoleServer
from infra.local.processes import free_port


class Upstream(BaseHTTPRequestHandler):
    """Answers like the API would, and remembers what it was sent."""

    seen: list[dict[str, Any]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        Upstream.seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})
        if self.path.startswith("/v1/file"):
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/bucket/key?X-Amz-Signature=abc")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        payload = json.dumps({"ok": True}).encode()
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Set-Cookie", "seo_refresh=abc; Path=/v1/auth; HttpOnly; Secure; SameSite=Strict")
        self.send_header("Set-Cookie", "other=1; Path=/")
        self.send_header("X-Request-Id", "req-1")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_DELETE = do_HEAD = _answer  # noqa: N815 - http.server's names

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Upstream.seen.clear()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text('<!doctype html><script type="module" src="/assets/app-1.js"></script>')
    (root / "assets" / "app-1.js").write_text("console.log('app')")
    (tmp_path / "secret.txt").write_text("outside the root")
    return root


@pytest.fixture
def console(upstream: int, dist: Path) -> Iterator[ConsoleServer]:
    server = ConsoleServer(port=0, api_port=upstream, root=dist, media_origin="http://127.0.0.1:9999").start()
    yield server
    server.stop()


def request(server: ConsoleServer, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request(method, path, body=body, headers=headers or {})
    answer = connection.getresponse()
    answer.body = answer.read()  # type: ignore[attr-defined]
    connection.close()
    return answer


def test_the_app_and_its_assets_are_served_with_a_strict_policy(console: ConsoleServer):
    index = request(console, "GET", "/")
    assert index.status == 200 and b"/assets/app-1.js" in index.body
    policy = index.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "connect-src 'self' http://127.0.0.1:9999" in policy  # the media bucket, for image files
    assert index.headers["Cache-Control"] == "no-cache" and index.headers["X-Content-Type-Options"] == "nosniff"
    asset = request(console, "GET", "/assets/app-1.js")
    assert asset.status == 200 and "javascript" in asset.headers["Content-Type"]
    assert "immutable" in asset.headers["Cache-Control"]
    # An address of the app itself is its index; a missing file (an old chunk) is a real 404.
    assert request(console, "GET", "/sites/abc").body == index.body
    assert request(console, "GET", "/assets/app-0.js").status == 404
    assert request(console, "HEAD", "/").body == b""


@pytest.mark.parametrize("path", ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt",
                                  "/..%2fsecret.txt", "//etc/passwd"])
def test_nothing_outside_the_build_folder_is_served(console: ConsoleServer, path: str):
    answer = request(console, "GET", path)
    assert b"outside the root" not in answer.body
    assert b"root:" not in answer.body


def test_v1_is_passed_through_as_it_is(console: ConsoleServer):
    body = json.dumps({"refresh_token": None}).encode()
    answer = request(console, "POST", "/v1/auth/refresh?x=1&y=%20z", body,
                     {"Content-Type": "application/json", "Cookie": "seo_refresh=abc", "Authorization": "Bearer t",
                      "Connection": "keep-alive"})
    assert answer.status == 201
    assert json.loads(answer.body) == {"ok": True}
    cookies = answer.headers.get_all("Set-Cookie")
    assert cookies == ["seo_refresh=abc; Path=/v1/auth; HttpOnly; Secure; SameSite=Strict", "other=1; Path=/"]
    assert answer.headers["X-Request-Id"] == "req-1"
    seen = Upstream.seen[-1]
    assert (seen["method"], seen["path"], seen["body"]) == ("POST", "/v1/auth/refresh?x=1&y=%20z", body)
    assert seen["headers"]["Cookie"] == "seo_refresh=abc" and seen["headers"]["Authorization"] == "Bearer t"
    assert "Content-Security-Policy" not in answer.headers  # the API's answers are the API's


def test_redirects_are_not_followed(console: ConsoleServer):
    answer = request(console, "GET", "/v1/file")
    assert answer.status == 302
    assert answer.headers["Location"].startswith("http://127.0.0.1:1/bucket/key")


def test_static_routes_take_no_writes_and_a_chunked_body_is_refused(console: ConsoleServer):
    assert request(console, "POST", "/index.html", b"x").status == 405
    with socket.create_connection(("127.0.0.1", console.port), timeout=10) as raw:
        raw.sendall(b"POST /v1/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n")
        head = raw.recv(4096).decode()
    assert head.startswith("HTTP/1.1 411")


def test_an_api_that_is_down_is_a_502_in_the_api_error_shape(dist: Path):
    server = ConsoleServer(port=0, api_port=free_port(), root=dist).start()
    try:
        answer = request(server, "GET", "/v1/health")
    finally:
        server.stop()
    assert answer.status == 502
    assert json.loads(answer.body)["error"]["code"] == "api_unavailable"


def test_a_console_not_built_says_what_to_run(tmp_path: Path, upstream: int):
    server = ConsoleServer(port=0, api_port=upstream, root=tmp_path / "nothing").start()
    try:
        answer = request(server, "GET", "/")
        api = request(server, "GET", "/v1/health")
    finally:
        server.stop()
    assert answer.status == 503 and b"make web" in answer.body
    assert api.status == 200  # the API still works through it
