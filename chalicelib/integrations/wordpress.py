"""WordPress REST client: Application Password auth, every call through the SSRF guard.

Usage::

    client = WordPressClient("https://blog.example.com", "editor", "abcd efgh ijkl mnop qrst uvwx")
    info = client.check_connection()           # SiteInfo, or a WPError subclass saying what is wrong
    post = client.find_post_by_content_id(cid)  # before creating: a retried publish finds its post
    if post is None:
        post = client.create_post(content_id=cid, title=..., content=html, status="future", date_gmt=when)

The REST root is discovered once per client (``/wp-json/`` with pretty permalinks, else
``/?rest_route=/``, else the ``Link: rel="https://api.w.org/"`` header of the home page).

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
(:meth:`WordPressClient.find_post_by_content_id`) before sending it again, and an upload
(:meth:`WordPressClient.find_media_by_key`, for an upload that carried a ``media_key``).

The application password never appears in logs, errors or ``repr``.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from chalicelib.integrations import http_guard
from chalicelib.integrations.http_guard import GuardedResponse, HttpGuard

CONTENT_ID_META = "seo_engine_content_id"
COMPANION_NAMESPACE = "seo-engine/v1"
CONTENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
MARKER_PREFIX = "seo-engine:content-id="
_MARKER_RE = re.compile(r"\s*<!--\s*seo-engine:content-id=[A-Za-z0-9_-]*\s*-->\s*")
# An upload's key rides in the attachment's description (post_content), which WordPress writes
# in the same INSERT that creates the attachment: an attachment never exists without its key.
# No "--" inside: kses folds dashes inside an HTML comment for users without unfiltered_html.
MEDIA_MARKER_PREFIX = "seo-engine:media-key="
MEDIA_KEY_PATTERN = re.compile(r"^[A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)*$")
_MEDIA_MARKER_RE = re.compile(r"<!--\s*seo-engine:media-key=([A-Za-z0-9_-]+)\s*-->")

# SEO plugins' post meta, written only when the site exposes it over REST (the companion
# plugin registers these keys when Yoast SEO or Rank Math is active).
SEO_TITLE_KEYS = ("_yoast_wpseo_title", "rank_math_title")
SEO_DESCRIPTION_KEYS = ("_yoast_wpseo_metadesc", "rank_math_description")

# 401 codes meaning "WordPress saw the credentials and rejected them".
_CREDENTIAL_REJECTED = frozenset({
    "incorrect_password", "invalid_username", "invalid_email", "authentication_failed",
    "application_passwords_disabled", "application_passwords_disabled_for_user", "invalid_application_credentials",
})
_REST_BLOCKED_CODES = frozenset({
    "rest_disabled", "rest_login_required", "rest_cannot_access", "rest_api_disabled", "rest_forbidden",
    "rest_authentication_required", "rest_not_logged_in",
})
_KNOWN_BASES = {"post": "posts", "page": "pages", "attachment": "media"}
_INTERNAL_TYPES = frozenset({"attachment", "nav_menu_item", "revision", "custom_css", "customize_changeset",
                             "oembed_cache", "user_request"})
PostStatus = Literal["publish", "future", "draft", "pending", "private"]

HEADER_STRIPPED_HELP = (
    "WordPress did not receive the Authorization header: the web server or host removes it before "
    "PHP runs (common with Apache + CGI/FastCGI and some security proxies). Fix: on Apache add "
    "'CGIPassAuth On' (Apache 2.4.13+) or 'SetEnvIf Authorization \"(.*)\" HTTP_AUTHORIZATION=$1' "
    "to the site's .htaccess (or 'RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]' in the "
    "WordPress rewrite block); on nginx + PHP-FPM add 'fastcgi_param HTTP_AUTHORIZATION $http_authorization;'; "
    "on managed hosting ask the host to pass the Authorization header to PHP."
)


# --- errors -----------------------------------------------------------------------------

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


# --- results ----------------------------------------------------------------------------

@dataclass(frozen=True)
class WPUser:
    id: int
    name: str
    slug: str
    roles: tuple[str, ...] = ()
    capabilities: frozenset[str] = frozenset()  # empty when the site did not disclose them

    def can(self, capability: str) -> bool:
        return capability in self.capabilities


@dataclass(frozen=True)
class CompanionInfo:
    """What the companion plugin reports (``GET /seo-engine/v1/status``)."""

    version: str
    configured: bool  # product URL, site id and secret are all set
    site_id: str
    product_url: str
    seo_plugins: tuple[str, ...]  # e.g. ("yoast", "rankmath")
    seo_meta: tuple[str, ...]  # meta keys it exposes over REST


@dataclass(frozen=True)
class SiteInfo:
    name: str
    description: str
    url: str  # WordPress's own site URL (may differ from the URL we were given)
    home: str
    gmt_offset: float
    timezone_string: str
    rest_root: str
    pretty_permalinks: bool
    namespaces: tuple[str, ...]
    application_passwords: bool  # the site advertises Application Passwords
    user: WPUser
    companion: CompanionInfo | None

    @property
    def can_publish(self) -> bool:
        return self.user.can("publish_posts")

    @property
    def can_upload(self) -> bool:
        return self.user.can("upload_files")

    @property
    def can_manage_terms(self) -> bool:
        return self.user.can("manage_categories")


@dataclass(frozen=True)
class WPTerm:
    id: int
    name: str
    slug: str
    taxonomy: str
    parent: int = 0
    count: int = 0


@dataclass(frozen=True)
class WPPostType:
    slug: str
    name: str
    rest_base: str
    hierarchical: bool
    taxonomies: tuple[str, ...]


@dataclass(frozen=True)
class SiteStructure:
    categories: list[WPTerm]
    tags: list[WPTerm]
    authors: list[WPUser]  # users who can publish (see sync_structure)
    post_types: list[WPPostType]


@dataclass(frozen=True)
class WPMedia:
    id: int
    url: str  # the file's URL (source_url)
    link: str  # the attachment page
    mime_type: str
    alt_text: str
    media_key: str | None = None  # from the description's marker (see upload_media)


@dataclass(frozen=True)
class TermIds:
    categories: list[int]
    tags: list[int]


@dataclass(frozen=True)
class WPPost:
    id: int
    type: str
    status: str
    link: str
    title: str
    slug: str
    content: str | None  # raw content (edit context), None when not fetched
    excerpt: str | None
    date_gmt: datetime | None
    modified_gmt: datetime | None
    categories: tuple[int, ...]
    tags: tuple[int, ...]
    featured_media: int
    author: int
    meta: Mapping[str, Any]
    content_id: str | None  # from the registered meta, else from the content marker
    raw: Mapping[str, Any] = field(repr=False, default_factory=dict)


# --- helpers ----------------------------------------------------------------------------

def content_marker(content_id: str) -> str:
    """The hidden HTML comment that identifies our post when the companion plugin is absent."""
    _check_content_id(content_id)
    return f"<!-- {MARKER_PREFIX}{content_id} -->"


def with_marker(content: str, content_id: str) -> str:
    """``content`` with any old marker removed and this content id's marker appended."""
    return f"{_MARKER_RE.sub(chr(10), content).rstrip()}\n{content_marker(content_id)}"


