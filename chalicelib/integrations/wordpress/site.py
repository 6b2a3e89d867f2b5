"""The site itself: checking the connection, the companion plugin, categories, tags, authors, post types."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from chalicelib.integrations.wordpress.errors import WPAuthError, WPBadRequest, WPForbidden, WPNotFound
from chalicelib.integrations.wordpress.fields import slugify
from chalicelib.integrations.wordpress.results import (
    CompanionInfo,
    SiteInfo,
    SiteStructure,
    TermIds,
    WPPostType,
    parse_term,
    parse_user,
)
from chalicelib.integrations.wordpress.transport import Transport

_INTERNAL_TYPES = frozenset({"attachment", "nav_menu_item", "revision", "custom_css", "customize_changeset",
                             "oembed_cache", "user_request"})


class SiteCalls(Transport):
    """Connection check, plugin settings, the site's structure and terms."""

    def check_connection(self) -> SiteInfo:
        """Discover the REST API, authenticate, and report the site, the user and the plugin.

        Raises WPNotFound / WPBlockedURL / WPNotWordPress / WPRestDisabled / WPAuthError /
        WPAuthHeaderStripped / WPUnavailable / WPRateLimited.
        """
        index = self._discover(force=True)
        self._check_site_path(index)
        me = self._request("GET", "/wp/v2/users/me", params={"context": "edit"})
        user = parse_user(me)
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

    # --- structure --------------------------------------------------------------------------

    def sync_structure(self, *, max_terms: int = 2000) -> SiteStructure:
        """Categories, tags, authors and post types.

        Authors: users with ``publish_posts`` when the user may list users (administrators);
        otherwise WordPress only lets us ask for ``who=authors`` (anyone who can edit posts),
        and capabilities are then unknown (empty).
        """
        categories = [parse_term(t, "category") for t in self._paginate("/wp/v2/categories", {}, max_terms)]
        tags = [parse_term(t, "post_tag") for t in self._paginate("/wp/v2/tags", {}, max_terms)]
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
        return SiteStructure(categories=categories, tags=tags, authors=[parse_user(u) for u in raw_users],
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

