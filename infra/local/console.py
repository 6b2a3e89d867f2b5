"""The web console on the local stack: the built files (web/dist) and the API on one origin.

In the cloud CloudFront serves the console from S3 and routes ``/v1/*`` to API Gateway; here a
small threaded HTTP server in the stack process does the same: ``/v1`` and everything under it
is passed to ``chalice local`` as it is (method, path, query, headers, body; every
``Set-Cookie`` kept, redirects not followed), anything else is a file of ``web/dist`` or, for
an address of the single-page app, its ``index.html``. So the browser sees one origin: the
refresh cookie (SameSite=Strict, Path=/v1/auth) and relative ``/v1`` calls work with no CORS.

Dev-only: it never ships in the Lambda package.
"""

from __future__ import annotations

import http.client
import json
import logging
import mimetypes
import posixpath
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from infra.console_headers import IMMUTABLE_CACHE, REVALIDATE_CACHE, STATIC_HEADERS, content_security_policy
from infra.local.processes import LOOPBACK, ROOT

log = logging.getLogger("infra.console")

DIST = ROOT / "web" / "dist"
# Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection, never forwarded.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                        "transfer-encoding", "upgrade", "proxy-connection"})
MAX_BODY = 16 * 1024 * 1024  # well above the API's own 6 MB ceiling, so the API answers 413 itself
NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Console not built</title></head>
<body><main><h1>The console is not built</h1><p>Run <code>make web</code> (or <code>make run</code>, which builds
it), then reload. The API is up: <a href="/v1/docs">/v1/docs</a>.</p></main></body></html>
"""


class ConsoleServer:
    """Serve ``root`` and forward ``/v1`` to ``http://127.0.0.1:<api_port>`` on ``port``."""

    def __init__(self, *, port: int, api_port: int, root: Path = DIST, host: str = LOOPBACK,
                 media_origin: str | None = None) -> None:
        self.root = root.resolve()
        self.api = (host, api_port)
        self.headers = {**STATIC_HEADERS, "Content-Security-Policy": content_security_policy(media_origin or "")}
        handler = type("ConsoleHandler", (_Handler,), {"console": self})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> ConsoleServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="console", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def built(self) -> bool:
        return (self.root / "index.html").is_file()


class _Handler(BaseHTTPRequestHandler):
    console: ConsoleServer
    protocol_version = "HTTP/1.1"  # keep-alive: every answer carries its Content-Length
    server_version = "seo-console"
    sys_version = ""

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    # -- dispatch ------------------------------------------------------------------------

    def _is_api(self) -> bool:
        path = urllib.parse.urlsplit(self.path).path
        return path == "/v1" or path.startswith("/v1/")

    def do_GET(self) -> None:
        self._proxy() if self._is_api() else self._static(head=False)

    def do_HEAD(self) -> None:
        self._proxy() if self._is_api() else self._static(head=True)

    def _api_only(self) -> None:
        if self._is_api():
            self._proxy()
        else:
            self.close_connection = True  # its body is not read
            self._send(405, b"Method not allowed\n", {"Content-Type": "text/plain; charset=utf-8",
                                                       "Allow": "GET, HEAD"})

    def do_POST(self) -> None:
        self._api_only()

    def do_PUT(self) -> None:
        self._api_only()

    def do_PATCH(self) -> None:
        self._api_only()

    def do_DELETE(self) -> None:
        self._api_only()

    def do_OPTIONS(self) -> None:
        self._api_only()

    # -- the API -------------------------------------------------------------------------

    def _proxy(self) -> None:
        # A body left unread cannot be skipped on a kept-alive connection: refuse, then close it.
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            self._api_error(411, "length_required", "Send the body with a Content-Length.")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            self._api_error(400, "bad_request", "The Content-Length header is not a number.")
            return
        if length > MAX_BODY:
            self.close_connection = True
            self._api_error(413, "payload_too_large", "The request body is too large.")
            return
        body = self.rfile.read(length) if length > 0 else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        connection = http.client.HTTPConnection(*self.console.api, timeout=300)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            answer = connection.getresponse()
            payload = answer.read()
            passed = [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP | {"content-length"}]
        except (OSError, http.client.HTTPException) as exc:
            self._api_error(502, "api_unavailable", f"The API did not answer ({exc.__class__.__name__}); is the "
                                                    f"local stack still running?")
            return
        finally:
            connection.close()
        self.send_response(answer.status, answer.reason)
        for key, value in passed:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _api_error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": {"code": code, "message": message, "details": {}, "request_id": None}}).encode()
        self._send(status, body, {"Content-Type": "application/json"})

    # -- the console's files -------------------------------------------------------------

    def _static(self, *, head: bool) -> None:
        root = self.console.root
        if not self.console.built:
            self._send(503, NOT_BUILT.encode(),
                       {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}, head=head)
            return
        path = posixpath.normpath(urllib.parse.unquote(urllib.parse.urlsplit(self.path).path))
        relative = path.lstrip("/")
        target = (root / relative).resolve() if relative and relative != "." else root / "index.html"
        if root not in target.parents and target != root / "index.html":
            self._send(404, b"Not found\n", {"Content-Type": "text/plain; charset=utf-8"}, head=head)
            return
        if not target.is_file():
            if posixpath.splitext(path)[1]:  # a missing file (an old chunk name): a real 404
                self._send(404, b"Not found\n", {"Content-Type": "text/plain; charset=utf-8"}, head=head)
                return
            target = root / "index.html"  # an address of the app itself
        immutable = target.parent.name == "assets"  # file names carry their content hash
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
            kind += "; charset=utf-8"
        headers = {"Content-Type": kind,
                   "Cache-Control": IMMUTABLE_CACHE if immutable else REVALIDATE_CACHE,
                   **self.console.headers}
        self._send(200, target.read_bytes(), headers, head=head)

    def _send(self, status: int, body: bytes, headers: dict[str, str], *, head: bool = False) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)


