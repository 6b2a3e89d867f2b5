"""Talking to one WordPress site: finding its REST API, sending requests, turning failures into errors.

The REST root is discovered once per client (``/wp-json/`` with pretty permalinks, else
``/?rest_route=/``, else the ``Link: rel="https://api.w.org/"`` header of the home page).
Every request goes through the SSRF guard (``http_guard``). A 401 that may mean "the host
strips the Authorization header" is diagnosed with the companion plugin or XML-RPC.
The application password never appears in logs, errors or ``repr``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from chalicelib.integrations import http_guard
from chalicelib.integrations.http_guard import GuardedResponse, HttpGuard
from chalicelib.integrations.wordpress.errors import (
    CREDENTIAL_REJECTED,
    HEADER_STRIPPED_HELP,
    REST_BLOCKED_CODES,
    WPAuthError,
    WPAuthHeaderStripped,
    WPBlockedURL,
    WPCompanionMissing,
    WPError,
    WPNotFound,
    WPNotWordPress,
    WPRateLimited,
    WPRestDisabled,
    WPUnavailable,
    classify,
    error_body,
    retry_after,
)
from chalicelib.integrations.wordpress.results import CompanionInfo, parse_companion

COMPANION_NAMESPACE = "seo-engine/v1"
_KNOWN_BASES = {"post": "posts", "page": "pages", "attachment": "media"}


class Transport:
    """One site's REST API, reached with one user's Application Password (see ``client.WordPressClient``)."""

    def __init__(self, site_url: str, username: str, app_password: str, *, guard: HttpGuard | None = None,
                 timeout: http_guard.Timeout = (5.0, 30.0), upload_timeout: http_guard.Timeout = (5.0, 120.0),
                 max_pages: int = 20) -> None:
        if not site_url or not username or not app_password:
            raise ValueError("site_url, username and app_password are required")
        self.site_url = site_url.strip().rstrip("/")
        self.username = username
        self.__password = app_password
        self._guard = guard or HttpGuard(timeout=timeout)
        self._owns_guard = guard is None
        self._timeout = timeout
        self._upload_timeout = upload_timeout
        self._max_pages = max_pages
        self._root: str | None = None
        self._pretty = True
        self._index: Mapping[str, Any] = {}
        self._meta_keys: dict[str, frozenset[str]] = {}
        self._rest_bases: dict[str, str] = dict(_KNOWN_BASES)
        self._term_cache: dict[tuple[str, str], int] = {}
        try:
            http_guard.check_url(self.site_url + "/")
        except http_guard.BlockedTarget as exc:
            raise WPBlockedURL(f"refused by the outbound URL policy: {exc}", url=self.site_url) from exc

    def __repr__(self) -> str:
        return f"WordPressClient(site_url={self.site_url!r}, username={self.username!r}, app_password='***')"

    __str__ = __repr__

    def close(self) -> None:
        if self._owns_guard:
            self._guard.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _auth(self) -> tuple[str, str]:
        return self.username, self.__password


    @property
    def has_companion(self) -> bool:
        """Is the companion plugin active (its REST namespace is registered)?"""
        return COMPANION_NAMESPACE in (self._discover().get("namespaces") or ())

    @property
    def _app_passwords_advertised(self) -> bool:
        auth = self._index.get("authentication")
        return isinstance(auth, Mapping) and "application-passwords" in auth

    def companion_status(self) -> CompanionInfo:
        """The companion plugin's status. Raises WPCompanionMissing without the plugin."""
        return parse_companion(self._companion_request("GET", "/seo-engine/v1/status"))

    def _companion_request(self, method: str, route: str, **kw: Any) -> Any:
        if not self.has_companion:
            raise WPCompanionMissing("the SEO Engine Companion plugin is not active on this site", url=self.site_url)
        return self._request(method, route, **kw)

    def _rest_base(self, post_type: str) -> str:
        if post_type not in self._rest_bases:
            item = self._request("GET", f"/wp/v2/types/{post_type}", params={"context": "view"})
            self._rest_bases[post_type] = str(item.get("rest_base") or post_type)
        return self._rest_bases[post_type]


    # --- discovery and requests -------------------------------------------------------------

    def _discover(self, *, force: bool = False) -> Mapping[str, Any]:
        """Find the REST root; cache it with the index (name, namespaces, authentication)."""
        if self._root is not None and not force:
            return self._index
        pretty_root = f"{self.site_url}/wp-json/"
        plain_root = f"{self.site_url}/?rest_route=/"
        first = self._fetch_index(pretty_root)
        if isinstance(first, Mapping):
            return self._accept_root(pretty_root, first)
        second = self._fetch_index(plain_root)
        if isinstance(second, Mapping):
            return self._accept_root(plain_root, second)
        home = self._raw("GET", f"{self.site_url}/", auth=False, discovery=True)
        if home.status_code >= 500:
            raise WPUnavailable(f"the site answers HTTP {home.status_code}", status=home.status_code,
                                url=self.site_url)
        if home.status_code in (404, 410):
            raise WPNotFound(f"nothing found at {self.site_url} (HTTP {home.status_code}); check the site URL",
                             status=home.status_code, url=self.site_url)
        # WordPress announces its REST root on every page (a subdirectory install, a custom prefix).
        link = _api_link(home) if home.status_code < 300 else None
        if link and _same_host(link, self.site_url) and link not in (pretty_root, plain_root):
            linked = self._fetch_index(link)
            if isinstance(linked, Mapping):
                return self._accept_root(link, linked)
        if _looks_like_wordpress(home):
            raise WPRestDisabled("this is WordPress, but its REST API does not answer (disabled by a plugin or "
                                 "blocked by the host)", url=self.site_url)
        raise WPNotWordPress(f"{self.site_url} answers, but not with a WordPress REST API; check the site URL",
                             status=home.status_code, url=self.site_url)

    def _fetch_index(self, root: str) -> Mapping[str, Any] | GuardedResponse:
        """The REST index at ``root`` as a dict, or the response that was not one."""
        response = self._raw("GET", root, auth=False, discovery=True)
        if response.status_code in (401, 403):
            code, _message, _data = error_body(response)
            if code:
                # The REST API requires login (a security plugin): try again with our credentials.
                response = self._raw("GET", root, auth=True, discovery=True)
                if response.status_code in (401, 403):
                    code, message, _ = error_body(response)
                    if code in CREDENTIAL_REJECTED:
                        raise WPAuthError(f"WordPress rejected the credentials: {message}", status=401, code=code,
                                          url=root)
                    raise WPRestDisabled(f"the REST API is blocked for this user ({code}: {message})",
                                         status=response.status_code, code=code, url=root)
        if response.status_code == 429:
            raise WPRateLimited("the site rate-limits us (HTTP 429)", status=429, url=root,
                                retry_after=retry_after(response))
        if response.status_code >= 500:
            code, message, _ = error_body(response)
            raise WPUnavailable(f"the site answers HTTP {response.status_code} {message}".strip(),
                                status=response.status_code, code=code, url=root)
        if response.status_code == 404:
            code, message, _ = error_body(response)
            if code in REST_BLOCKED_CODES or code == "rest_no_route":
                raise WPRestDisabled(f"the REST API is disabled ({code}: {message})", status=404, code=code, url=root)
        if response.status_code != 200:
            return response
        try:
            body = response.json()
        except ValueError:
            return response
        if not isinstance(body, Mapping) or "namespaces" not in body or "routes" not in body:
            return response
        return body

    def _accept_root(self, root: str, index: Mapping[str, Any]) -> Mapping[str, Any]:
        if "wp/v2" not in (index.get("namespaces") or ()):
            raise WPRestDisabled("the REST API answers but its wp/v2 namespace is disabled", url=root)
        self._root = root
        self._pretty = "rest_route=" not in root
        slim = {k: v for k, v in index.items() if k != "routes"}
        self._index = slim
        return slim

    def _url(self, route: str, params: Mapping[str, Any] | None) -> str:
        assert self._root is not None
        query = {k: (int(v) if isinstance(v, bool) else v) for k, v in (params or {}).items() if v is not None}
        if self._pretty:
            base = self._root + route.lstrip("/")
            return f"{base}?{urlencode(query, doseq=True)}" if query else base
        parts = urlsplit(self._root)
        existing = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "rest_route"]
        pairs = [("rest_route", route), *existing, *_flatten(query)]
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(pairs, safe="/"), ""))

    def _request(self, method: str, route: str, *, params: Mapping[str, Any] | None = None, json: Any = None,
                 data: bytes | None = None, headers: Mapping[str, str] | None = None,
                 timeout: http_guard.Timeout | None = None) -> Any:
        self._discover()
        url = self._url(route, params)
        response = self._raw(method, url, auth=True, json=json, data=data, headers=headers, timeout=timeout)
        if 200 <= response.status_code < 300:
            if not response.content.strip():
                return None
            try:
                return response.json()
            except ValueError as exc:
                raise WPUnavailable(f"{method} {route}: WordPress sent something that is not JSON (a cache, "
                                    "firewall or PHP notice in front of the REST API?)", status=response.status_code,
                                    url=url, outcome_unknown=method not in ("GET", "OPTIONS")) from exc
        raise self._error(method, route, url, response)

    def _raw(self, method: str, url: str, *, auth: bool, discovery: bool = False, json: Any = None,
             data: bytes | None = None, headers: Mapping[str, str] | None = None,
             timeout: http_guard.Timeout | None = None) -> GuardedResponse:
        write = method not in ("GET", "HEAD", "OPTIONS")
        try:
            return self._guard.request(method, url, json=json, data=data, headers={"Accept": "application/json",
                                                                                   **(headers or {})},
                                       auth=self._auth if auth else None, timeout=timeout or self._timeout)
        except http_guard.BlockedTarget as exc:
            raise WPBlockedURL(f"refused by the outbound URL policy: {exc}", url=url) from exc
        except http_guard.ResolutionFailed as exc:
            raise WPNotFound(f"{urlsplit(url).hostname} does not resolve; check the site URL", url=url) from exc
        except http_guard.TooManyRedirects as exc:
            raise WPNotFound("the site redirects too often; check the site URL", url=url) from exc
        except http_guard.TransportError as exc:
            unknown = write and exc.sent
            if discovery and not exc.sent and not isinstance(exc, http_guard.RequestTimeout):
                raise WPNotFound(f"nothing accepts connections at {self.site_url}; check the site URL",
                                 url=url) from exc
            raise WPUnavailable(str(exc), url=url, outcome_unknown=unknown) from exc
        except http_guard.ResponseTooLarge as exc:
            raise WPUnavailable(str(exc), url=url) from exc

    def _error(self, method: str, route: str, url: str, response: GuardedResponse) -> WPError:
        return classify(method, route, url, response, unauthenticated=self._diagnose_unauthenticated)

    def _diagnose_unauthenticated(self, status: int, code: str | None, detail: str, url: str) -> WPAuthError:
        """Credentials were sent, yet WordPress treated the request as anonymous. Why?

        Either the host strips the Authorization header, or (WordPress 6.1 does this) the
        credentials are wrong: it checks for Application Password errors before it looks at
        the credentials, so a wrong password also reads "rest_not_logged_in". We ask the
        companion plugin (it sees whether the header arrived), else XML-RPC (it checks the
        password from the request body, where no host strips it).
        """
        kw: dict[str, Any] = {"status": status, "code": code, "url": url}
        if not self._app_passwords_advertised:
            return WPAuthError("Application Passwords are not available on this site (they need HTTPS, or a plugin "
                               f"disabled them); WordPress answered {detail}", **kw)
        verdict: WPAuthError
        received = self._companion_auth_check()
        credentials_ok = None if received is not None else self._xmlrpc_credentials_ok()
        if received is False or (credentials_ok is True and _looks_like_app_password(self.__password)):
            verdict = WPAuthHeaderStripped(f"{HEADER_STRIPPED_HELP} (WordPress answered {detail})", **kw)
        elif credentials_ok is True:
            verdict = WPAuthError("this is the account's login password, not an Application Password: create one "
                                  "under Users > Profile > Application Passwords", **kw)
        elif received is True or credentials_ok is False:
            verdict = WPAuthError(f"WordPress rejected the user name or application password ({detail})", **kw)
        else:
            verdict = WPAuthError("WordPress did not accept the credentials: the user name or application password "
                                  f"is wrong, or the host strips the Authorization header. {HEADER_STRIPPED_HELP} "
                                  f"(WordPress answered {detail})", **kw)
        return verdict

    def _companion_auth_check(self) -> bool | None:
        """Did our Authorization header reach PHP? None when the plugin cannot tell."""
        if COMPANION_NAMESPACE not in (self._index.get("namespaces") or ()):
            return None
        try:
            response = self._raw("GET", self._url("/seo-engine/v1/auth-check", None), auth=True)
            body = response.json() if response.status_code == 200 else None
        except (WPError, ValueError):
            return None
        if not isinstance(body, Mapping) or not isinstance(body.get("authorization_received"), bool):
            return None
        return bool(body["authorization_received"])

    def _xmlrpc_credentials_ok(self) -> bool | None:
        """Are the credentials valid (checked over XML-RPC)? None when XML-RPC cannot tell."""
        from xml.sax.saxutils import escape

        call = ("<?xml version=\"1.0\"?><methodCall><methodName>wp.getUsersBlogs</methodName><params>"
                f"<param><value><string>{escape(self.username)}</string></value></param>"
                f"<param><value><string>{escape(self.__password)}</string></value></param>"
                "</params></methodCall>")
        try:
            response = self._raw("POST", f"{self.site_url}/xmlrpc.php", auth=False, data=call.encode(),
                                 headers={"Content-Type": "text/xml"})
        except WPError:
            return None
        text = response.content[:20_000].decode("utf-8", "replace")
        if response.status_code != 200 or "<methodResponse>" not in text:
            return None
        if "<fault>" not in text:
            return True
        fault = re.search(r"<name>faultCode</name>\s*<value>\s*<(?:int|i4)>\s*(-?\d+)", text)
        return False if fault and fault.group(1) == "403" else None

    def _paginate(self, route: str, params: Mapping[str, Any], limit: int) -> list[Mapping[str, Any]]:
        items: list[Mapping[str, Any]] = []
        page = 1
        while len(items) < limit and page <= self._max_pages:
            self._discover()
            url = self._url(route, {**params, "per_page": 100, "page": page})
            response = self._raw("GET", url, auth=True)
            if response.status_code == 400 and page > 1:
                break  # rest_post_invalid_page_number: past the end
            if not 200 <= response.status_code < 300:
                raise self._error("GET", route, url, response)
            try:
                batch = response.json()
            except ValueError as exc:
                raise WPUnavailable(f"GET {route}: the answer is not JSON", url=url) from exc
            if not isinstance(batch, list) or not batch:
                break
            items.extend(b for b in batch if isinstance(b, Mapping))
            total_pages = response.headers.get("x-wp-totalpages", "")
            if not total_pages.isdigit() or page >= int(total_pages):
                break
            page += 1
        return items[:limit]


def _flatten(query: Mapping[str, Any]) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    for key, value in query.items():
        if isinstance(value, list | tuple):
            pairs.extend((key, v) for v in value)
        else:
            pairs.append((key, value))
    return pairs


def _looks_like_app_password(password: str) -> bool:
    """WordPress makes Application Passwords of 24 letters and digits (shown in groups of 4)."""
    return re.fullmatch(r"[A-Za-z0-9]{24}", password.replace(" ", "")) is not None


def _same_host(url: str, other: str) -> bool:
    return (urlsplit(url).hostname or "").lower() == (urlsplit(other).hostname or "").lower()



def _looks_like_wordpress(response: GuardedResponse) -> bool:
    if 'rel="https://api.w.org/"' in response.headers.get("link", ""):
        return True
    sample = response.content[:200_000].decode("utf-8", "replace")
    return "/wp-content/" in sample or "/wp-includes/" in sample or 'content="WordPress' in sample


def _api_link(response: GuardedResponse) -> str | None:
    for part in response.headers.get("link", "").split(","):
        if 'rel="https://api.w.org/"' in part:
            found = re.search(r"<([^>]+)>", part)
            if found:
                return found.group(1)
    return None