def marker_content_id(content: str | None) -> str | None:
    if not content:
        return None
    found = re.search(r"<!--\s*seo-engine:content-id=([A-Za-z0-9_-]+)\s*-->", content)
    return found.group(1) if found else None


def media_key(owner_id: str, data: bytes) -> str:
    """The key of one upload: what the file is for (an image id) and a digest of its bytes.

    The same file for the same owner always has the same key; new bytes get a new key, so a
    re-rendered image is never mistaken for the attachment of its old file.
    """
    key = f"{owner_id}-{hashlib.sha256(data).hexdigest()[:16]}"
    _check_media_key(key)
    return key


def media_marker(key: str) -> str:
    """The hidden HTML comment, in the attachment's description, that carries an upload's key."""
    _check_media_key(key)
    return f"<!-- {MEDIA_MARKER_PREFIX}{key} -->"


def marker_media_key(description: str | None) -> str | None:
    if not description:
        return None
    found = _MEDIA_MARKER_RE.search(description)
    return found.group(1) if found else None


def _check_media_key(key: str) -> None:
    if not isinstance(key, str) or len(key) > 100 or not MEDIA_KEY_PATTERN.match(key):
        raise ValueError("a media key is 1-100 letters and digits, in groups joined by single '-' or '_'")


def _check_content_id(content_id: str) -> None:
    if not isinstance(content_id, str) or not CONTENT_ID_PATTERN.match(content_id):
        raise ValueError("content_id must be 1-100 characters of letters, digits, '-' and '_', starting with "
                         "a letter or digit")


