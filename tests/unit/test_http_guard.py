"""The SSRF guard: address policy, URL checks, pinned connections, redirects, caps.

No network: names resolve through a fake getaddrinfo (unknown names fail), and the only
servers are on loopback inside the test.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from chalicelib.integrations import http_guard
from chalicelib.integrations.http_guard import (
    BlockedTarget,
    HttpGuard,
    RequestTimeout,
    ResolutionFailed,
    ResponseTooLarge,
    TooManyRedirects,
    check_url,
    forbidden_reason,
)

_real_getaddrinfo = socket.getaddrinfo


@pytest.fixture
def no_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOW_LOOPBACK_TARGETS", "0")


@pytest.fixture
def loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOW_LOOPBACK_TARGETS", "1")


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """name -> addresses; IP literals resolve to themselves, any other name fails."""
    table: dict[str, list[str]] = {}
    calls: list[str] = []

    def fake(host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0) -> list:
        name = host.decode() if isinstance(host, bytes) else str(host)
        calls.append(name)
        if name in table:
            out = []
            for ip in table[name]:
                if ":" in ip:
                    out.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, int(port or 0), 0, 0)))
                else:
                    out.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, int(port or 0))))
            return out
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in name else socket.AF_INET, name)
        except OSError:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
        return _real_getaddrinfo(name, port, family, type, proto, flags)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    table["__calls__"] = calls  # type: ignore[assignment]
    return table


@pytest.fixture
def no_connect(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Fails the test if a socket connection is attempted."""
    attempts: list[tuple] = []

    def refuse(address: tuple, *args: Any, **kwargs: Any) -> Any:
        attempts.append(address)
        raise AssertionError(f"a connection to {address} was attempted")

    monkeypatch.setattr(http_guard.urllib3_connection, "create_connection", refuse)
    return attempts


# --- the address policy -----------------------------------------------------------------

@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "10.0.0.5", "10.255.255.255", "172.16.3.4", "192.168.1.1", "169.254.169.254",
    "0.0.0.0", "100.64.0.1", "224.0.0.1",  # noqa: S104 "255.255.255.255", "240.0.0.1", "192.0.2.10",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
])
def test_forbidden_addresses(address: str) -> None:
    assert forbidden_reason(address, allow_loopback=False) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert forbidden_reason(address, allow_loopback=False) is None


def test_loopback_switch_allows_loopback_only() -> None:
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert forbidden_reason(address, allow_loopback=True) is None
    for address in ("10.0.0.1", "169.254.169.254", "0.0.0.0", "::", "192.168.0.1", "::ffff:10.0.0.1"):  # noqa: S104
        assert forbidden_reason(address, allow_loopback=True) is not None


def test_loopback_follows_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOW_LOOPBACK_TARGETS", "0")
    assert forbidden_reason("127.0.0.1") is not None
    monkeypatch.setenv("ALLOW_LOOPBACK_TARGETS", "1")
    assert forbidden_reason("127.0.0.1") is None


# --- URL checks (before any connection) -------------------------------------------------

@pytest.mark.parametrize("url", [
    "ftp://example.com/", "file:///etc/passwd", "gopher://example.com/", "javascript:alert(1)", "example.com",
    "http://", "http://user:pass@example.com/", "http://example.com:0/",
])
def test_bad_urls(url: str) -> None:
    with pytest.raises(BlockedTarget):
        check_url(url)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://10.1.2.3:8080/wp-json/", "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0:80/", "https://[fe80::1]/",
])
def test_literal_private_targets_are_refused_without_connecting(url: str, no_loopback: None,
                                                                no_connect: list) -> None:
    with pytest.raises(BlockedTarget):
        HttpGuard().request("GET", url)
    assert no_connect == []


def test_hostname_resolving_to_private_is_refused(no_loopback: None, dns: dict, no_connect: list) -> None:
    dns["intranet.example.com"] = ["10.0.0.7"]
    dns["metadata.example.com"] = ["169.254.169.254"]
    dns["v6.example.com"] = ["::ffff:127.0.0.1"]
    for host in ("intranet.example.com", "metadata.example.com", "v6.example.com"):
        with pytest.raises(BlockedTarget, match="refusing to connect"):
            HttpGuard().request("GET", f"https://{host}/wp-json/")
    assert no_connect == []


def test_a_name_with_one_private_address_among_public_ones_is_refused(no_loopback: None, dns: dict,
                                                                        no_connect: list) -> None:
    dns["mixed.example.com"] = ["93.184.216.34", "127.0.0.1"]
    with pytest.raises(BlockedTarget):
        HttpGuard().request("GET", "http://mixed.example.com/")
    assert no_connect == []


