"""Outbound HTTP to customer-supplied URLs, guarded against SSRF.

A customer types their WordPress URL; we then call it from inside our network. Without a
guard that URL (or a DNS answer for it, or a redirect from it) could point at the cloud
metadata service (169.254.169.254), at loopback, or at anything else on a private network.

The policy, enforced for every connection (first request and every redirect hop):

- only ``http`` and ``https`` URLs, with a host and without user info;
- the host is resolved and *every* address it resolves to must be public. Refused:
  private, loopback, link-local, multicast, reserved, unspecified, shared (CGNAT) and
  other non-global ranges, for IPv4 and IPv6, including IPv4 addresses embedded in IPv6
  (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4, Teredo);
- when ``chalicelib.config.allow_loopback_targets()`` is true (local stack, tests),
  loopback addresses are allowed too, and nothing else that is private;
- the socket connects to the very address that passed the check: resolution and check
  happen inside the connection object (``_GuardedHTTPConnection._new_conn``), so a DNS
  answer that changes between the check and the connect (DNS rebinding) cannot slip a
  private address in. TLS still runs against the URL's host name (SNI and certificate
  verification are urllib3's, unchanged), because only the TCP connect is replaced;
- redirects are followed by this module, never by requests: at most ``max_redirects``
  hops (3 by default), each hop checked like the first; credentials are dropped when a
  redirect leaves the original origin; a 301/302/303 answer to a non-GET request is
  returned as is instead of silently turning a POST into a GET;
- connect and read timeouts are always set, plus a total deadline for reading the body;
- the response body is capped (``ResponseTooLarge``);
- environment proxies, ``.netrc`` and cookies are ignored (``trust_env = False``), so
  nothing from the environment can route a call around the check.

Use :class:`HttpGuard` (one per client; it keeps a connection pool) or
:func:`guarded_request` for a one-off call. Both return a :class:`GuardedResponse` with
the body already read.
"""

from __future__ import annotations

import ipaddress
import json as jsonlib
import socket
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3 import exceptions as urllib3_exceptions
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from chalicelib import config

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)  # (connect, read) seconds
DEFAULT_TOTAL_TIMEOUT = 60.0
DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_REDIRECTS = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_SENSITIVE_HEADERS = ("authorization", "cookie", "proxy-authorization")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Timeout = float | tuple[float, float]


# --- errors -----------------------------------------------------------------------------

class GuardError(Exception):
    """Base class of everything this module raises. ``url`` is the URL being fetched."""

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class BlockedTarget(GuardError):
    """The URL, one of its addresses or a redirect target is not allowed (SSRF policy)."""


class ResolutionFailed(GuardError):
    """The host name does not resolve (a wrong URL, usually)."""


class TransportError(GuardError):
    """The request did not get a complete answer: connection refused or reset, TLS failure.

    ``sent`` is False when the failure happened before the request could reach the server
    (connecting), True when the server may have received it (so a non-idempotent request
    may have taken effect).
    """

    def __init__(self, message: str, *, url: str = "", sent: bool = True) -> None:
        super().__init__(message, url=url)
        self.sent = sent


class RequestTimeout(TransportError):
    """Connect, read or total timeout."""


class TooManyRedirects(GuardError):
    """More than ``max_redirects`` redirects."""


class ResponseTooLarge(GuardError):
    """The response body is larger than the cap."""


# --- address policy ---------------------------------------------------------------------

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4, Teredo), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def forbidden_reason(address: str | IPAddress, *, allow_loopback: bool | None = None) -> str | None:
    """Why ``address`` may not be connected to, or None if it may.

    ``allow_loopback`` defaults to ``config.allow_loopback_targets()``.
    """
    if allow_loopback is None:
        allow_loopback = config.allow_loopback_targets()
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            inner = forbidden_reason(embedded, allow_loopback=allow_loopback)
            return f"{ip} embeds {embedded}: {inner}" if inner else None
    if ip.is_loopback:
        return None if allow_loopback else f"{ip} is a loopback address"
    checks = (
        ("an unspecified", ip.is_unspecified),
        ("a link-local", ip.is_link_local),
        ("a multicast", ip.is_multicast),
        ("a private", ip.is_private),
        ("a reserved", ip.is_reserved),
        ("a site-local", isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local),
        ("a non-global", not ip.is_global),
    )
    for label, hit in checks:
        if hit:
            return f"{ip} is {label} address"
    return None