def wp_datetime(value: datetime) -> str:
    """A timezone-aware datetime as WordPress's ``date_gmt`` (UTC, no offset)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("date_gmt must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_gmt(value: Any) -> datetime | None:
    if not value or not isinstance(value, str) or value.startswith("0000"):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _text(value: Any) -> str:
    """A WordPress field that is either a string or {"raw": ..., "rendered": ...}."""
    if isinstance(value, Mapping):
        raw = value.get("raw")
        return str(raw) if raw is not None else html.unescape(str(value.get("rendered") or ""))
    return "" if value is None else str(value)


def _raw_or_none(value: Any) -> str | None:
    if isinstance(value, Mapping):
        return None if value.get("raw") is None else str(value["raw"])
    return None if value is None else str(value)


def slugify(name: str) -> str:
    """An approximation of WordPress's sanitize_title (lookups fall back to the name)."""
    text = unicodedata.normalize("NFKD", html.unescape(name)).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9\s_-]", "", text)
    return re.sub(r"[\s_-]+", "-", text).strip("-")


def _safe_filename(filename: str, mime: str) -> str:
    base = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = slugify(stem) or "image"
    ext = re.sub(r"[^a-z0-9]", "", ext.lower())
    if not ext:
        ext = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}.get(mime, "bin")
    return f"{stem[:80]}.{ext[:10]}"


def _error_body(response: GuardedResponse) -> tuple[str | None, str, Mapping[str, Any]]:
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


def _retry_after(response: GuardedResponse) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


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


# --- the client -------------------------------------------------------------------------

