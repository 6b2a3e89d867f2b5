"""How our values are written into WordPress's fields and read back.

A post we created carries its content id twice: in the registered post meta
(``CONTENT_ID_META``, when the site exposes it) and as a hidden HTML comment at the end of
its content (``content_marker``), so it is found again with or without the companion plugin.
An upload carries its key (``media_key``) as a comment in the attachment's description.
Dates go to WordPress as ``date_gmt``; text fields come back as a string or a raw/rendered pair.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

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
SEO_KEYWORD_KEYS = ("_yoast_wpseo_focuskw", "rank_math_focus_keyword")
JSON_LD_META = "seo_engine_json_ld"  # the companion prints it in the page's head


def content_marker(content_id: str) -> str:
    """The hidden HTML comment that identifies our post when the companion plugin is absent."""
    check_content_id(content_id)
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
    check_media_key(key)
    return key


def media_marker(key: str) -> str:
    """The hidden HTML comment, in the attachment's description, that carries an upload's key."""
    check_media_key(key)
    return f"<!-- {MEDIA_MARKER_PREFIX}{key} -->"


def marker_media_key(description: str | None) -> str | None:
    if not description:
        return None
    found = _MEDIA_MARKER_RE.search(description)
    return found.group(1) if found else None


def check_media_key(key: str) -> None:
    if not isinstance(key, str) or len(key) > 100 or not MEDIA_KEY_PATTERN.match(key):
        raise ValueError("a media key is 1-100 letters and digits, in groups joined by single '-' or '_'")


def check_content_id(content_id: str) -> None:
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


def field_text(value: Any) -> str:
    """A WordPress field that is either a string or {"raw": ..., "rendered": ...}."""
    if isinstance(value, Mapping):
        raw = value.get("raw")
        return str(raw) if raw is not None else html.unescape(str(value.get("rendered") or ""))
    return "" if value is None else str(value)


def raw_or_none(value: Any) -> str | None:
    if isinstance(value, Mapping):
        return None if value.get("raw") is None else str(value["raw"])
    return None if value is None else str(value)


def slugify(name: str) -> str:
    """An approximation of WordPress's sanitize_title (lookups fall back to the name)."""
    text = unicodedata.normalize("NFKD", html.unescape(name)).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9\s_-]", "", text)
    return re.sub(r"[\s_-]+", "-", text).strip("-")


def safe_filename(filename: str, mime: str) -> str:
    base = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = slugify(stem) or "image"
    ext = re.sub(r"[^a-z0-9]", "", ext.lower())
    if not ext:
        ext = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}.get(mime, "bin")
    return f"{stem[:80]}.{ext[:10]}"