def test_unknown_names_fail_as_resolution_errors(dns: dict, no_connect: list) -> None:
    with pytest.raises(ResolutionFailed):
        HttpGuard().request("GET", "http://no-such-host.invalid/")


def test_the_connection_goes_to_the_checked_address(no_loopback: None, dns: dict,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the address connected to is the one that passed the check, from the
    same resolution; a second answer cannot sneak in."""
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])
    dns["rebind.example.com"] = next(answers)
    connected: list[tuple] = []

    def record(address: tuple, *args: Any, **kwargs: Any) -> Any:
        connected.append(address)
        dns["rebind.example.com"] = next(answers)  # the name now points elsewhere
        raise OSError("no network in unit tests")

    monkeypatch.setattr(http_guard.urllib3_connection, "create_connection", record)
    with pytest.raises(http_guard.TransportError) as caught:
        HttpGuard().request("GET", "http://rebind.example.com/")
    assert connected == [("93.184.216.34", 80)]
    assert caught.value.sent is False
    # The next connection resolves again and is checked again: now refused.
    with pytest.raises(BlockedTarget):
        HttpGuard().request("GET", "http://rebind.example.com/")


# --- against local servers (loopback allowed) -------------------------------------------

class _Server:
    def __init__(self, handler: Callable[[BaseHTTPRequestHandler], None]) -> None:
        seen: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})
                handler(self)

            def do_GET(self) -> None:
                self._any()

            def do_POST(self) -> None:
                self._any()

            def log_message(self, *args: Any) -> None:
                pass

        self.seen = seen
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[..., _Server]]:
    servers: list[_Server] = []

    def start(handler: Callable[[BaseHTTPRequestHandler], None]) -> _Server:
        server = _Server(handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def _reply(status: int = 200, body: bytes = b"ok", headers: dict[str, str] | None = None
           ) -> Callable[[BaseHTTPRequestHandler], None]:
    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(status)
        for key, value in (headers or {}).items():
            request.send_header(key, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
    return handle


def test_plain_request_with_loopback_allowed(loopback: None, serve: Callable[..., _Server]) -> None:
    server = serve(_reply(200, b'{"a": 1}', {"Content-Type": "application/json"}))
    response = HttpGuard().request("GET", f"http://127.0.0.1:{server.port}/x", params={"q": "1"})
    assert response.status_code == 200 and response.json() == {"a": 1}
    assert server.seen[0]["path"] == "/x?q=1"


def test_loopback_is_refused_when_not_allowed(no_loopback: None, serve: Callable[..., _Server]) -> None:
    server = serve(_reply())
    with pytest.raises(BlockedTarget):
        HttpGuard().request("GET", f"http://127.0.0.1:{server.port}/")
    assert server.seen == []


def test_host_header_keeps_the_name_while_connecting_to_the_checked_ip(loopback: None, dns: dict,
                                                                      serve: Callable[..., _Server]) -> None:
    server = serve(_reply())
    dns["wp.example.test"] = ["127.0.0.1"]
    HttpGuard().request("GET", f"http://wp.example.test:{server.port}/")
    assert server.seen[0]["headers"]["Host"] == f"wp.example.test:{server.port}"


@pytest.mark.parametrize("location", [
    "http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[::ffff:10.0.0.1]/",
    "http://private.example.test/", "file:///etc/passwd", "http://0.0.0.0/",
])
def test_redirects_to_forbidden_targets_are_refused(location: str, loopback: None, dns: dict,
                                                    serve: Callable[..., _Server]) -> None:
    dns["private.example.test"] = ["192.168.1.20"]
    server = serve(_reply(302, b"", {"Location": location}))
    with pytest.raises(BlockedTarget):
        HttpGuard().request("GET", f"http://127.0.0.1:{server.port}/start")
    assert len(server.seen) == 1


def test_redirects_are_followed_up_to_the_limit(loopback: None, serve: Callable[..., _Server]) -> None:
    def handle(request: BaseHTTPRequestHandler) -> None:
        hop = int(request.path.rsplit("/", 1)[-1])
        if hop < 3:
            _reply(301, b"", {"Location": f"/hop/{hop + 1}"})(request)
        else:
            _reply(200, b"arrived")(request)

    server = serve(handle)
    response = HttpGuard().request("GET", f"http://127.0.0.1:{server.port}/hop/0")
    assert response.content == b"arrived" and len(response.history) == 3

    loop = serve(_reply(302, b"", {"Location": "/again"}))
    with pytest.raises(TooManyRedirects):
        HttpGuard().request("GET", f"http://127.0.0.1:{loop.port}/again")
    assert len(loop.seen) == 4  # the first request + 3 redirects


def test_credentials_do_not_follow_a_redirect_to_another_host(loopback: None, dns: dict,
                                                             serve: Callable[..., _Server]) -> None:
    other = serve(_reply(200, b"other"))
    dns["elsewhere.example.test"] = ["127.0.0.1"]
    first = serve(_reply(302, b"", {"Location": f"http://elsewhere.example.test:{other.port}/"}))
    response = HttpGuard().request("GET", f"http://127.0.0.1:{first.port}/", auth=("user", "secret"),
                                   headers={"Cookie": "a=b"})
    assert response.content == b"other"
    assert "Authorization" in first.seen[0]["headers"]
    assert "Authorization" not in other.seen[0]["headers"] and "Cookie" not in other.seen[0]["headers"]


def test_a_post_is_not_turned_into_a_get_by_a_302(loopback: None, serve: Callable[..., _Server]) -> None:
    server = serve(_reply(302, b"", {"Location": "/elsewhere"}))
    response = HttpGuard().request("POST", f"http://127.0.0.1:{server.port}/posts", json={"a": 1})
    assert response.status_code == 302 and len(server.seen) == 1


def test_307_keeps_method_and_body(loopback: None, serve: Callable[..., _Server]) -> None:
    def handle(request: BaseHTTPRequestHandler) -> None:
        if request.path == "/old":
            _reply(307, b"", {"Location": "/new"})(request)
        else:
            _reply(201, b"created")(request)

    server = serve(handle)
    response = HttpGuard().request("POST", f"http://127.0.0.1:{server.port}/old", data=b"payload")
    assert response.status_code == 201
    assert [(s["method"], s["body"]) for s in server.seen] == [("POST", b"payload"), ("POST", b"payload")]


def test_response_size_is_capped(loopback: None, serve: Callable[..., _Server]) -> None:
    declared = serve(_reply(200, b"x" * 5000))
    with pytest.raises(ResponseTooLarge):
        HttpGuard(max_response_bytes=1000).request("GET", f"http://127.0.0.1:{declared.port}/")

    def chunked(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Transfer-Encoding", "chunked")
        request.end_headers()
        for _ in range(10):
            request.wfile.write(b"%x\r\n%s\r\n" % (500, b"y" * 500))
        request.wfile.write(b"0\r\n\r\n")

    undeclared = serve(chunked)
    with pytest.raises(ResponseTooLarge):
        HttpGuard(max_response_bytes=1000).request("GET", f"http://127.0.0.1:{undeclared.port}/")
    assert len(HttpGuard().request("GET", f"http://127.0.0.1:{undeclared.port}/").content) == 5000


def test_timeouts_are_enforced(loopback: None, serve: Callable[..., _Server]) -> None:
    def slow(request: BaseHTTPRequestHandler) -> None:
        time.sleep(1.5)
        _reply()(request)

    server = serve(slow)
    started = time.monotonic()
    with pytest.raises(RequestTimeout) as caught:
        HttpGuard(timeout=(1.0, 0.3)).request("GET", f"http://127.0.0.1:{server.port}/")
    assert time.monotonic() - started < 1.4
    assert caught.value.sent is True


def test_total_deadline_cuts_a_dripping_body(loopback: None, serve: Callable[..., _Server]) -> None:
    def drip(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Length", "100")
        request.end_headers()
        for _ in range(100):
            request.wfile.write(b"x")
            request.wfile.flush()
            time.sleep(0.05)

    server = serve(drip)
    with pytest.raises(RequestTimeout):
        HttpGuard(timeout=(1.0, 1.0), total_timeout=0.5).request("GET", f"http://127.0.0.1:{server.port}/")


def test_environment_proxies_are_ignored(loopback: None, serve: Callable[..., _Server],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    monkeypatch.setenv("http_proxy", "http://10.9.9.9:3128")
    server = serve(_reply(200, b"direct"))
    assert HttpGuard().request("GET", f"http://127.0.0.1:{server.port}/").content == b"direct"


# --- HTTPS: SNI and certificate checks still use the host name --------------------------

@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=wp.example.test", "-addext", "subjectAltName=DNS:wp.example.test", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_https_keeps_sni_and_hostname_verification(loopback: None, dns: dict, serve: Callable[..., _Server],
                                                   certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server = serve(_reply(200, b"secure"))
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment, misc]
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    dns["wp.example.test"] = ["127.0.0.1"]
    dns["other-name.example.test"] = ["127.0.0.1"]

    response = HttpGuard(verify=str(cert)).request("GET", f"https://wp.example.test:{server.port}/")
    assert response.content == b"secure"
    assert names == ["wp.example.test"]
    # The same IP under a name the certificate does not cover: verification still fails.
    with pytest.raises(http_guard.TransportError):
        HttpGuard(verify=str(cert)).request("GET", f"https://other-name.example.test:{server.port}/")
