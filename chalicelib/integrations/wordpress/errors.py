"""What went wrong with a WordPress site: one exception class per cause, and how an answer maps to one.

Errors (all subclass :class:`WPError`; ``retryable`` says whether trying again later may help):

==========================  ===================================================================
WPNotFound                  wrong URL: the host does not resolve, or nothing answers there
WPBlockedURL (WPNotFound)   the URL is refused by the SSRF policy (private address, bad scheme)
WPNotWordPress              something answers, but it is not a WordPress REST API
WPRestDisabled              WordPress, but its REST API is disabled or blocked
WPAuthError                 wrong user name / application password, or Application Passwords off
WPAuthHeaderStripped        (WPAuthError) the host drops the Authorization header before PHP
WPForbidden (WPAuthError)   authenticated, but the user lacks a capability (e.g. publish_posts)
WPObjectNotFound            the post / term / route asked for does not exist
WPBadRequest                WordPress rejected the request's parameters
WPCompanionMissing          the companion plugin is not active (only for plugin-only calls)
WPUnavailable               timeout, connection failure, 5xx: retryable
WPRateLimited               (WPUnavailable) HTTP 429: retryable, ``retry_after`` seconds if sent
==========================  ===================================================================

``WPUnavailable.outcome_unknown`` is True when a write may have reached WordPress before it
failed (a read timeout, a 5xx on a POST): the caller must look the post up
(``WordPressClient.find_post_by_content_id``) before sending it again, and an upload
(``WordPressClient.find_media_by_key``, for an upload that carried a ``media_key``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.integrations.http_guard import GuardedResponse

# 401 codes meaning "WordPress saw the credentials and rejected them".
CREDENTIAL_REJECTED = frozenset({
    "incorrect_password", "invalid_username", "invalid_email", "authentication_failed",
    "application_passwords_disabled", "application_passwords_disabled_for_user", "invalid_application_credentials",
})
REST_BLOCKED_CODES = frozenset({
    "rest_disabled", "rest_login_required", "rest_cannot_access", "rest_api_disabled", "rest_forbidden",
    "rest_authentication_required", "rest_not_logged_in",
})
HEADER_STRIPPED_HELP = (
    "WordPress did not receive the Authorization header: the web server or host removes it before "
    "PHP runs (common with Apache + CGI/FastCGI and some security proxies). Fix: on Apache add "
    "'CGIPassAuth On' (Apache 2.4.13+) or 'SetEnvIf Authorization \"(.*)\" HTTP_AUTHORIZATION=$1' "
    "to the site's .htaccess (or 'RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]' in the "
    "WordPress rewrite block); on nginx + PHP-FPM add 'fastcgi_param HTTP_AUTHORIZATION $http_authorization;'; "
    "on managed hosting ask the host to pass the Authorization header to PHP."
)


class WPError(Exception):
    """Base class. ``status`` is the HTTP status (if any), ``code`` WordPress's error code."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None, url: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.url = url


class WPNotFound(WPError):
    """Wrong URL: the host does not resolve, refuses connections at discovery, or answers 404."""


class WPBlockedURL(WPNotFound):
    """The URL is refused by the SSRF policy (see ``http_guard``)."""


class WPNotWordPress(WPError):
    """The URL answers, but not with a WordPress REST API."""


class WPRestDisabled(WPError):
    """WordPress, but the REST API (or its wp/v2 namespace) is disabled or blocked."""


class WPAuthError(WPError):
    """Wrong credentials, or Application Passwords unavailable for this user or site."""


class WPAuthHeaderStripped(WPAuthError):
    """Credentials were sent but WordPress never saw them: the host strips Authorization."""


class WPForbidden(WPAuthError):
    """Authenticated, but the user may not do this (missing capability)."""


class WPObjectNotFound(WPError):
    """The post, term, media or route does not exist (HTTP 404/410 on a specific object)."""


class WPBadRequest(WPError):
    """WordPress rejected a parameter (HTTP 400). ``params`` maps parameter -> message."""

    def __init__(self, message: str, *, params: Mapping[str, str] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.params = dict(params or {})


class WPCompanionMissing(WPError):
    """The SEO Engine Companion plugin is not active on the site."""


class WPUnavailable(WPError):
    """Timeout, connection failure, 5xx or an unreadable answer: try again later.

    ``outcome_unknown``: a write may have been applied before the failure.
    """

    retryable = True

    def __init__(self, message: str, *, outcome_unknown: bool = False, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.outcome_unknown = outcome_unknown


class WPRateLimited(WPUnavailable):
    """HTTP 429. ``retry_after`` is the server's Retry-After in seconds, when it sent one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


def error_body(response: GuardedResponse) -> tuple[str | None, str, Mapping[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        return None, "", {}
    if not isinstance(body, Mapping):
        return None, "", {}
    code = body.get("code") if isinstance(body.get("code"), str) else None
    message = re.sub(r"<[^>]+>", "", str(body.get("message") or ""))[:500]
    data = body.get("data") if isinstance(body.get("data"), Mapping) else {}
    return code, html.unescape(message), data


def retry_after(response: GuardedResponse) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None



# Asks the site why a request with credentials was treated as anonymous (``Transport``).
Diagnose = Callable[[int, str | None, str, str], WPAuthError]


def classify(method: str, route: str, url: str, response: GuardedResponse, *, unauthenticated: Diagnose) -> WPError:
    """The error a non-2xx answer to ``method route`` means.

    A 401 whose code does not say the credentials were rejected goes to ``unauthenticated``
    (the host may have stripped the Authorization header: only further requests can tell).
    """
    status = response.status_code
    code, message, data = error_body(response)
    what = f"{method} {route}"
    detail = f"{code}: {message}" if code else f"HTTP {status}"
    write = method not in ("GET", "HEAD", "OPTIONS")
    if status == 429:
        return WPRateLimited(f"{what}: rate limited by the site", status=status, code=code, url=url,
                             retry_after=retry_after(response))
    if status >= 500:
        return WPUnavailable(f"{what}: the site failed ({detail})", status=status, code=code, url=url,
                             outcome_unknown=write)
    if 300 <= status < 400:
        target = response.headers.get("location", "?")
        return WPNotFound(f"{what}: the site redirects to {target}; use that address as the site URL",
                          status=status, url=url)
    if status == 401:
        if code in CREDENTIAL_REJECTED:
            return WPAuthError(f"WordPress rejected the user name or application password ({detail})",
                               status=status, code=code, url=url)
        return unauthenticated(status, code, detail, url)
    if status == 403:
        if code in ("rest_disabled", "rest_api_disabled"):
            return WPRestDisabled(f"{what}: the REST API is disabled ({detail})", status=status, code=code, url=url)
        return WPForbidden(f"{what}: the user may not do this ({detail})", status=status, code=code, url=url)
    if status in (404, 410):
        return WPObjectNotFound(f"{what}: not found ({detail})", status=status, code=code, url=url)
    if status == 400:
        params = data.get("params") if isinstance(data.get("params"), Mapping) else {}
        if code == "term_exists" and data.get("term_id"):
            params = {**params, "term_id": data["term_id"]}
        return WPBadRequest(f"{what}: rejected ({detail})", status=status, code=code, url=url, params=params)
    return WPError(f"{what}: unexpected answer ({detail})", status=status, code=code, url=url)