def resolve_checked(host: str, port: int, *, allow_loopback: bool | None = None) -> list[tuple[Any, ...]]:
    """Resolve ``host`` and return its ``getaddrinfo`` entries if every address is allowed.

    Raises :class:`BlockedTarget` if any address is forbidden (a name that resolves to
    both a public and a private address is refused: the private one could be picked on a
    retry), :class:`ResolutionFailed` if the name does not resolve.
    """
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        infos = socket.getaddrinfo(bare, port, socket.AF_UNSPEC, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ResolutionFailed(f"{bare} does not resolve: {exc}") from exc
    if not infos:
        raise ResolutionFailed(f"{bare} does not resolve to any address")
    for info in infos:
        reason = forbidden_reason(info[4][0], allow_loopback=allow_loopback)
        if reason:
            raise BlockedTarget(f"refusing to connect to {bare}: {reason}")
    return infos


def check_url(url: str) -> str:
    """Check a URL's form (scheme, host, no user info, port). Returns it; raises BlockedTarget.

    Addresses are checked when connecting (see the module docstring); a literal IP in the
    URL is checked here too, for an early and clear error.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BlockedTarget(f"invalid URL: {exc}", url=url) from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise BlockedTarget(f"only http and https URLs are allowed, not {scheme or 'no scheme'!r}", url=url)
    if not parts.hostname:
        raise BlockedTarget("the URL has no host", url=url)
    if parts.username is not None or parts.password is not None:
        raise BlockedTarget("credentials inside the URL are not allowed", url=url)
    if port == 0:
        raise BlockedTarget("port 0 is not allowed", url=url)
    try:
        literal = ipaddress.ip_address(parts.hostname.split("%", 1)[0])
    except ValueError:
        literal = None
    if literal is not None:
        reason = forbidden_reason(literal)
        if reason:
            raise BlockedTarget(f"refusing to connect to {parts.hostname}: {reason}", url=url)
    return url


# --- the connection layer: resolve, check, connect to the checked address ---------------

def _guarded_new_conn(conn: HTTPConnection) -> socket.socket:
    host = getattr(conn, "_dns_host", conn.host)
    try:
        infos = resolve_checked(host, conn.port)
    except ResolutionFailed as exc:
        raise NameResolutionError(conn.host, conn, socket.gaierror(str(exc))) from exc
    last: Exception | None = None
    for info in infos:
        ip = info[4][0]
        try:
            # An IP literal: create_connection's own getaddrinfo does no DNS lookup for it.
            sock = urllib3_connection.create_connection(
                (ip, conn.port), conn.timeout, source_address=conn.source_address,
                socket_options=conn.socket_options,
            )
        except TimeoutError as exc:
            last = ConnectTimeoutError(conn, f"Connection to {conn.host} timed out. (connect timeout={conn.timeout})")
            last.__cause__ = exc
        except OSError as exc:
            last = NewConnectionError(conn, f"Failed to establish a new connection: {exc}")
            last.__cause__ = exc
        else:
            sys.audit("http.client.connect", conn, conn.host, conn.port)
            return sock
    assert last is not None
    raise last


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _guarded_new_conn(self)


class _GuardedHTTPSConnection(HTTPSConnection):
    # Only the TCP connect changes; HTTPSConnection.connect() then wraps the socket with
    # server_hostname = the URL's host, so SNI and certificate checks are unchanged.
    def _new_conn(self) -> socket.socket:
        return _guarded_new_conn(self)


class _GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections only reach addresses allowed by the policy."""

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPConnectionPool,
            "https": _GuardedHTTPSConnectionPool,
        }

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        # A proxy would connect on our behalf, past the address check.
        raise BlockedTarget("proxies are not supported for guarded requests")


