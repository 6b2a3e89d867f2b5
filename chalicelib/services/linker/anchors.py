"""Where a link goes: anchor text taken from the article's own prose.

Never in a heading, never inside an existing link, one link per target, at most ``max_links``
per article, and spread: one new link per paragraph, the paragraphs apart when there are enough.
The anchor is the target's keyword where the article says it, else the shortest stretch of a
sentence that carries the most of the target's salient words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib.services.linker.rank import FEW_LINKS, MIN_EXTRA_RELEVANCE, STOPWORDS, Scored
from chalicelib.services.optimizer.document import LINKED, Document
from chalicelib.services.optimizer.score import contains

MAX_LINKS = 5
MAX_ANCHOR_WORDS = 6
_TOKEN = re.compile(r"\w+(?:['’-]\w+)*")


@dataclass
class Placement:
    target_id: str
    anchor: str  # as written in the article
    block: int  # the prose block (paragraph, list item) it is in
    relevance: float
    reason: str


def _segments(free_block: str) -> list[str]:
    """The stretches of a block outside existing links, cut at sentence ends too."""
    out = []
    for part in free_block.split(LINKED.strip()):
        out += [s.strip() for s in re.split(r"(?<=[.!?;:,])\s+", part) if s.strip()]
    return out


def _keyword_anchor(segment: str, keywords: list[str]) -> str | None:
    for keyword in keywords:
        if len(keyword.split()) <= MAX_ANCHOR_WORDS and contains(segment, keyword):
            match = re.search(r"(?<!\w)" + r"\W+".join(map(re.escape, keyword.split())) + r"(?!\w)", segment,
                              flags=re.IGNORECASE)
            if match:
                return match.group(0)
    return None


def _term_anchor(segment: str, terms: set[str]) -> tuple[int, str] | None:
    """The best window of 2..MAX_ANCHOR_WORDS words: most target terms, then shortest; no stopword at its ends."""
    tokens = list(_TOKEN.finditer(segment))
    best: tuple[int, int, str] | None = None
    for i, first in enumerate(tokens):
        if first.group(0).lower() in STOPWORDS:
            continue
        for j in range(i + 1, min(len(tokens), i + MAX_ANCHOR_WORDS)):
            last = tokens[j]
            if last.group(0).lower() in STOPWORDS:
                continue
            window = tokens[i:j + 1]
            hits = len({t.group(0).lower() for t in window} & terms)
            if hits < 1 or (best is not None and (hits, -len(window)) <= (best[0], -best[1])):
                continue
            best = (hits, len(window), segment[first.start():last.end()])
    return (best[0], best[2]) if best else None


def place(doc: Document, ranked: list[Scored], *, max_links: int | None = None,
          taken_targets: frozenset[str] = frozenset()) -> list[Placement]:
    """Anchors for the best targets, in relevance order; a target without an anchor in the text is passed over."""
    max_links = max_links or MAX_LINKS
    used_blocks: set[int] = set()
    spread = len(doc.free_blocks) >= 3 * max_links  # room to keep a paragraph between two links
    out: list[Placement] = []
    for scored in ranked:
        if len(out) >= max_links:
            break
        target = scored.target
        if target.target_id in taken_targets or (len(out) >= FEW_LINKS and scored.relevance < MIN_EXTRA_RELEVANCE):
            continue
        keywords = [k for k in target.keywords if k.strip()]
        terms = set(target.terms)
        found: tuple[int, int, str] | None = None  # (quality, block, anchor)
        for n, block in enumerate(doc.free_blocks):
            if n in used_blocks or (spread and (n - 1 in used_blocks or n + 1 in used_blocks)):
                continue
            for segment in _segments(block):
                anchor = _keyword_anchor(segment, keywords)
                quality = 100 if anchor else 0
                if anchor is None:
                    hit = _term_anchor(segment, terms)
                    if hit is None:
                        continue
                    quality, anchor = hit
                if found is None or quality > found[0]:
                    found = (quality, n, anchor)
        if found is None:
            continue
        used_blocks.add(found[1])
        out.append(Placement(target.target_id, found[2], found[1], scored.relevance, scored.reason))
    return out