class WordPressClient:
    """A WordPress site, reached with one user's Application Password.

    ``site_url`` is the site's address (``https://example.com`` or ``https://example.com/blog``).
    One client per site and task; it caches the REST root, exposed meta keys and term ids.
    """

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

    def __enter__(self) -> WordPressClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _auth(self) -> tuple[str, str]:
        return self.username, self.__password

    # --- connection -----------------------------------------------------------------------

    def check_connection(self) -> SiteInfo:
        """Discover the REST API, authenticate, and report the site, the user and the plugin.

        Raises WPNotFound / WPBlockedURL / WPNotWordPress / WPRestDisabled / WPAuthError /
        WPAuthHeaderStripped / WPUnavailable / WPRateLimited.
        """
        index = self._discover(force=True)
        self._check_site_path(index)
        me = self._request("GET", "/wp/v2/users/me", params={"context": "edit"})
        user = _user(me)
        companion = self.companion_status() if self.has_companion else None
        return SiteInfo(
            name=html.unescape(str(index.get("name") or "")),
            description=html.unescape(str(index.get("description") or "")),
            url=str(index.get("url") or self.site_url),
            home=str(index.get("home") or self.site_url),
            gmt_offset=float(index.get("gmt_offset") or 0),
            timezone_string=str(index.get("timezone_string") or ""),
            rest_root=self._root or "",
            pretty_permalinks=self._pretty,
            namespaces=tuple(index.get("namespaces") or ()),
            application_passwords=self._app_passwords_advertised,
            user=user,
            companion=companion,
        )

    def _check_site_path(self, index: Mapping[str, Any]) -> None:
        # WordPress answers ?rest_route= under any path, so a wrong path would "work": refuse
        # a site URL whose path is neither WordPress's home nor its site address.
        given = urlsplit(self.site_url).path.rstrip("/")
        known = {urlsplit(str(index.get(k) or "")).path.rstrip("/") for k in ("home", "url") if index.get(k)}
        if known and given not in known:
            home = str(index.get("home") or index.get("url"))
            raise WPNotFound(f"WordPress answers here, but its address is {home}; use that as the site URL",
                             url=self.site_url)

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
        return _companion(self._companion_request("GET", "/seo-engine/v1/status"))

    def configure_companion(self, *, product_url: str, site_id: str, secret: str) -> CompanionInfo:
        """Set the plugin's webhook target and secret (needs an administrator's password)."""
        body = {"product_url": product_url, "site_id": site_id, "secret": secret}
        self._companion_request("POST", "/seo-engine/v1/settings", json=body)
        return self.companion_status()

    def send_test_webhook(self) -> int:
        """Have the plugin send a signed ``ping`` webhook now (blocking, administrators only).

        Returns the HTTP status the product answered; raises WPBadRequest-like errors
        (``code`` seo_engine_not_configured / seo_engine_webhook_failed) when it could not.
        """
        result = self._companion_request("POST", "/seo-engine/v1/webhook-test")
        return int((result or {}).get("status") or 0)

    def _companion_request(self, method: str, route: str, **kw: Any) -> Any:
        if not self.has_companion:
            raise WPCompanionMissing("the SEO Engine Companion plugin is not active on this site", url=self.site_url)
        return self._request(method, route, **kw)

    # --- structure --------------------------------------------------------------------------

    def sync_structure(self, *, max_terms: int = 2000) -> SiteStructure:
        """Categories, tags, authors and post types.

        Authors: users with ``publish_posts`` when the user may list users (administrators);
        otherwise WordPress only lets us ask for ``who=authors`` (anyone who can edit posts),
        and capabilities are then unknown (empty).
        """
        categories = [_term(t, "category") for t in self._paginate("/wp/v2/categories", {}, max_terms)]
        tags = [_term(t, "post_tag") for t in self._paginate("/wp/v2/tags", {}, max_terms)]
        try:
            raw_users = self._paginate("/wp/v2/users", {"capabilities": "publish_posts", "context": "edit"}, 1000)
        except (WPForbidden, WPBadRequest, WPAuthError):
            raw_users = self._paginate("/wp/v2/users", {"who": "authors"}, 1000)
        types = self._request("GET", "/wp/v2/types", params={"context": "view"})
        post_types = []
        for slug, item in (types or {}).items() if isinstance(types, Mapping) else ():
            if not isinstance(item, Mapping) or not item.get("rest_base") or slug in _INTERNAL_TYPES:
                continue
            if str(slug).startswith("wp_"):
                continue
            self._rest_bases[str(slug)] = str(item["rest_base"])
            post_types.append(WPPostType(slug=str(slug), name=html.unescape(str(item.get("name") or slug)),
                                         rest_base=str(item["rest_base"]), hierarchical=bool(item.get("hierarchical")),
                                         taxonomies=tuple(item.get("taxonomies") or ())))
        return SiteStructure(categories=categories, tags=tags, authors=[_user(u) for u in raw_users],
                             post_types=post_types)

    def ensure_terms(self, categories: Iterable[str | int] = (), tags: Iterable[str | int] = ()) -> TermIds:
        """Ids of the named categories and tags, creating the missing ones.

        Found by slug, then by exact (case-insensitive) name; ints are taken as existing ids.
        """
        return TermIds(categories=self._ensure("categories", categories), tags=self._ensure("tags", tags))

    def _ensure(self, route: str, names: Iterable[str | int]) -> list[int]:
        ids: list[int] = []
        for name in names:
            term_id = name if isinstance(name, int) else self._ensure_one(route, name)
            if term_id is not None and term_id not in ids:
                ids.append(term_id)
        return ids

    def _ensure_one(self, route: str, name: str) -> int | None:
        clean = " ".join(html.unescape(name).split())
        if not clean:
            return None
        key = (route, clean.casefold())
        if key in self._term_cache:
            return self._term_cache[key]
        found: int | None = None
        slug = slugify(clean)
        if slug:
            hits = self._request("GET", f"/wp/v2/{route}", params={"slug": slug, "per_page": 10})
            found = next((int(t["id"]) for t in hits or () if isinstance(t, Mapping)), None)
        if found is None:
            hits = self._request("GET", f"/wp/v2/{route}", params={"search": clean, "per_page": 100})
            found = next((int(t["id"]) for t in hits or ()
                          if isinstance(t, Mapping) and html.unescape(str(t.get("name", ""))).casefold()
                          == clean.casefold()), None)
        if found is None:
            try:
                created = self._request("POST", f"/wp/v2/{route}", json={"name": clean})
                found = int(created["id"])
            except WPBadRequest as exc:
                # Created meanwhile, or a name WordPress slugs differently: it tells us the id.
                if exc.code != "term_exists" or not exc.params.get("term_id"):
                    raise
                found = int(exc.params["term_id"])
        self._term_cache[key] = found
        return found

    # --- media ------------------------------------------------------------------------------

    def upload_media(self, data: bytes, filename: str, mime: str, alt_text: str | None = None,
                     caption: str | None = None, *, media_key: str | None = None) -> WPMedia:
        """Upload a file to the media library; returns its id and URL.

        The raw body goes to ``POST /wp/v2/media``; alt text, caption and the ``media_key``
        marker (as the description) ride along as query parameters, and are set again with a
        second request if the site ignored them. Not idempotent by itself: after
        ``WPUnavailable(outcome_unknown=True)``, or a crash before the answer was stored, call
        :meth:`find_media_by_key` with the same key before uploading again.
        """
        if not data:
            raise ValueError("data is empty")
        name = _safe_filename(filename, mime)
        description = media_marker(media_key) if media_key is not None else None
        params = {k: v for k, v in (("alt_text", alt_text), ("caption", caption), ("description", description)) if v}
        created = self._request(
            "POST", "/wp/v2/media", params=params, data=data, timeout=self._upload_timeout,
            headers={"Content-Type": mime, "Content-Disposition": f'attachment; filename="{name}"'},
        )
        media = _media(created)
        wanted_caption = caption or None
        got_caption = _raw_or_none(created.get("caption")) if isinstance(created, Mapping) else None
        fix: dict[str, str] = {}
        if alt_text and media.alt_text != alt_text:
            fix["alt_text"] = alt_text
        if wanted_caption and wanted_caption not in (got_caption or ""):
            fix["caption"] = wanted_caption
        if description and media.media_key != media_key:
            fix["description"] = description
        return self.update_media(media.id, **fix) if fix else media

    def update_media(self, media_id: int, *, alt_text: str | None = None, caption: str | None = None,
                     description: str | None = None) -> WPMedia:
        """Change an attachment's alt text, caption or description (None = leave as is)."""
        body = {k: v for k, v in (("alt_text", alt_text), ("caption", caption), ("description", description))
                if v is not None}
        return _media(self._request("POST", f"/wp/v2/media/{int(media_id)}", params={"context": "edit"}, json=body))

    def find_media_by_key(self, media_key: str) -> WPMedia | None:
        """The attachment an upload with this key made, or None (the oldest, if several).

        Core REST only (no plugin needed): a search of the media library for the key
        (WordPress matches it in title, caption, description and file name), each hit
        confirmed by the exact marker in its raw description (edit context).
        """
        _check_media_key(media_key)
        items = self._request("GET", "/wp/v2/media", params={"search": media_key, "context": "edit",
                                                              "per_page": 20})
        hits = [_media(item) for item in items or () if isinstance(item, Mapping) and "id" in item]
        mine = [m for m in hits if m.media_key == media_key]
        return min(mine, key=lambda m: m.id) if mine else None

    # --- posts ------------------------------------------------------------------------------

    def find_post_by_content_id(self, content_id: str, *, post_type: str = "post",
                                include_trash: bool = False) -> WPPost | None:
        """The post carrying this content id, or None.

        With the companion plugin: its ``/seo-engine/v1/posts?content_id=`` route (a meta
        query). Without it (or if that route is missing): a search for the id among posts of
        any status, confirmed by the registered meta or the hidden content marker. When
        several posts carry the id, the oldest one that is not trashed wins.
        """
        _check_content_id(content_id)
        candidates: list[WPPost] | None = None
        if self.has_companion:
            try:
                found = self._request("GET", "/seo-engine/v1/posts", params={
                    "content_id": content_id, "post_type": post_type, "include_trash": int(include_trash)})
                ids = [int(p["id"]) for p in (found or {}).get("posts", []) if isinstance(p, Mapping)]
                candidates = [p for p in (self.get_post(i, post_type=post_type) for i in ids) if p is not None]
            except WPObjectNotFound:
                candidates = None  # an older plugin without the route: search instead
        if candidates is None:
            candidates = self._search_by_marker(content_id, post_type, include_trash)
        return _best(candidates)

    def _search_by_marker(self, content_id: str, post_type: str, include_trash: bool) -> list[WPPost]:
        route = f"/wp/v2/{self._rest_base(post_type)}"
        statuses = ["any", "trash"] if include_trash else ["any"]
        found: list[WPPost] = []
        for status in statuses:
            items = self._request("GET", route, params={"search": content_id, "status": status, "context": "edit",
                                                        "per_page": 20})
            for item in items or ():
                post = _post(item)
                if post.content_id == content_id:
                    found.append(post)
        return found

    def get_post(self, post_id: int, *, post_type: str = "post") -> WPPost | None:
        """The post (edit context: raw fields, any status including trash), or None if gone."""
        try:
            return _post(self._request("GET", f"/wp/v2/{self._rest_base(post_type)}/{int(post_id)}",
                                       params={"context": "edit"}))
        except WPObjectNotFound:
            return None

    def create_post(self, *, content_id: str, title: str, content: str, status: PostStatus = "draft",
                    excerpt: str | None = None, date_gmt: datetime | None = None,
                    categories: Sequence[int] = (), tags: Sequence[int] = (), featured_media: int | None = None,
                    author: int | None = None, slug: str | None = None, seo_title: str | None = None,
                    seo_description: str | None = None, post_type: str = "post",
                    meta: Mapping[str, Any] | None = None) -> WPPost:
        """Create a post carrying ``content_id`` (registered meta + hidden content marker).

        ``status="future"`` needs a future ``date_gmt`` (WordPress publishes a "future" post
        with a past date at once). SEO fields go to the Yoast / Rank Math meta keys the site
        exposes; without any, they are silently not sent. Not idempotent by itself: call
        :meth:`find_post_by_content_id` first.
        """
        _check_content_id(content_id)
        if status == "future" and date_gmt is None:
            raise ValueError("status 'future' needs date_gmt")
        body = self._post_body(post_type, content_id=content_id, title=title, content=content, status=status,
                               excerpt=excerpt, date_gmt=date_gmt, categories=categories, tags=tags,
                               featured_media=featured_media, author=author, slug=slug, seo_title=seo_title,
                               seo_description=seo_description, meta=meta)
        return _post(self._request("POST", f"/wp/v2/{self._rest_base(post_type)}", json=body))

    def update_post(self, post_id: int, *, content_id: str, title: str | None = None, content: str | None = None,
                    status: PostStatus | None = None, excerpt: str | None = None, date_gmt: datetime | None = None,
                    categories: Sequence[int] | None = None, tags: Sequence[int] | None = None,
                    featured_media: int | None = None, author: int | None = None, slug: str | None = None,
                    seo_title: str | None = None, seo_description: str | None = None, post_type: str = "post",
                    meta: Mapping[str, Any] | None = None) -> WPPost:
        """Change the given fields (None = leave as is). Raises WPObjectNotFound if the post is gone.

        ``content_id`` is required so that new content keeps its marker and meta.
        """
        _check_content_id(content_id)
        body = self._post_body(post_type, content_id=content_id, title=title, content=content, status=status,
                               excerpt=excerpt, date_gmt=date_gmt, categories=categories, tags=tags,
                               featured_media=featured_media, author=author, slug=slug, seo_title=seo_title,
                               seo_description=seo_description, meta=meta)
        return _post(self._request("POST", f"/wp/v2/{self._rest_base(post_type)}/{int(post_id)}", json=body))

    def trash_post(self, post_id: int, *, post_type: str = "post") -> WPPost | None:
        """Move the post to the trash (idempotent). Returns it, or None if it no longer exists."""
        try:
            return _post(self._request("DELETE", f"/wp/v2/{self._rest_base(post_type)}/{int(post_id)}",
                                       params={"context": "edit"}))
        except WPObjectNotFound as exc:
            if exc.code == "rest_already_trashed":
                return self.get_post(post_id, post_type=post_type)
            return None

    def exposed_meta_keys(self, post_type: str = "post") -> frozenset[str]:
        """Post meta keys the site accepts over REST for this post type (from the route schema)."""
        if post_type not in self._meta_keys:
            keys: set[str] = set()
            try:
                schema = self._request("OPTIONS", f"/wp/v2/{self._rest_base(post_type)}")
                props = ((schema or {}).get("schema") or {}).get("properties") or {}
                meta = props.get("meta") or {}
                keys.update((meta.get("properties") or {}).keys())
            except (WPObjectNotFound, WPBadRequest, WPForbidden):
                pass
            if not keys and self.has_companion:
                keys.update(self.companion_status().seo_meta)
                keys.add(CONTENT_ID_META)
            self._meta_keys[post_type] = frozenset(keys)
        return self._meta_keys[post_type]

    def _post_body(self, post_type: str, *, content_id: str, title: str | None, content: str | None,
                   status: str | None, excerpt: str | None, date_gmt: datetime | None,
                   categories: Sequence[int] | None, tags: Sequence[int] | None, featured_media: int | None,
                   author: int | None, slug: str | None, seo_title: str | None, seo_description: str | None,
                   meta: Mapping[str, Any] | None) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if title is not None:
            body["title"] = title
        if content is not None:
            body["content"] = with_marker(content, content_id)
        for key, value in (("status", status), ("excerpt", excerpt), ("slug", slug), ("author", author),
                           ("featured_media", featured_media)):
            if value is not None:
                body[key] = value
        if date_gmt is not None:
            body["date_gmt"] = wp_datetime(date_gmt)
        if categories is not None:
            body["categories"] = [int(c) for c in categories]
        if tags is not None:
            body["tags"] = [int(t) for t in tags]
        exposed = self.exposed_meta_keys(post_type)
        out_meta: dict[str, Any] = {}
        if CONTENT_ID_META in exposed:
            out_meta[CONTENT_ID_META] = content_id
        for keys, value in ((SEO_TITLE_KEYS, seo_title), (SEO_DESCRIPTION_KEYS, seo_description)):
            if value is not None:
                out_meta.update({k: value for k in keys if k in exposed})
        for key, value in (meta or {}).items():
            if key in exposed:
                out_meta[key] = value
        if out_meta:
            body["meta"] = out_meta
        return body

    def _rest_base(self, post_type: str) -> str:
        if post_type not in self._rest_bases:
            item = self._request("GET", f"/wp/v2/types/{post_type}", params={"context": "view"})
            self._rest_bases[post_type] = str(item.get("rest_base") or post_type)
        return self._rest_bases[post_type]

    # --- transport --------------------------------------------------------------------------

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
            code, _message, _data = _error_body(response)
            if code:
                # The REST API requires login (a security plugin): try again with our credentials.
                response = self._raw("GET", root, auth=True, discovery=True)
                if response.status_code in (401, 403):
                    code, message, _ = _error_body(response)
                    if code in _CREDENTIAL_REJECTED:
                        raise WPAuthError(f"WordPress rejected the credentials: {message}", status=401, code=code,
                                          url=root)
                    raise WPRestDisabled(f"the REST API is blocked for this user ({code}: {message})",
                                         status=response.status_code, code=code, url=root)
        if response.status_code == 429:
            raise WPRateLimited("the site rate-limits us (HTTP 429)", status=429, url=root,
                                retry_after=_retry_after(response))
        if response.status_code >= 500:
            code, message, _ = _error_body(response)
            raise WPUnavailable(f"the site answers HTTP {response.status_code} {message}".strip(),
                                status=response.status_code, code=code, url=root)
        if response.status_code == 404:
            code, message, _ = _error_body(response)
            if code in _REST_BLOCKED_CODES or code == "rest_no_route":
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
        status = response.status_code
        code, message, data = _error_body(response)
        what = f"{method} {route}"
        detail = f"{code}: {message}" if code else f"HTTP {status}"
        write = method not in ("GET", "HEAD", "OPTIONS")
        if status == 429:
            return WPRateLimited(f"{what}: rate limited by the site", status=status, code=code, url=url,
                                 retry_after=_retry_after(response))
        if status >= 500:
            return WPUnavailable(f"{what}: the site failed ({detail})", status=status, code=code, url=url,
                                 outcome_unknown=write)
        if 300 <= status < 400:
            target = response.headers.get("location", "?")
            return WPNotFound(f"{what}: the site redirects to {target}; use that address as the site URL",
                              status=status, url=url)
        if status == 401:
            if code in _CREDENTIAL_REJECTED:
                return WPAuthError(f"WordPress rejected the user name or application password ({detail})",
                                   status=status, code=code, url=url)
            return self._diagnose_unauthenticated(status, code, detail, url)
        if status == 403:
            if code in ("rest_disabled", "rest_api_disabled"):
                return WPRestDisabled(f"{what}: the REST API is disabled ({detail})", status=status, code=code,
                                      url=url)
            return WPForbidden(f"{what}: the user may not do this ({detail})", status=status, code=code, url=url)
        if status in (404, 410):
            return WPObjectNotFound(f"{what}: not found ({detail})", status=status, code=code, url=url)
        if status == 400:
            params = data.get("params") if isinstance(data.get("params"), Mapping) else {}
            if code == "term_exists" and data.get("term_id"):
                params = {**params, "term_id": data["term_id"]}
            return WPBadRequest(f"{what}: rejected ({detail})", status=status, code=code, url=url, params=params)
        return WPError(f"{what}: unexpected answer ({detail})", status=status, code=code, url=url)

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


