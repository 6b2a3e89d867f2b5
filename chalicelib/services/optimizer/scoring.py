"""The score of a stored article: what ``score.score`` reads from a Content, and writing the result back.

The score (and its band) are on the Content summary, so lists filter and sort by them; the
breakdown is on the body, read with it by ``GET .../content/{id}``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from chalicelib.models.conditions import conditional
from chalicelib.models.site_records import join_key
from chalicelib.models.transactions import Transaction
from chalicelib.models.writer import Content, ContentBody, ContentImage
from chalicelib.services.optimizer.score import ScoreInput, score

# What a change to the content must touch for its score to be computed again.
INPUTS = frozenset({"title", "body_html", "meta_title", "meta_description", "keywords", "content_type", "language"})


def input_of(content: Content, body_html: str, image_alts: list[str] | None = None) -> ScoreInput:
    host = urlparse(content.external_url or "").netloc.lower().removeprefix("www.") or None
    return ScoreInput(title=content.title, body_html=body_html, meta_title=content.meta_title or "",
                      meta_description=content.meta_description or "", keywords=list(content.keywords or []),
                      content_type=getattr(content, "content_type", None),
                      language=getattr(content, "language", None) or "en", site_host=host,
                      image_alts=list(image_alts or []))


def image_alts(content: Content) -> list[str]:
    return [i.alt_text or "" for i in ContentImage.by_content.query(join_key(content.site_key, content.content_id))]


def score_of(content: Content, body_html: str, *, with_images: bool = True) -> dict[str, Any]:
    return score(input_of(content, body_html, image_alts(content) if with_images else []))


def summary_fields(result: dict[str, Any], site_key_value: str) -> dict[str, Any]:
    """The Content attributes a score sets, its index keys included (a new Content takes them as they are)."""
    return {"score": result["score"], "score_band": result["band"],
            "score_band_key": join_key(site_key_value, result["band"]), "scored_key": join_key(site_key_value)}


def store(content: Content, body_html: str, result: dict[str, Any]) -> None:
    """Write the score on the summary (and its index keys) and the breakdown on the body, together.

    Conditional on the body still being the one scored: a concurrent edit's own score wins.
    """
    tx = Transaction("score content")
    fields = summary_fields(result, content.site_key)
    for name, value in fields.items():
        setattr(content, name, value)
    actions = [getattr(Content, name).set(value) for name, value in fields.items()]
    tx.update(content, actions, condition=Content.content_id.exists(), label="content")
    tx.update(ContentBody(content.site_key, content.content_id), [ContentBody.score_breakdown.set(result)],
              condition=ContentBody.body_html == body_html, label="body")
    with conditional():
        tx.commit()


def rescore(content: Content, body_html: str) -> dict[str, Any]:
    result = score_of(content, body_html)
    store(content, body_html, result)
    return result
