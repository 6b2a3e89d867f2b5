"""Internal link suggestions: made for an article, accepted (the link goes into its body) or dismissed.

Accepting is idempotent: the suggestion moves suggested -> accepted in the same transaction that
writes the body, conditional on the body being the one the link was inserted into; a retry finds it
accepted and changes nothing. The site's ``auto_accept`` accepts the best ones as they are suggested.
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import Conflict, NotFound, UnprocessableEntity
from chalicelib.models.accounts import site_key
from chalicelib.models.conditions import conditional
from chalicelib.models.linker import LinkerSettings, LinkProfile, LinkSuggestion
from chalicelib.models.transactions import ConditionsFailed, Transaction
from chalicelib.models.writer import Content, ContentBody
from chalicelib.services import writer
from chalicelib.services.linker import anchors, index, links, rank
from chalicelib.services.optimizer import scoring
from chalicelib.services.optimizer.document import read
from chalicelib.services.publishing.republish import republish
from chalicelib.timeutil import utcnow

MAX_LINKS_LIMIT = 10


# --- settings ------------------------------------------------------------------------------

def get_settings(account_id: str, site_id: str) -> LinkerSettings:
    try:
        return LinkerSettings.get(account_id, site_id)
    except LinkerSettings.DoesNotExist:
        return LinkerSettings(account_id, site_id)


def update_settings(account_id: str, site_id: str, changes: dict[str, Any]) -> LinkerSettings:
    settings = get_settings(account_id, site_id)
    for name, value in changes.items():
        if value is not None:
            setattr(settings, name, value)
    if settings.auto_accept > settings.max_links:
        raise UnprocessableEntity("auto_accept cannot be more than max_links.", code="invalid_settings", details=[
            {"field": "auto_accept", "message": f"at most max_links ({settings.max_links})"}])
    settings.save()
    return settings


# --- suggestions -----------------------------------------------------------------------------

def suggestion_id(source_id: str, target_id: str) -> str:
    return f"{source_id}#{target_id}"


def suggestions_of(skey: str, source_id: str) -> list[LinkSuggestion]:
    return list(LinkSuggestion.query(skey, LinkSuggestion.suggestion_id.startswith(f"{source_id}#")))


def _source_profile(content: Content) -> LinkProfile:
    profile = index.get_profile(content.site_key, content.content_id)
    if profile is None:  # an article saved before the index existed: index it now
        profile = index.refresh(content, content.body_html, new=True)
    return profile


def suggest(account_id: str, site_id: str, content_id: str, *, auto_accept: int | None = None) -> list[LinkSuggestion]:
    """Suggest links from the article to its best targets; return its suggestions (accepted ones included).

    Reads a bounded number of items (``index.candidates``). Suggesting again replaces the open
    suggestions; accepted and dismissed ones stay as they are.
    """
    content = writer.get_content(account_id, site_id, content_id, with_body=True)
    settings = get_settings(account_id, site_id)
    source = _source_profile(content)
    pool = index.candidates(source)
    ranked = rank.rank(index.as_rank_profile(source), [index.as_rank_profile(p) for p in pool])
    existing = {s.target_id: s for s in suggestions_of(content.site_key, content_id)}
    closed = frozenset(t for t, s in existing.items() if s.status in ("accepted", "dismissed"))
    accepted = sum(1 for s in existing.values() if s.status == "accepted")
    room = max(0, int(settings.max_links) - accepted)
    doc = read(content.body_html)
    placed = anchors.place(doc, ranked, max_links=room, taken_targets=closed) if room else []
    titles = {p.content_id: p.title for p in pool}
    fresh = {p.target_id for p in placed}
    with LinkSuggestion.batch_write() as batch:
        for stale in (s for t, s in existing.items() if s.status == "suggested" and t not in fresh):
            batch.delete(stale)
        for p in placed:
            item = LinkSuggestion(content.site_key, suggestion_id(content_id, p.target_id), account_id=account_id,
                                  site_id=site_id, sector_id=content.sector_id, source_id=content_id,
                                  target_id=p.target_id, target_title=titles.get(p.target_id, ""), anchor=p.anchor,
                                  block=p.block, relevance=p.relevance, reason=p.reason, status="suggested")
            item.sync_index_keys()
            batch.save(item)
    count = settings.auto_accept if auto_accept is None else auto_accept
    for p in placed[:int(count)]:
        try:
            accept(account_id, site_id, suggestion_id(content_id, p.target_id), by="auto")
        except Conflict:  # the anchor went away, the target was deleted: it stays a suggestion
            continue
    return sorted(suggestions_of(content.site_key, content_id), key=lambda s: -float(s.relevance))


def get_suggestion(account_id: str, site_id: str, sid: str) -> LinkSuggestion:
    try:
        return LinkSuggestion.get(site_key(account_id, site_id), sid, consistent_read=True)
    except LinkSuggestion.DoesNotExist:
        raise NotFound("Link suggestion") from None


def _target_href(skey: str, target_id: str) -> str:
    target = index.get_profile(skey, target_id)
    if target is None:
        raise Conflict("The link's target no longer exists.", code="link_target_gone")
    return target.url or links.draft_href(target.title)


def accept(account_id: str, site_id: str, sid: str, *, by: str) -> LinkSuggestion:
    """Insert the suggested link into the source's body (once, however often this is retried)."""
    for _ in range(3):
        suggestion = get_suggestion(account_id, site_id, sid)
        if suggestion.status == "accepted":
            return suggestion
        if suggestion.status != "suggested":
            raise Conflict(f"This suggestion is {suggestion.status}.", code="suggestion_closed",
                           details={"status": suggestion.status})
        content = writer.get_content(account_id, site_id, suggestion.source_id, with_body=True)
        href = _target_href(content.site_key, suggestion.target_id)
        body = links.insert(content.body_html, anchor=suggestion.anchor, block=int(suggestion.block),
                            target_id=suggestion.target_id, href=href)
        if body is None:
            raise Conflict("The anchor text is no longer in the article; suggest links again.",
                           code="anchor_missing", details={"anchor": suggestion.anchor})
        suggestion.status = "accepted"
        tx = Transaction("accept link")
        tx.update(suggestion, [LinkSuggestion.status.set("accepted"), LinkSuggestion.href.set(href),
                               LinkSuggestion.accepted_by.set(by), LinkSuggestion.accepted_at.set(utcnow()),
                               *suggestion.key_actions()],
                  condition=LinkSuggestion.status == "suggested", label="suggestion")
        tx.update(ContentBody(content.site_key, content.content_id), [ContentBody.body_html.set(body)],
                  condition=ContentBody.body_html == content.body_html, label="body")
        try:
            tx.commit()
        except ConditionsFailed:
            continue  # accepted meanwhile, or the body changed: read again
        scoring.rescore(content, body)
        republish([content])  # already on WordPress: updated there through the publish path
        return get_suggestion(account_id, site_id, sid)
    raise Conflict("The article changed while the link was inserted; try again.", code="concurrent_change")


