"""An in-memory WordPress that answers like ``WordPressClient`` does (API tier; the e2e tier uses a real one).

``FakeWordPress.install(monkeypatch)`` replaces ``chalicelib.integrations.wordpress.client.WordPressClient``;
every client made for ``URL`` talks to the same in-memory site. ``fail`` queues errors for the
next calls of a method; ``after`` runs code right after a successful call (a crash after
WordPress answered).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from chalicelib.integrations.wordpress import client as wpclient
from chalicelib.integrations.wordpress import fields as wpfields
from chalicelib.integrations.wordpress.errors import (
    HEADER_STRIPPED_HELP,
    WPAuthError,
    WPAuthHeaderStripped,
    WPBlockedURL,
    WPNotFound,
    WPObjectNotFound,
    WPRestDisabled,
)
from chalicelib.integrations.wordpress.results import (
    CompanionInfo,
    SiteInfo,
    SiteStructure,
    TermIds,
    WPMedia,
    WPPost,
    WPPostType,
    WPTerm,
    WPUser,
)

URL = "https://blog.example.com"
USER = "editor"
PASSWORD = "abcd efgh ijkl mnop qrst uvwx"


class FakeWordPress:
    def __init__(self) -> None:
        self.url = URL
        self.password = PASSWORD
        self.companion = True
        self.rest_disabled = False
        self.strips_auth = False
        self.posts: dict[int, dict[str, Any]] = {}
        self.media: dict[int, dict[str, Any]] = {}
        self.terms: dict[str, dict[str, int]] = {"categories": {"Uncategorized": 1}, "tags": {}}
        self.companion_settings: dict[str, str] = {}
        self.calls: defaultdict[str, int] = defaultdict(int)
        self._ids = itertools.count(100)
        self._failures: defaultdict[str, list[Exception]] = defaultdict(list)
        self._after: dict[str, Callable[[Any], None]] = {}

    # --- test controls ---------------------------------------------------------------------

    def install(self, monkeypatch: Any) -> FakeWordPress:
        site = self

        class Client(FakeClient):
            def __init__(self, site_url: str, username: str, app_password: str, **_: Any) -> None:
                super().__init__(site, site_url, username, app_password)

        monkeypatch.setattr(wpclient, "WordPressClient", Client)
        return self

    def fail(self, method: str, *errors: Exception) -> None:
        self._failures[method].extend(errors)

    def after(self, method: str, hook: Callable[[Any], None]) -> None:
        self._after[method] = hook

    def posts_with(self, content_id: str) -> list[dict[str, Any]]:
        return [p for p in self.posts.values() if p["content_id"] == content_id]

    def orphan_media(self) -> list[int]:
        """Attachments no post uses: neither its featured image nor an image in its body."""
        used = {p["featured_media"] for p in self.posts.values()}
        bodies = "".join(p["content"] or "" for p in self.posts.values())
        return sorted(i for i, m in self.media.items() if i not in used and f'src="{m["url"]}"' not in bodies)

    def _call(self, method: str) -> None:
        self.calls[method] += 1
        if self._failures[method]:
            raise self._failures[method].pop(0)

    def _done(self, method: str, result: Any) -> Any:
        hook = self._after.pop(method, None)
        if hook is not None:
            hook(result)
        return result


def _post(raw: dict[str, Any]) -> WPPost:
    return WPPost(id=raw["id"], type="post", status=raw["status"], link=f"{URL}/?p={raw['id']}", title=raw["title"],
                  slug=str(raw["id"]), content=raw["content"], excerpt=raw.get("excerpt"), date_gmt=raw["date_gmt"],
                  modified_gmt=raw["modified_gmt"], categories=tuple(raw["categories"]), tags=tuple(raw["tags"]),
                  featured_media=raw["featured_media"] or 0, author=1, meta=dict(raw["meta"]),
                  content_id=raw["content_id"], raw=raw)


class FakeClient:
    def __init__(self, site: FakeWordPress, site_url: str, username: str, app_password: str) -> None:
        if not site_url or not username or not app_password:
            raise ValueError("site_url, username and app_password are required")
        if "169.254." in site_url or "10.0." in site_url:
            raise WPBlockedURL("refused by the outbound URL policy", url=site_url)
        self.site = site
        self.site_url = site_url.rstrip("/")
        self.username = username
        self._password = app_password

    def __enter__(self) -> FakeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def close(self) -> None:
        pass

    def _auth(self) -> None:
        if self.site_url != self.site.url:
            raise WPNotFound("nothing answers at this address", url=self.site_url)
        if self.site.rest_disabled:
            raise WPRestDisabled("the REST API is disabled", url=self.site_url)
        if self.site.strips_auth:
            raise WPAuthHeaderStripped(HEADER_STRIPPED_HELP, url=self.site_url)
        if self.username != USER or self._password != self.site.password:
            raise WPAuthError("wrong user name or application password", status=401, url=self.site_url)

    @property
    def has_companion(self) -> bool:
        return self.site.companion

    def check_connection(self) -> SiteInfo:
        self.site._call("check_connection")
        self._auth()
        companion = CompanionInfo("1.0.0", bool(self.site.companion_settings), "", "", ("yoast",),
                                  ("_yoast_wpseo_title", "_yoast_wpseo_metadesc")) if self.site.companion else None
        user = WPUser(1, "Ed", USER, ("editor",), frozenset({"publish_posts", "upload_files", "manage_categories"}))
        return SiteInfo("Fake blog", "", URL, URL, 0.0, "UTC", f"{URL}/wp-json/", True, ("wp/v2",), True, user,
                        companion)

    def sync_structure(self, *, max_terms: int = 2000) -> SiteStructure:
        self.site._call("sync_structure")
        self._auth()
        return SiteStructure(
            categories=[WPTerm(i, n, n.lower(), "category") for n, i in self.site.terms["categories"].items()],
            tags=[WPTerm(i, n, n.lower(), "post_tag") for n, i in self.site.terms["tags"].items()],
            authors=[WPUser(1, "Ed", USER)], post_types=[WPPostType("post", "Posts", "posts", False, ("category",))])

    def configure_companion(self, *, product_url: str, site_id: str, secret: str) -> CompanionInfo:
        self.site._call("configure_companion")
        self.site.companion_settings = {"product_url": product_url, "site_id": site_id, "secret": secret}
        return self.check_connection().companion  # type: ignore[return-value]

    def ensure_terms(self, categories: Any = (), tags: Any = ()) -> TermIds:
        self.site._call("ensure_terms")
        self._auth()

        def ids(kind: str, names: Any) -> list[int]:
            out = []
            for name in names:
                known = self.site.terms[kind]
                if name not in known:
                    known[name] = next(self.site._ids)
                out.append(known[name])
            return out

        return TermIds(ids("categories", categories), ids("tags", tags))

    def upload_media(self, data: bytes, filename: str, mime: str, alt_text: str | None = None,
                     caption: str | None = None, *, media_key: str | None = None) -> WPMedia:
        self.site._call("upload_media")
        self._auth()
        media_id = next(self.site._ids)
        # WordPress keeps every file: a second upload of a name gets a suffix (wp_unique_filename)
        taken = sum(1 for m in self.site.media.values() if m["filename"] == filename)
        stem, dot, ext = filename.rpartition(".")
        url = f"{URL}/wp-content/uploads/{f'{stem}-{taken}{dot}{ext}' if taken else filename}"
        # the description (with the key's marker) is written with the attachment, as WordPress does
        self.site.media[media_id] = {"data": data, "filename": filename, "mime": mime, "alt": alt_text, "url": url,
                                     "caption": caption or "",
                                     "description": wpfields.media_marker(media_key) if media_key else ""}
        return self.site._done("upload_media", self._media(media_id))

    def _media(self, media_id: int) -> WPMedia:
        raw = self.site.media[media_id]
        return WPMedia(media_id, raw["url"], raw["url"], raw["mime"], raw["alt"] or "",
                       wpfields.marker_media_key(raw["description"]))

    def update_media(self, media_id: int, *, alt_text: str | None = None, caption: str | None = None,
                     description: str | None = None) -> WPMedia:
        self.site._call("update_media")
        self._auth()
        raw = self.site.media.get(int(media_id))
        if raw is None:
            raise WPObjectNotFound("no such attachment", status=404, url=self.site_url)
        for key, value in (("alt", alt_text), ("caption", caption), ("description", description)):
            if value is not None:
                raw[key] = value
        return self.site._done("update_media", self._media(int(media_id)))

    def find_media_by_key(self, media_key: str) -> WPMedia | None:
        """What the real client finds: the oldest attachment whose description carries the key's marker."""
        self.site._call("find_media_by_key")
        self._auth()
        found = [i for i, m in self.site.media.items() if wpfields.marker_media_key(m["description"]) == media_key]
        return self._media(min(found)) if found else None

    def find_post_by_content_id(self, content_id: str, *, post_type: str = "post",
                                include_trash: bool = False) -> WPPost | None:
        self.site._call("find_post_by_content_id")
        self._auth()
        found = [p for p in self.site.posts.values()
                 if p["content_id"] == content_id and (include_trash or p["status"] != "trash")]
        return _post(min(found, key=lambda p: p["id"])) if found else None

    def _write(self, raw: dict[str, Any], fields: dict[str, Any]) -> None:
        for key in ("title", "excerpt", "status", "featured_media"):
            if fields.get(key) is not None:
                raw[key] = fields[key]
        if fields.get("content") is not None:
            raw["content"] = wpfields.with_marker(fields["content"], raw["content_id"])
        for key in ("categories", "tags"):
            if fields.get(key) is not None:
                raw[key] = list(fields[key])
        if fields.get("date_gmt") is not None:
            raw["date_gmt"] = fields["date_gmt"].astimezone(UTC).replace(microsecond=0)
        for key, meta in (("seo_title", "_yoast_wpseo_title"), ("seo_description", "_yoast_wpseo_metadesc")):
            if fields.get(key) is not None and self.site.companion:
                raw["meta"][meta] = fields[key]
        raw["modified_gmt"] = datetime.now(UTC).replace(microsecond=0)

    def create_post(self, *, content_id: str, **fields: Any) -> WPPost:
        self.site._call("create_post")
        self._auth()
        post_id = next(self.site._ids)
        raw = {"id": post_id, "content_id": content_id, "status": "draft", "title": "", "content": "",
               "categories": [], "tags": [], "featured_media": 0, "meta": {}, "date_gmt": None}
        self._write(raw, fields)
        self.site.posts[post_id] = raw
        return self.site._done("create_post", _post(raw))

    def update_post(self, post_id: int, *, content_id: str, **fields: Any) -> WPPost:
        self.site._call("update_post")
        self._auth()
        raw = self.site.posts.get(int(post_id))
        if raw is None:
            raise WPObjectNotFound("no such post", status=404, url=self.site_url)
        self._write(raw, fields)
        return self.site._done("update_post", _post(raw))

    def get_post(self, post_id: int, *, post_type: str = "post") -> WPPost | None:
        raw = self.site.posts.get(int(post_id))
        return _post(raw) if raw else None

    def trash_post(self, post_id: int, *, post_type: str = "post") -> WPPost | None:
        raw = self.site.posts.get(int(post_id))
        if raw is None:
            return None
        raw["status"] = "trash"
        return replace(_post(raw))
