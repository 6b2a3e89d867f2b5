"""Keeping links true when their target changes: published (re-point to the permalink), unpublished or
deleted (unwrap: the anchor text stays, the link goes). Reads the links into one article by the
``by_target`` index: never the whole site.
"""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.models.conditions import conditional
from chalicelib.models.linker import LinkProfile, LinkSuggestion
from chalicelib.models.site_records import join_key
from chalicelib.models.transactions import ConditionsFailed, Transaction
from chalicelib.models.writer import Content, ContentBody
from chalicelib.services.linker import links
from chalicelib.services.optimizer import scoring

ATTEMPTS = 3


def inbound(site_key_value: str, target_id: str) -> list[LinkSuggestion]:
    return list(LinkSuggestion.by_target.query(join_key(site_key_value, target_id)))


def _rewrite_source(suggestion: LinkSuggestion, edit: Callable[[str], str], actions: list,
                    condition) -> Content | None:
    """Edit the source's body and the suggestion together (conditional on both as read); the source when it
    changed, None when there was nothing to do."""
    for _ in range(ATTEMPTS):
        try:
            content = Content.get(suggestion.site_key, suggestion.source_id)
            body = ContentBody.get(suggestion.site_key, suggestion.source_id, consistent_read=True).body_html
        except (Content.DoesNotExist, ContentBody.DoesNotExist):
            with conditional():
                suggestion.delete()
            return None
        new = edit(body)
        tx = Transaction("rewrite link")
        tx.update(suggestion, actions, condition=condition, label="suggestion")
        if new != body:
            tx.update(ContentBody(suggestion.site_key, suggestion.source_id), [ContentBody.body_html.set(new)],
                      condition=ContentBody.body_html == body, label="body")
        try:
            tx.commit()
        except ConditionsFailed as exc:
            if "suggestion" in exc.labels:
                return None  # someone else did it
            continue
        if new != body:
            scoring.rescore(content, new)
            return content
        return None
    return None


def target_published(target: Content) -> list[Content]:
    """Point every accepted link into ``target`` at its permalink; the sources whose body changed."""
    changed = []
    for s in inbound(target.site_key, target.content_id):
        if s.status != "accepted" or not target.external_url or s.href == target.external_url:
            continue
        href = target.external_url
        source = _rewrite_source(s, lambda body, s=s, href=href: links.repoint(body, s.target_id, href),
                                 [LinkSuggestion.href.set(href), LinkSuggestion.history.set([*(s.history or []),
                                                                                              s.href])],
                                 LinkSuggestion.href == s.href if s.href else LinkSuggestion.href.does_not_exist())
        if source is not None:
            changed.append(source)
    with conditional():
        LinkProfile(target.site_key, target.content_id).update(
            actions=[LinkProfile.url.set(target.external_url), LinkProfile.status.set(target.status)],
            condition=LinkProfile.content_id.exists())
    return changed


def target_gone(site_key_value: str, target_id: str, reason: str, *, forget: bool) -> list[Content]:
    """Unwrap every link into the target (deleted, or unpublished); with ``forget``, drop it from the index."""
    changed = []
    for s in inbound(site_key_value, target_id):
        if s.status == "accepted":
            s.status = "removed"
            source = _rewrite_source(s, lambda body, s=s: links.unwrap(body, s.target_id),
                                     [LinkSuggestion.status.set("removed"), LinkSuggestion.removed_reason.set(reason),
                                      *s.key_actions()], LinkSuggestion.status == "accepted")
            if source is not None:
                changed.append(source)
        elif s.status == "suggested":
            with conditional():
                s.delete(condition=LinkSuggestion.status == "suggested")
    if forget:
        with conditional():
            LinkProfile(site_key_value, target_id).delete()
        for own in LinkSuggestion.query(site_key_value, LinkSuggestion.suggestion_id.startswith(f"{target_id}#")):
            own.delete()
    return changed
