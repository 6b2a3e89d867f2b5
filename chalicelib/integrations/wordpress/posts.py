"""Posts: found by our content id, created, changed and trashed, with SEO meta where the site takes it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from chalicelib.integrations.wordpress.errors import WPBadRequest, WPForbidden, WPObjectNotFound
from chalicelib.integrations.wordpress.fields import (
    CONTENT_ID_META,
    SEO_DESCRIPTION_KEYS,
    SEO_TITLE_KEYS,
    check_content_id,
    with_marker,
    wp_datetime,
)
from chalicelib.integrations.wordpress.results import PostStatus, WPPost, best_post, parse_post
from chalicelib.integrations.wordpress.transport import Transport


class PostCalls(Transport):
    """Posts (and pages, and other post types by their REST base) carrying a content id."""

    def find_post_by_content_id(self, content_id: str, *, post_type: str = "post",
                                include_trash: bool = False) -> WPPost | None:
        """The post carrying this content id, or None.

        With the companion plugin: its ``/seo-engine/v1/posts?content_id=`` route (a meta
        query). Without it (or if that route is missing): a search for the id among posts of
        any status, confirmed by the registered meta or the hidden content marker. When
        several posts carry the id, the oldest one that is not trashed wins.
        """
        check_content_id(content_id)
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
        return best_post(candidates)

    def _search_by_marker(self, content_id: str, post_type: str, include_trash: bool) -> list[WPPost]:
        route = f"/wp/v2/{self._rest_base(post_type)}"
        statuses = ["any", "trash"] if include_trash else ["any"]
        found: list[WPPost] = []
        for status in statuses:
            items = self._request("GET", route, params={"search": content_id, "status": status, "context": "edit",
                                                        "per_page": 20})
            for item in items or ():
                post = parse_post(item)
                if post.content_id == content_id:
                    found.append(post)
        return found

    def get_post(self, post_id: int, *, post_type: str = "post") -> WPPost | None:
        """The post (edit context: raw fields, any status including trash), or None if gone."""
        try:
            return parse_post(self._request("GET", f"/wp/v2/{self._rest_base(post_type)}/{int(post_id)}",
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
        check_content_id(content_id)
        if status == "future" and date_gmt is None:
            raise ValueError("status 'future' needs date_gmt")
        body = self._post_body(post_type, content_id=content_id, title=title, content=content, status=status,
                               excerpt=excerpt, date_gmt=date_gmt, categories=categories, tags=tags,
                               featured_media=featured_media, author=author, slug=slug, seo_title=seo_title,
                               seo_description=seo_description, meta=meta)
        return parse_post(self._request("POST", f"/wp/v2/{self._rest_base(post_type)}", json=body))

    def update_post(self, post_id: int, *, content_id: str, title: str | None = None, content: str | None = None,
                    status: PostStatus | None = None, excerpt: str | None = None, date_gmt: datetime | None = None,
                    categories: Sequence[int] | None = None, tags: Sequence[int] | None = None,
                    featured_media: int | None = None, author: int | None = None, slug: str | None = None,
                    seo_title: str | None = None, seo_description: str | None = None, post_type: str = "post",
                    meta: Mapping[str, Any] | None = None) -> WPPost:
        """Change the given fields (None = leave as is). Raises WPObjectNotFound if the post is gone.

        ``content_id`` is required so that new content keeps its marker and meta.
        """
        check_content_id(content_id)
        body = self._post_body(post_type, content_id=content_id, title=title, content=content, status=status,
                               excerpt=excerpt, date_gmt=date_gmt, categories=categories, tags=tags,
                               featured_media=featured_media, author=author, slug=slug, seo_title=seo_title,
                               seo_description=seo_description, meta=meta)
        return parse_post(self._request("POST", f"/wp/v2/{self._rest_base(post_type)}/{int(post_id)}", json=body))

    def trash_post(self, post_id: int, *, post_type: str = "post") -> WPPost | None:
        """Move the post to the trash (idempotent). Returns it, or None if it no longer exists."""
        try:
            return parse_post(self._request("DELETE", f"/wp/v2/{self._rest_base(post_type)}/{int(post_id)}",
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