def dismiss(account_id: str, site_id: str, sid: str) -> LinkSuggestion:
    suggestion = get_suggestion(account_id, site_id, sid)
    if suggestion.status == "dismissed":
        return suggestion
    if suggestion.status != "suggested":
        raise Conflict(f"This suggestion is {suggestion.status}.", code="suggestion_closed",
                       details={"status": suggestion.status})
    suggestion.status = "dismissed"
    with conditional(otherwise=Conflict("The suggestion changed meanwhile.", code="concurrent_change")):
        suggestion.update(actions=[LinkSuggestion.status.set("dismissed"), *suggestion.key_actions()],
                          condition=LinkSuggestion.status == "suggested")
    return suggestion


def list_suggestions(account_id: str, site_id: str, content_id: str) -> list[LinkSuggestion]:
    writer.get_content(account_id, site_id, content_id)  # 404 for another site's article
    return sorted(suggestions_of(site_key(account_id, site_id), content_id), key=lambda s: -float(s.relevance))


# --- the site's link report --------------------------------------------------------------------

def report(account_id: str, site_id: str) -> dict[str, Any]:
    """Inbound and outbound accepted links per article, orphans (no inbound link), broken links (to an
    article that is gone, or to an old address of one that is published)."""
    skey = site_key(account_id, site_id)
    articles = {c.content_id: c for c in Content.by_site.query(skey)}
    accepted = list(LinkSuggestion.by_status.query(f"{skey}#accepted"))
    inbound: dict[str, int] = {cid: 0 for cid in articles}
    outbound: dict[str, int] = {cid: 0 for cid in articles}
    broken = []
    for link in accepted:
        target = articles.get(link.target_id)
        if link.source_id in outbound:
            outbound[link.source_id] += 1
        if target is None:
            broken.append({"source_id": link.source_id, "target_id": link.target_id, "href": link.href,
                           "reason": "target_missing"})
            continue
        inbound[link.target_id] += 1
        if target.external_url and link.href != target.external_url:
            broken.append({"source_id": link.source_id, "target_id": link.target_id, "href": link.href,
                           "reason": "stale_address", "expected": target.external_url})
    rows = [{"content_id": cid, "title": c.title, "site_status": c.site_status, "inbound": inbound[cid],
             "outbound": outbound[cid]} for cid, c in articles.items()]
    return {"articles": rows, "orphans": [r["content_id"] for r in rows if r["inbound"] == 0],
            "broken": broken, "totals": {"articles": len(rows), "links": len(accepted), "orphans":
                                         sum(1 for r in rows if r["inbound"] == 0), "broken": len(broken)}}
