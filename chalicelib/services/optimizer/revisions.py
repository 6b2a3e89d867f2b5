"""Revisions: an article's body as it was before the optimizer (or a restore) changed it.

Applying an optimisation writes its revision (the article before, the score before and after, a diff)
together with the new body, in one transaction conditional on the body still being the one that was
scored: no lost edit, and a redelivered item finds its revision and writes nothing twice. A restore
puts a revision's article back, keeping the current one as a revision of its own (also restorable).
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from chalicelib.errors import Conflict, NotFound
from chalicelib.ids import new_id
from chalicelib.models.conditions import conditional
from chalicelib.models.optimizer import ContentRevision
from chalicelib.models.transactions import ConditionsFailed, Transaction
from chalicelib.models.writer import Content, ContentBody
from chalicelib.services import html as html_service
from chalicelib.services.optimizer import scoring

MAX_DIFF = 20_000


def revision_key(content_id: str, revision: str) -> str:
    return f"{content_id}#{revision}"


def _lines(body: str) -> list[str]:
    text = html_service.text_of(re.sub(r"</(p|h[1-6]|li|tr)>", "\n", body))
    return [line.strip() for line in re.split(r"\n|(?<=[.!?])\s+", text) if line.strip()]


def diff(before: dict[str, str], after: dict[str, str]) -> str:
    """A unified diff of the visible text and the meta fields, before -> after (cut at MAX_DIFF)."""
    def lines(a: dict[str, str]) -> list[str]:
        return [f"title: {a['title']}", f"meta_title: {a['meta_title']}",
                f"meta_description: {a['meta_description']}", *_lines(a["body_html"])]
    out = "\n".join(difflib.unified_diff(lines(before), lines(after), "before", "after", lineterm="", n=1))
    return out[:MAX_DIFF]


def snapshot(content: Content) -> dict[str, str]:
    return {"title": content.title, "meta_title": content.meta_title or "",
            "meta_description": content.meta_description or "", "body_html": content.body_html}


def replace_article(content: Content, after: dict[str, str], *, revision_id: str, reason: str,
                    score_before: int | None, score_after: int | None, job_id: str | None = None) -> bool:
    """Write ``after`` over the article, keeping what it was as the revision ``revision_id``.

    False when that revision exists already (a retry: nothing written). Raises Conflict when the
    article changed since it was read (its body is not the one ``content`` holds).
    """
    before = snapshot(content)
    body = html_service.sanitize(after["body_html"])
    revision = ContentRevision(content.site_key, revision_key(content.content_id, revision_id),
                               account_id=content.account_id, site_id=content.site_id, sector_id=content.sector_id,
                               content_id=content.content_id, reason=reason, job_id=job_id,
                               score_before=score_before, score_after=score_after,
                               diff=diff(before, {**after, "body_html": body}), **before)
    revision.sync_index_keys()
    tx = Transaction(f"{reason} content")
    tx.put(revision, condition=ContentRevision.revision_id.does_not_exist(), label="revision")
    tx.update(ContentBody(content.site_key, content.content_id), [ContentBody.body_html.set(body)],
              condition=ContentBody.body_html == content.body_html, label="body")
    tx.update(content, [Content.title.set(after["title"]), Content.meta_title.set(after["meta_title"]),
                        Content.meta_description.set(after["meta_description"]),
                        Content.word_count.set(html_service.word_count(body))],
              condition=Content.content_id.exists(), label="content")
    try:
        tx.commit()
    except ConditionsFailed as exc:
        if "revision" in exc.labels:
            return False
        raise Conflict("The article changed while it was being rewritten; run it again.", code="content_changed",
                       details={"failed": sorted(exc.labels)}) from None
    content.refresh()
    content.body_html = body
    return True


def list_revisions(content: Content) -> list[ContentRevision]:
    return list(ContentRevision.query(content.site_key, ContentRevision.revision_id.startswith(
        f"{content.content_id}#"), scan_index_forward=False))


def get_revision(content: Content, revision_id: str) -> ContentRevision:
    try:
        return ContentRevision.get(content.site_key, revision_key(content.content_id, revision_id))
    except ContentRevision.DoesNotExist:
        raise NotFound("Revision") from None


def restore(content: Content, revision_id: str, *, request_id: str | None = None) -> dict[str, Any]:
    """Put the revision's article back; the current one becomes a revision. The new score is returned."""
    revision = get_revision(content, revision_id)
    before = scoring.score_of(content, content.body_html)["score"]
    after_fields = {"title": revision.title, "meta_title": revision.meta_title,
                    "meta_description": revision.meta_description, "body_html": revision.body_html}
    candidate = Content(content.site_key, content.content_id, **{k: getattr(content, k) for k in (
        "account_id", "site_id", "sector_id", "keywords", "external_url")}, title=revision.title,
        meta_title=revision.meta_title, meta_description=revision.meta_description)
    after = scoring.score_of(candidate, revision.body_html)["score"]
    replace_article(content, after_fields, revision_id=request_id or new_id(), reason="restore",
                    score_before=before, score_after=after)
    with conditional():
        revision.update(actions=[ContentRevision.status.set("restored")])
    return {"restored": revision_id, "score": after}