# --- responses and the client -----------------------------------------------------------

@dataclass(frozen=True)
class GuardedResponse:
    """A complete response: the body is read (and capped) before this is returned."""

    status_code: int
    headers: CaseInsensitiveDict
    content: bytes
    url: str
    history: tuple[str, ...] = ()  # the URLs that redirected here, in order
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    @property
    def is_redirect(self) -> bool:
        return self.status_code in REDIRECT_STATUSES and "location" in self.headers

    @property
    def text(self) -> str:
        return self.content.decode(self._charset(), errors="replace")

    def json(self) -> Any:
        """Parse the body as JSON (raises ValueError if it is not JSON)."""
        return jsonlib.loads(self.content.decode(self._charset(), errors="replace").lstrip("\ufeff"))

    def _charset(self) -> str:
        content_type = self.headers.get("content-type", "")
        for part in content_type.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                try:
                    "".encode(value.strip('"'))
                except LookupError:
                    break
                return value.strip('"')
        return "utf-8"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(scheme)


def _may_keep_credentials(old_url: str, new_url: str) -> bool:
    old, new = _origin(old_url), _origin(new_url)
    if old == new:
        return True
    # An http -> https upgrade on the default ports of the same host keeps them (as requests does).
    return old[1] == new[1] and old[0] == "http" and new[0] == "https" and old[2] == 80 and new[2] == 443


@dataclass
class HttpGuard:
    """A guarded HTTP client. One per integration client; not shared between tenants.

    ``timeout`` is ``(connect, read)`` seconds (or one number for both) and is never None;
    ``total_timeout`` bounds one hop from sending to having read the whole body;
    ``max_response_bytes`` caps the body; ``verify`` is requests' TLS verify setting (True,
    or a CA bundle path for tests).
    """

    timeout: Timeout = DEFAULT_TIMEOUT
    total_timeout: float = DEFAULT_TOTAL_TIMEOUT
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    verify: bool | str = True
    user_agent: str = "SEOContentEngine/1.0"
    _session: requests.Session = field(init=False, repr=False)

    def __post_init__(self) -> None:
        session = requests.Session()
        session.trust_env = False  # no proxies, .netrc or CA overrides from the environment
        adapter = GuardedAdapter(max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = self.user_agent
        self._session = session

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> HttpGuard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        data: bytes | str | Mapping[str, Any] | None = None,
        json: Any = None,
        auth: tuple[str, str] | None = None,
        timeout: Timeout | None = None,
        follow_redirects: bool = True,
        max_response_bytes: int | None = None,
    ) -> GuardedResponse:
        """Send one request, following allowed redirects; return the final response.

        Raises :class:`BlockedTarget`, :class:`ResolutionFailed`, :class:`RequestTimeout`,
        :class:`TransportError`, :class:`TooManyRedirects`, :class:`ResponseTooLarge`.
        HTTP error statuses are returned, not raised.
        """
        method = method.upper()
        cap = self.max_response_bytes if max_response_bytes is None else max_response_bytes
        hop_headers = dict(headers or {})
        hop_auth = auth
        history: list[str] = []
        current = url
        started = time.monotonic()
        for _hop in range(self.max_redirects + 1):
            response = self._send_one(method, current, params=params, headers=hop_headers, data=data, json=json,
                                      auth=hop_auth, timeout=timeout, cap=cap, history=tuple(history))
            if not follow_redirects or not response.is_redirect:
                return _with_elapsed(response, time.monotonic() - started)
            target = urljoin(response.url, response.headers["location"])
            check_url(target)
            if response.status_code in (301, 302, 303) and method not in ("GET", "HEAD"):
                # Following would turn the request into a GET and lose it; let the caller decide.
                return _with_elapsed(response, time.monotonic() - started)
            if not _may_keep_credentials(current, target):
                hop_auth = None
                hop_headers = {k: v for k, v in hop_headers.items() if k.lower() not in _SENSITIVE_HEADERS}
            history.append(response.url)
            current, params = target, None  # the Location already carries its query
        raise TooManyRedirects(f"more than {self.max_redirects} redirects", url=url)

    def _send_one(self, method: str, url: str, *, params: Any, headers: dict[str, str], data: Any, json: Any,
                  auth: tuple[str, str] | None, timeout: Timeout | None, cap: int,
                  history: tuple[str, ...]) -> GuardedResponse:
        check_url(url)
        effective_timeout = timeout if timeout is not None else self.timeout
        deadline = time.monotonic() + self.total_timeout
        try:
            response = self._session.request(
                method, url, params=params, headers=headers, data=data, json=json, auth=auth,
                timeout=effective_timeout, allow_redirects=False, stream=True, verify=self.verify,
            )
        except BlockedTarget as exc:
            exc.url = exc.url or url
            raise
        except requests.exceptions.ConnectTimeout as exc:
            raise RequestTimeout(f"connecting to {_host_of(url)} timed out", url=url, sent=False) from exc
        except requests.exceptions.Timeout as exc:
            raise RequestTimeout(f"{_host_of(url)} did not answer in time", url=url, sent=True) from exc
        except requests.exceptions.ConnectionError as exc:
            resolution = _find_cause(exc, NameResolutionError)
            if resolution is not None:
                raise ResolutionFailed(f"{_host_of(url)} does not resolve", url=url) from exc
            # A failed connect or TLS handshake never sent the request.
            sent = _find_cause(exc, NewConnectionError) is None and not isinstance(exc, requests.exceptions.SSLError)
            raise TransportError(f"connection to {_host_of(url)} failed: {_short(exc)}", url=url, sent=sent) from exc
        except requests.exceptions.RequestException as exc:
            raise TransportError(f"request to {_host_of(url)} failed: {_short(exc)}", url=url) from exc
        try:
            body = _read_capped(response, cap, deadline, url)
        finally:
            response.close()
        return GuardedResponse(
            status_code=response.status_code, headers=CaseInsensitiveDict(response.headers), content=body,
            url=response.url, history=history,
        )


