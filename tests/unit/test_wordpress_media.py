"""WordPressClient's media library calls against a loopback WordPress: an upload's key, and finding it again.

The fake library answers as WordPress 6.1's ``/wp/v2/media`` does for what the client relies
on: the query parameters of a raw-body upload become the attachment's fields, the description
comes back raw in the edit context, and ``search`` is a case-insensitive substring match on
title, caption, description and file name (WP_Query's LIKE search). The real thing is in
tests/e2e/wordpress/test_media_e2e.py.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.integrations.wordpress.errors import WPUnavailable
from chalicelib.integrations.wordpress.fields import marker_media_key, media_key, media_marker
from tests.unit.test_wordpress_client_errors import FakeWordPress, Reply

IMAGE_ID = "0190b5e3-7a2c-7abc-8def-0123456789ab"
PNG = b"\x89PNG\r\n\x1a\n one image"


class MediaLibrary:
    """Attachments behind ``/wp/v2/media`` on a loopback FakeWordPress."""

    def __init__(self, wp: FakeWordPress) -> None:
        self.wp = wp
        self.items: dict[int, dict[str, Any]] = {}
        self.ignore_query = False  # a site (a security plugin) that drops the upload's query parameters
        self.after_create: Any = None  # runs after the attachment exists, before the answer
        self._ids = itertools.count(40)
        wp.routes[("POST", "/wp/v2/media")] = self._create
        wp.routes[("GET", "/wp/v2/media")] = self._search

    def add(self, *, title: str = "", caption: str = "", description: str = "", filename: str = "x.png") -> int:
        media_id = next(self._ids)
        self.items[media_id] = {"title": title, "caption": caption, "description": description, "alt_text": "",
                                "filename": filename}
        self.wp.routes[("POST", f"/wp/v2/media/{media_id}")] = lambda request, i=media_id: self._update(i, request)
        return media_id

    def _json(self, media_id: int) -> dict[str, Any]:
        item = self.items[media_id]
        url = f"{self.wp.url}/wp-content/uploads/{item['filename']}"
        return {"id": media_id, "source_url": url, "link": f"{self.wp.url}/?attachment_id={media_id}",
                "mime_type": "image/png", "alt_text": item["alt_text"], "title": {"raw": item["title"]},
                "caption": {"raw": item["caption"]}, "description": {"raw": item["description"], "rendered": ""}}

    def _create(self, request: dict[str, Any]) -> Reply:
        filename = re.search(r'filename="([^"]+)"', request["headers"]["Content-Disposition"]).group(1)
        query = {} if self.ignore_query else request["query"]
        media_id = self.add(title=filename.rsplit(".", 1)[0], caption=query.get("caption", ""),
                            description=query.get("description", ""), filename=filename)
        self.items[media_id]["alt_text"] = query.get("alt_text", "")
        if self.after_create is not None:
            return self.after_create(media_id)
        return 201, self._json(media_id), {}

    def _update(self, media_id: int, request: dict[str, Any]) -> Reply:
        self.items[media_id].update(json.loads(request["body"]))
        return 200, self._json(media_id), {}

    def _search(self, request: dict[str, Any]) -> Reply:
        term = request["query"].get("search", "").lower()
        hits = [i for i, item in self.items.items()
                if any(term in item[f].lower() for f in ("title", "caption", "description", "filename"))]
        return 200, [self._json(i) for i in sorted(hits, reverse=True)], {}


@pytest.fixture
def library(monkeypatch: pytest.MonkeyPatch) -> Iterator[MediaLibrary]:
    monkeypatch.setenv("ALLOW_LOOPBACK_TARGETS", "1")
    fake = FakeWordPress()
    yield MediaLibrary(fake)
    fake.close()


def test_the_key_is_the_owner_and_a_digest_of_the_bytes() -> None:
    key = media_key(IMAGE_ID, PNG)
    assert key.startswith(IMAGE_ID + "-") and key == media_key(IMAGE_ID, PNG)
    assert media_key(IMAGE_ID, PNG + b"re-rendered") != key  # new bytes: another upload
    assert media_key("0190b5e3-0000-7abc-8def-0123456789ab", PNG) != key
    assert marker_media_key(f"<p>caption</p>\n{media_marker(key)}") == key
    assert marker_media_key("mentions the key " + key) is None
    # kses folds "--" inside an HTML comment (users without unfiltered_html): such a key could not come back
    for bad in ("a--b", "-a", "a-", "a b", "a<b", "", "x" * 101):
        with pytest.raises(ValueError):
            media_marker(bad)


def test_an_upload_carries_its_key_in_the_description(library: MediaLibrary) -> None:
    key = media_key(IMAGE_ID, PNG)
    media = library.wp.client().upload_media(PNG, "c-1-0.png", "image/png", alt_text="A grinder", caption="Cap",
                                             media_key=key)
    upload = next(r for r in library.wp.requests if r["method"] == "POST" and r["route"] == "/wp/v2/media")
    assert upload["query"] == {"alt_text": "A grinder", "caption": "Cap", "description": media_marker(key)}
    assert upload["body"] == PNG
    assert media.media_key == key and media.alt_text == "A grinder"
    assert library.items[media.id]["description"] == media_marker(key)
    assert [r["route"] for r in library.wp.requests if r["method"] == "POST"] == ["/wp/v2/media"]  # no second request


def test_a_site_that_drops_the_query_gets_alt_caption_and_key_in_a_second_request(library: MediaLibrary) -> None:
    library.ignore_query = True
    key = media_key(IMAGE_ID, PNG)
    media = library.wp.client().upload_media(PNG, "c-1-0.png", "image/png", alt_text="A grinder", caption="Cap",
                                             media_key=key)
    fix = library.wp.requests[-1]
    assert fix["route"] == f"/wp/v2/media/{media.id}" and fix["query"] == {"context": "edit"}
    assert json.loads(fix["body"]) == {"alt_text": "A grinder", "caption": "Cap", "description": media_marker(key)}
    assert media.media_key == key and library.wp.client().find_media_by_key(key).id == media.id


def _created_then_timed_out(media_id: int) -> Reply:
    time.sleep(1.0)
    return 201, {"id": media_id}, {}


def _created_then_500(media_id: int) -> Reply:
    # what WordPress answers when PHP dies making the image's sub-sizes, after the attachment exists
    return 500, {"code": "internal_server_error", "message": "There has been a critical error."}, {}


@pytest.mark.parametrize("lose_the_answer", [_created_then_timed_out, _created_then_500], ids=["timeout", "500"])
def test_an_upload_whose_answer_was_lost_is_found_by_its_key(library: MediaLibrary, lose_the_answer: Any) -> None:
    key = media_key(IMAGE_ID, PNG)
    library.after_create = lose_the_answer
    client = library.wp.client(timeout=(1.0, 0.3), upload_timeout=(1.0, 0.3))
    with pytest.raises(WPUnavailable) as caught:
        client.upload_media(PNG, "c-1-0.png", "image/png", alt_text="A grinder", media_key=key)
    assert caught.value.outcome_unknown and caught.value.retryable
    assert len(library.items) == 1  # WordPress made it
    found = library.wp.client().find_media_by_key(key)
    assert found is not None and found.id == next(iter(library.items)) and found.alt_text == "A grinder"
    search = library.wp.requests[-1]
    assert search["route"] == "/wp/v2/media" and search["query"] == {"search": key, "context": "edit",
                                                                     "per_page": "20"}


def test_the_lookup_takes_only_the_exact_marker_and_the_oldest(library: MediaLibrary) -> None:
    key = media_key(IMAGE_ID, PNG)
    client = library.wp.client()
    library.add(caption=f"mentions {key} in a caption")  # a search hit, but no marker
    library.add(description=media_marker(f"{key}0"))  # a longer key: a search hit, another marker
    library.add(title=key, filename=f"{key}.png")  # the key as a title and a file name: no marker
    assert client.find_media_by_key(key) is None
    first = library.add(description=f"<p>Edited.</p>{media_marker(key)}")
    library.add(description=media_marker(key))  # a second one (an older version made it): the oldest wins
    assert client.find_media_by_key(key).id == first
    assert client.find_media_by_key("0190b5e3-ffff-7abc-8def-0123456789ab-0000") is None
