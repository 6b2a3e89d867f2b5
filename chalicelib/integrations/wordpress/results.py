"""What the client returns: plain frozen records read from WordPress's REST answers."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from chalicelib.integrations.wordpress.errors import WPUnavailable
from chalicelib.integrations.wordpress.fields import (
    CONTENT_ID_META,
    field_text,
    marker_content_id,
    marker_media_key,
    parse_gmt,
    raw_or_none,
)

PostStatus = Literal["publish", "future", "draft", "pending", "private"]


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
    thumbnail_url: str = ""  # WordPress's thumbnail size of an image, else the file's URL


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



# --- reading REST answers ---------------------------------------------------------------

def parse_user(item: Mapping[str, Any]) -> WPUser:
    caps = item.get("capabilities") if isinstance(item.get("capabilities"), Mapping) else {}
    return WPUser(id=int(item.get("id") or 0), name=html.unescape(str(item.get("name") or "")),
                  slug=str(item.get("slug") or ""), roles=tuple(item.get("roles") or ()),
                  capabilities=frozenset(k for k, v in caps.items() if v))


def parse_term(item: Mapping[str, Any], taxonomy: str) -> WPTerm:
    return WPTerm(id=int(item["id"]), name=html.unescape(str(item.get("name") or "")), slug=str(item.get("slug") or ""),
                  taxonomy=str(item.get("taxonomy") or taxonomy), parent=int(item.get("parent") or 0),
                  count=int(item.get("count") or 0))


def parse_media(item: Any) -> WPMedia:
    if not isinstance(item, Mapping) or "id" not in item:
        raise WPUnavailable("the media upload answered without a media id")
    sizes = (item.get("media_details") or {}).get("sizes") if isinstance(item.get("media_details"), Mapping) else None
    thumb = (sizes or {}).get("thumbnail") if isinstance(sizes, Mapping) else None
    url = str(item.get("source_url") or "")
    return WPMedia(id=int(item["id"]), url=url, link=str(item.get("link") or ""),
                   mime_type=str(item.get("mime_type") or ""), alt_text=str(item.get("alt_text") or ""),
                   media_key=marker_media_key(field_text(item.get("description"))),
                   thumbnail_url=str(thumb.get("source_url") or url) if isinstance(thumb, Mapping) else url)


def parse_companion(item: Any) -> CompanionInfo:
    item = item if isinstance(item, Mapping) else {}
    return CompanionInfo(version=str(item.get("version") or ""), configured=bool(item.get("configured")),
                         site_id=str(item.get("site_id") or ""), product_url=str(item.get("product_url") or ""),
                         seo_plugins=tuple(item.get("seo_plugins") or ()), seo_meta=tuple(item.get("seo_meta") or ()))


def parse_post(item: Any) -> WPPost:
    if not isinstance(item, Mapping) or "id" not in item:
        raise WPUnavailable("WordPress answered without a post")
    meta = item.get("meta") if isinstance(item.get("meta"), Mapping) else {}
    content = raw_or_none(item.get("content"))
    meta_id = meta.get(CONTENT_ID_META) if isinstance(meta.get(CONTENT_ID_META), str) else None
    return WPPost(
        id=int(item["id"]), type=str(item.get("type") or ""), status=str(item.get("status") or ""),
        link=str(item.get("link") or ""), title=field_text(item.get("title")), slug=str(item.get("slug") or ""),
        content=content, excerpt=raw_or_none(item.get("excerpt")),
        date_gmt=parse_gmt(item.get("date_gmt")), modified_gmt=parse_gmt(item.get("modified_gmt")),
        categories=tuple(int(c) for c in item.get("categories") or ()),
        tags=tuple(int(t) for t in item.get("tags") or ()), featured_media=int(item.get("featured_media") or 0),
        author=int(item.get("author") or 0), meta=dict(meta),
        content_id=meta_id or marker_content_id(content), raw=dict(item),
    )


def best_post(posts: Sequence[WPPost]) -> WPPost | None:
    if not posts:
        return None
    return sorted(posts, key=lambda p: (p.status == "trash", p.id))[0]
