"""How related two articles are: embeddings, the cluster graph and keywords.

Vectors are the lexical embedder's (hashed words and trigrams, ``ai.providers.offline_provider``):
computed locally on every save, free, the same whatever AI provider an account uses. The
candidates' vectors are centred and rescaled together with the source's
(``clustering.prepare``): what all of them share (the sector's vocabulary) stops counting, and the
words that tell them apart count more, like TF-IDF's IDF, from the candidates alone.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from chalicelib.ai.providers.offline_provider import embed_text
from chalicelib.services import clustering
from chalicelib.services.optimizer.document import words

SAME_CLUSTER = 0.1  # same keyword cluster: written for the same group of searches
KEYWORD_OVERLAP = 0.1  # times the Jaccard overlap of the two keyword sets
MIN_RELEVANCE = 0.3  # below it a link is more likely noise than help
# Past the first FEW_LINKS links of an article, a link must be clearly relevant: a reader follows the
# first few; more of them only add noise unless they are strong (infra/bench/linking.py measures both).
FEW_LINKS = 3
MIN_EXTRA_RELEVANCE = 0.6
TERMS = 12  # salient words kept per article for anchors

STOPWORDS = frozenset("""a about after again all also am an and any are as at be because been before being
between both but by can could did do does doing down during each few for from further had has have having he
her here hers him his how i if in into is it its itself just me more most my no nor not now of off on once only
or other our out over own same she should so some such than that the their theirs them then there these they
this those through to too under until up very was we were what when where which while who whom why will with
would you your yours yourself can't don't i'm i've it's my""".split())


@dataclass
class Profile:
    """What the linker knows of an article (or a WordPress post) it may link from or to."""

    target_id: str
    title: str
    vector: list[float]
    keywords: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    cluster_id: str | None = None
    url: str | None = None


@dataclass
class Scored:
    target: Profile
    relevance: float
    reason: str


def vector_of(title: str, keywords: list[str], text: str) -> list[float]:
    return [round(v, 5) for v in embed_text(" ".join([title, *keywords, text]))]


def salient_terms(title: str, keywords: list[str], text: str, count: int = TERMS) -> list[str]:
    """The article's own words an anchor should contain: its keywords' and title's words first, then the
    words it uses most (stopwords aside)."""
    ranked = Counter(w for w in words(text) if w not in STOPWORDS and len(w) > 2)
    first = [w for w in words(" ".join([*keywords, title])) if w not in STOPWORDS and len(w) > 2]
    return list(dict.fromkeys([*first, *(w for w, _ in ranked.most_common(count * 2))]))[:count]


def _jaccard(a: list[str], b: list[str]) -> float:
    x, y = {k.lower() for k in a}, {k.lower() for k in b}
    return len(x & y) / len(x | y) if x and y else 0.0


def rank(source: Profile, candidates: list[Profile], *, min_relevance: float = MIN_RELEVANCE) -> list[Scored]:
    """Candidates by relevance to the source, best first; those under ``min_relevance`` left out."""
    others = [c for c in candidates if c.target_id != source.target_id]
    if not others:
        return []
    prepared = clustering.prepare([source.vector, *(c.vector for c in others)])
    base = prepared[0]
    out = []
    for candidate, vector in zip(others, prepared[1:], strict=True):
        if base is None or vector is None:
            continue
        similarity = clustering.dot(base, vector)
        same = bool(source.cluster_id) and source.cluster_id == candidate.cluster_id
        overlap = _jaccard(source.keywords, candidate.keywords)
        relevance = similarity + SAME_CLUSTER * same + KEYWORD_OVERLAP * overlap
        if relevance < min_relevance or math.isnan(relevance):
            continue
        reasons = [f"similar text ({similarity:.2f})"]
        if same:
            reasons.append("same keyword cluster")
        if overlap:
            reasons.append(f"shared keywords ({overlap:.0%})")
        out.append(Scored(candidate, round(relevance, 4), ", ".join(reasons)))
    out.sort(key=lambda s: (-s.relevance, s.target.target_id))
    return out