def allow_media_from(console_url: str, bucket: str) -> None:
    """Let the console's script read the media bucket's files (an image file route redirects there):
    the bucket answers the console's origin with CORS, as the cloud's bucket must for its domain."""
    import boto3

    boto3.client("s3").put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": [console_url.rstrip("/")], "AllowedMethods": ["GET", "HEAD"], "AllowedHeaders": ["*"],
        "MaxAgeSeconds": 3600}]})


# -- the demo account ------------------------------------------------------------------------

DEMO_EMAIL = "demo@example.com"
DEFAULT_PORT = 8080  # `make run`'s console (infra.local.stack --console-port)
DEFAULT_STATE_DIR = ROOT / ".local"  # `make run`'s state (infra.local.stack --state-dir)


def demo_sign_in(state_dir: Path = DEFAULT_STATE_DIR, port: int = DEFAULT_PORT) -> str:
    """What `make demo` ends with: the console `make run` serves and the demo account's sign-in there.

    The password is the one `make run` registers the demo account with at every start (made now if
    `make run` has not made it yet, and then used by it)."""
    return (f"Console: run `make run`, then open http://{LOOPBACK}:{port}/ and sign in as {DEMO_EMAIL} / "
            f"{demo_password(state_dir)}")


def demo_password(state_dir: Path) -> str:
    """The demo account's password: random, made once per state directory (mode 600), then reused."""
    import os
    import secrets

    path = state_dir / "demo-password"
    state_dir.mkdir(parents=True, exist_ok=True)
    if path.is_file() and len(path.read_text().strip()) >= 12:
        return path.read_text().strip()
    value = f"demo-{secrets.token_urlsafe(12)}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def create_demo_account(api_url: str, state_dir: Path) -> dict[str, str]:
    """Register the demo account through the public API, with one site and one sector.

    The stack's tables start empty on every run, so it is made at each start; an account that
    exists already (e.g. DynamoDB kept by the developer) is signed into instead.
    """
    password = demo_password(state_dir)
    registered = _post(f"{api_url}/v1/auth/register", {
        "account_name": "Demo Roastery", "email": DEMO_EMAIL, "password": password,
        "first_name": "Dana", "last_name": "Demo"}, expect=(201, 409))
    if "error" in registered:
        _post(f"{api_url}/v1/auth/login", {"email": DEMO_EMAIL, "password": password}, expect=(200,))
        return {"email": DEMO_EMAIL, "password": password}
    token = registered["tokens"]["access_token"]
    site = _post(f"{api_url}/v1/sites", {"name": "Demo Coffee Blog", "domain": "coffee.example.com",
                                          "time_zone": "Europe/Berlin"}, token=token, expect=(201,))
    _post(f"{api_url}/v1/sites/{site['site_id']}/sectors", {
        "name": "Espresso at home", "description": "Machines, grinders and technique"}, token=token, expect=(201,))
    return {"email": DEMO_EMAIL, "password": password}


def _post(url: str, body: dict[str, Any], *, token: str | None = None, expect: tuple[int, ...]) -> Any:
    import urllib.error
    import urllib.request

    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            status, text = answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read()
    if status not in expect:
        raise RuntimeError(f"POST {url} answered {status}: {text[:300]!r}")
    return json.loads(text) if text else {}
