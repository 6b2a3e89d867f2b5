"""Anchors come from the article's own prose (never a heading, never inside a link, one per target, spread);
links are inserted once, re-pointed and unwrapped by their target's id."""

from __future__ import annotations

from chalicelib.services.linker import anchors, links, rank
from chalicelib.services.optimizer.document import read


def target(tid: str, title: str, keywords: list[str], text: str = "") -> rank.Scored:
    return rank.Scored(rank.Profile(tid, title, [1.0], keywords=keywords,
                                    terms=rank.salient_terms(title, keywords, text)), 0.9, "similar text")


BODY = ("<h2>Burr grinder basics</h2>"
        "<p>Read <a href=\"/x/\">our burr grinder guide</a> first.</p>"
        "<p>A burr grinder gives an even grind.</p>"
        "<p>Milk frothing needs cold milk.</p>")


def test_the_anchor_is_the_targets_keyword_in_the_prose_not_in_a_heading_or_a_link() -> None:
    placed = anchors.place(read(BODY), [target("t1", "Grinders", ["burr grinder"])])
    assert [(p.anchor, p.block) for p in placed] == [("burr grinder", 1)]  # block 0 holds it inside a link


def test_one_link_per_paragraph_and_per_target_and_a_bound_per_article() -> None:
    ranked = [target("t1", "Grinders", ["burr grinder"]), target("t2", "Grinding", ["even grind"]),
              target("t3", "Milk", ["milk frothing"])]
    placed = anchors.place(read(BODY), ranked)
    assert len({p.block for p in placed}) == len(placed) == 2  # t2's only anchor shares t1's paragraph
    assert [p.target_id for p in placed] == ["t1", "t3"]
    assert len(anchors.place(read(BODY), ranked, max_links=1)) == 1
    rest = anchors.place(read(BODY), ranked, taken_targets=frozenset({"t1", "t3"}))  # linked already
    assert [(p.target_id, p.anchor) for p in rest] == [("t2", "even grind")]


def test_without_the_keyword_the_anchor_is_the_stretch_with_most_of_the_targets_words() -> None:
    placed = anchors.place(read("<p>Cold milk froths into a fine foam when the steam wand is clean.</p>"),
                           [target("t", "Steam wand care", [], "Purge the steam wand. Clean the steam wand.")])
    assert placed and "steam wand" in placed[0].anchor.lower() and len(placed[0].anchor.split()) <= 6


def test_a_link_is_inserted_once_then_repointed_then_unwrapped_keeping_its_text() -> None:
    body = "<p>A burr grinder gives an even grind.</p>"
    once = links.insert(body, anchor="burr grinder", block=0, target_id="t1", href="/grinders/")
    assert once == ('<p>A <a href="/grinders/" class="internal-link" id="link-t1">burr grinder</a> gives an even '
                    'grind.</p>')
    assert links.insert(once, anchor="burr grinder", block=0, target_id="t1", href="/grinders/") == once
    moved = links.repoint(once, "t1", "https://shop.example/grinders/")
    assert 'href="https://shop.example/grinders/"' in moved and moved.count("<a ") == 1
    assert links.unwrap(moved, "t1") == body


def test_an_anchor_no_longer_in_the_prose_is_not_inserted() -> None:
    assert links.insert("<h2>burr grinder</h2><p>Other text.</p>", anchor="burr grinder", block=0, target_id="t",
                        href="/x/") is None
