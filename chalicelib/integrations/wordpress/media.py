"""The media library: uploads that can be found again by their key."""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib.integrations.wordpress.fields import check_media_key, media_marker, raw_or_none, safe_filename
from chalicelib.integrations.wordpress.results import WPMedia, parse_media
from chalicelib.integrations.wordpress.transport import Transport


class MediaCalls(Transport):
    """Upload, describe and find attachments."""

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
        name = safe_filename(filename, mime)
        description = media_marker(media_key) if media_key is not None else None
        params = {k: v for k, v in (("alt_text", alt_text), ("caption", caption), ("description", description)) if v}
        created = self._request(
            "POST", "/wp/v2/media", params=params, data=data, timeout=self._upload_timeout,
            headers={"Content-Type": mime, "Content-Disposition": f'attachment; filename="{name}"'},
        )
        media = parse_media(created)
        wanted_caption = caption or None
        got_caption = raw_or_none(created.get("caption")) if isinstance(created, Mapping) else None
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
        return parse_media(self._request("POST", f"/wp/v2/media/{int(media_id)}", params={"context": "edit"},
                                         json=body))

    def find_media_by_key(self, media_key: str) -> WPMedia | None:
        """The attachment an upload with this key made, or None (the oldest, if several).

        Core REST only (no plugin needed): a search of the media library for the key
        (WordPress matches it in title, caption, description and file name), each hit
        confirmed by the exact marker in its raw description (edit context).
        """
        check_media_key(media_key)
        items = self._request("GET", "/wp/v2/media", params={"search": media_key, "context": "edit",
                                                              "per_page": 20})
        hits = [parse_media(item) for item in items or () if isinstance(item, Mapping) and "id" in item]
        mine = [m for m in hits if m.media_key == media_key]
        return min(mine, key=lambda m: m.id) if mine else None