def _read_capped(response: requests.Response, cap: int, deadline: float, url: str) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise ResponseTooLarge(f"the response declares {declared} bytes, more than the cap of {cap}", url=url)
    chunks: list[bytes] = []
    size = 0
    raw = response.raw
    try:
        while True:
            # read1: at most one receive per call, so the deadline is checked however slowly
            # the peer drips its bytes (each receive is bounded by the read timeout).
            chunk = raw.read1(64 * 1024, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            if size > cap:
                raise ResponseTooLarge(f"the response is larger than the cap of {cap} bytes", url=url)
            if time.monotonic() > deadline:
                raise RequestTimeout(f"reading the response of {_host_of(url)} took too long", url=url)
            chunks.append(chunk)
    except (urllib3_exceptions.HTTPError, requests.exceptions.RequestException, OSError) as exc:
        if _find_cause(exc, urllib3_exceptions.ReadTimeoutError) or isinstance(exc, TimeoutError):
            raise RequestTimeout(f"{_host_of(url)} stopped sending its answer", url=url) from exc
        raise TransportError(f"reading the response of {_host_of(url)} failed: {_short(exc)}", url=url) from exc
    return b"".join(chunks)


def _with_elapsed(response: GuardedResponse, elapsed: float) -> GuardedResponse:
    return GuardedResponse(response.status_code, response.headers, response.content, response.url,
                           response.history, elapsed)


def _host_of(url: str) -> str:
    return urlsplit(url).netloc or url


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:300] + "..."


def _find_cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        todo.extend(item for item in linked if isinstance(item, BaseException))
    return None


def guarded_request(method: str, url: str, **kwargs: Any) -> GuardedResponse:
    """One guarded request with a throwaway :class:`HttpGuard` (see :meth:`HttpGuard.request`)."""
    with HttpGuard() as guard:
        return guard.request(method, url, **kwargs)