def _user(item: Mapping[str, Any]) -> WPUser:
    caps = item.get("capabilities") if isinstance(item.get("capabilities"), Mapping) else {}
    return WPUser(id=int(item.get("id") or 0), name=html.unescape(str(item.get("name") or "")),
                  slug=str(item.get("slug") or ""), roles=tuple(item.get("roles") or ()),
                  capabilities=frozenset(k for k, v in caps.items() if v))


def _term(item: Mapping[str, Any], taxonomy: str) -> WPTerm:
    return WPTerm(id=int(item["id"]), name=html.unescape(str(item.get("name") or "")), slug=str(item.get("slug") or ""),
                  taxonomy=str(item.get("taxonomy") or taxonomy), parent=int(item.get("parent") or 0),
                  count=int(item.get("count") or 0))


def _media(item: Any) -> WPMedia:
    if not isinstance(item, Mapping) or "id" not in item:
        raise WPUnavailable("the media upload answered without a media id")
    return WPMedia(id=int(item["id"]), url=str(item.get("source_url") or ""), link=str(item.get("link") or ""),
                   mime_type=str(item.get("mime_type") or ""), alt_text=str(item.get("alt_text") or ""),
                   media_key=marker_media_key(_text(item.get("description"))))


def _companion(item: Any) -> CompanionInfo:
    item = item if isinstance(item, Mapping) else {}
    return CompanionInfo(version=str(item.get("version") or ""), configured=bool(item.get("configured")),
                         site_id=str(item.get("site_id") or ""), product_url=str(item.get("product_url") or ""),
                         seo_plugins=tuple(item.get("seo_plugins") or ()), seo_meta=tuple(item.get("seo_meta") or ()))


def _post(item: Any) -> WPPost:
    if not isinstance(item, Mapping) or "id" not in item:
        raise WPUnavailable("WordPress answered without a post")
    meta = item.get("meta") if isinstance(item.get("meta"), Mapping) else {}
    content = _raw_or_none(item.get("content"))
    meta_id = meta.get(CONTENT_ID_META) if isinstance(meta.get(CONTENT_ID_META), str) else None
    return WPPost(
        id=int(item["id"]), type=str(item.get("type") or ""), status=str(item.get("status") or ""),
        link=str(item.get("link") or ""), title=_text(item.get("title")), slug=str(item.get("slug") or ""),
        content=content, excerpt=_raw_or_none(item.get("excerpt")),
        date_gmt=parse_gmt(item.get("date_gmt")), modified_gmt=parse_gmt(item.get("modified_gmt")),
        categories=tuple(int(c) for c in item.get("categories") or ()),
        tags=tuple(int(t) for t in item.get("tags") or ()), featured_media=int(item.get("featured_media") or 0),
        author=int(item.get("author") or 0), meta=dict(meta),
        content_id=meta_id or marker_content_id(content), raw=dict(item),
    )


def _best(posts: Sequence[WPPost]) -> WPPost | None:
    if not posts:
        return None
    return sorted(posts, key=lambda p: (p.status == "trash", p.id))[0]
