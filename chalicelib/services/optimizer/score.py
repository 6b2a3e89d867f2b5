"""The content score: 0-100, deterministic, with the breakdown that explains it (docs/optimizer.md).

Each factor has a weight (points at stake), a value in [0, 1] and, when it is not at 1, advice.
A factor that does not apply (no FAQ expected, no readability formula for the language) is left
out and the others are scaled to 100, so an article is never marked down for what it cannot do.
Keyword stuffing is a penalty taken off the total. Pure Python: scored on every save, no I/O.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from chalicelib.integrations.wordpress.fields import slugify
from chalicelib.services import content_types
from chalicelib.services.optimizer import readability
from chalicelib.services.optimizer.document import Document, read, words

VERSION = 1
STUFFING_PENALTY = 15  # points taken off at the worst keyword density
STUFFING_FROM = 0.03  # density (keyword words / all words) where the penalty starts
STUFFING_FULL = 0.06  # and where it is whole
META_TITLE = (30, 60)
META_DESCRIPTION = (120, 160)
BANDS = ((80, "high"), (50, "medium"), (0, "low"))

# factor -> (weight, label). The weights sum to 100; docs/optimizer.md gives the reason for each.
WEIGHTS: dict[str, tuple[int, str]] = {
    "keyword_in_title": (8, "Primary keyword in the title"),
    "keyword_in_h1": (4, "Primary keyword in the H1"),
    "keyword_in_intro": (8, "Primary keyword in the first 100 words"),
    "keyword_in_slug": (4, "Primary keyword in the slug"),
    "keyword_in_meta": (6, "Primary keyword in the meta title or description"),
    "secondary_in_headings": (6, "Secondary keywords in headings"),
    "secondary_in_body": (8, "Secondary keywords in the body"),
    "length": (10, "Length for the content type"),
    "headings": (8, "Heading structure"),
    "readability": (8, "Readability"),
    "image_alt": (6, "Images with alt text"),
    "internal_links": (6, "Internal links"),
    "external_links": (4, "External links"),
    "meta_title_length": (4, "Meta title length"),
    "meta_description_length": (4, "Meta description length"),
    "faq": (6, "FAQ section"),
}


@dataclass
class ScoreInput:
    title: str
    body_html: str
    meta_title: str = ""
    meta_description: str = ""
    keywords: list[str] = field(default_factory=list)  # primary first, then secondary
    content_type: str | None = None
    language: str = "en"
    slug: str | None = None  # WordPress derives it from the title unless set
    site_host: str | None = None  # links to this host count as internal
    image_alts: list[str] = field(default_factory=list)  # alt text of the article's image records


@dataclass
class Factor:
    factor: str
    weight: int
    value: float
    advice: str = ""
    applicable: bool = True

    def as_dict(self) -> dict[str, Any]:
        label = WEIGHTS.get(self.factor, (0, "Keyword stuffing"))[1]
        return {"factor": self.factor, "label": label, "weight": self.weight, "value": round(self.value, 3),
                "points": round(self.weight * self.value, 1) if self.applicable else 0.0,
                "applicable": self.applicable,
                "advice": self.advice if self.value < 1 or self.weight < 0 or not self.applicable else ""}


def _fold(text: str) -> list[str]:
    return words(unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode() or text)


def contains(text: str | list[str], phrase: str) -> bool:
    """The phrase's words, in order and adjacent, in the text (case and accents ignored)."""
    hay = text if isinstance(text, list) else _fold(text)
    needle = _fold(phrase)
    if not needle:
        return False
    n = len(needle)
    return any(hay[i:i + n] == needle for i in range(len(hay) - n + 1))


def occurrences(hay: list[str], phrase: str) -> int:
    needle = _fold(phrase)
    n = len(needle)
    return sum(1 for i in range(len(hay) - n + 1) if n and hay[i:i + n] == needle)


def _ratio(have: float, want: float) -> float:
    return 1.0 if want <= 0 else max(0.0, min(1.0, have / want))


def _length_value(chars: int, low: int, high: int) -> float:
    if chars == 0:
        return 0.0
    if low <= chars <= high:
        return 1.0
    return _ratio(chars, low) if chars < low else max(0.0, 1 - (chars - high) / high)


def band(score: int) -> str:
    return next(name for floor, name in BANDS if score >= floor)


def score(data: ScoreInput) -> dict[str, Any]:
    """The score and its breakdown: ``{"score", "band", "version", "factors": [...]}``."""
    doc = read(data.body_html)
    body_words = _fold(doc.text)
    kind = content_types.get(data.content_type)
    primary = (data.keywords or [""])[0].strip()
    secondary = [k for k in data.keywords[1:] if k.strip()]
    factors = _keyword_factors(data, doc, body_words, primary) + _secondary_factors(doc, body_words, secondary)
    factors += _structure_factors(data, doc, len(body_words), kind)
    factors += _link_and_meta_factors(data, doc, len(body_words))
    applicable = [f for f in factors if f.applicable]
    scale = 100 / sum(f.weight for f in applicable)
    total = sum(f.weight * f.value for f in applicable) * scale
    stuffing = _stuffing(body_words, primary)
    total = max(0.0, min(100.0, total + stuffing.weight * stuffing.value))
    result = round(total)
    return {"score": result, "band": band(result), "version": VERSION,
            "factors": [f.as_dict() for f in [*factors, stuffing]]}


def _keyword_factors(data: ScoreInput, doc: Document, body_words: list[str], primary: str) -> list[Factor]:
    w = {k: v[0] for k, v in WEIGHTS.items()}
    if not primary:
        advice = "Set a primary keyword (the first of the content's keywords) so the article can be scored for it."
        return [Factor(k, w[k], 0.0, advice) for k in
                ("keyword_in_title", "keyword_in_h1", "keyword_in_intro", "keyword_in_slug", "keyword_in_meta")]
    h1s = [text for level, text in doc.headings if level == 1] or [data.title]  # WordPress prints the title as H1
    slug = data.slug or slugify(data.title)
    slug_words = slug.split("-")
    return [
        Factor("keyword_in_title", w["keyword_in_title"], float(contains(data.title, primary)),
               f"Put “{primary}” in the title, near its start."),
        Factor("keyword_in_h1", w["keyword_in_h1"], float(any(contains(h, primary) for h in h1s)),
               f"Use “{primary}” in the article's H1 (the title, unless the body has its own H1)."),
        Factor("keyword_in_intro", w["keyword_in_intro"], float(contains(body_words[:100], primary)),
               f"Mention “{primary}” in the first 100 words: readers and search engines judge the topic there."),
        Factor("keyword_in_slug", w["keyword_in_slug"], float(contains(slug_words, primary)),
               f"Use a slug with “{slugify(primary)}” in it (it follows the title unless set)."),
        Factor("keyword_in_meta", w["keyword_in_meta"],
               float(contains(data.meta_title, primary) or contains(data.meta_description, primary)),
               f"Mention “{primary}” in the meta title or meta description: it is shown in bold in results."),
    ]


def _secondary_factors(doc: Document, body_words: list[str], secondary: list[str]) -> list[Factor]:
    w = {k: v[0] for k, v in WEIGHTS.items()}
    if not secondary:
        return [Factor("secondary_in_headings", w["secondary_in_headings"], 1.0, applicable=False),
                Factor("secondary_in_body", w["secondary_in_body"], 1.0, applicable=False)]
    headings = [_fold(text) for _, text in doc.headings]
    in_headings = [k for k in secondary if any(contains(h, k) for h in headings)]
    in_body = [k for k in secondary if contains(body_words, k)]
    want_headings = math.ceil(len(secondary) / 2)  # a heading for every keyword reads as stuffing
    missing_h = [k for k in secondary if k not in in_headings][:3]
    missing_b = [k for k in secondary if k not in in_body][:3]
    return [
        Factor("secondary_in_headings", w["secondary_in_headings"], _ratio(len(in_headings), want_headings),
               f"Use secondary keywords in H2/H3 headings (about half of them), e.g. {_quote(missing_h)}."),
        Factor("secondary_in_body", w["secondary_in_body"], _ratio(len(in_body), len(secondary)),
               f"Cover the cluster's other keywords in the text: missing {_quote(missing_b)}."),
    ]


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "." if text else ""


def _quote(items: list[str]) -> str:
    return ", ".join(f"“{k}”" for k in items) or "none"


def _structure_factors(data: ScoreInput, doc: Document, count: int, kind: content_types.ContentType) -> list[Factor]:
    w = {k: v[0] for k, v in WEIGHTS.items()}
    if count < kind.min_words:
        length_advice = f"Write about {kind.min_words - count} more words: a {kind.label.lower()} runs " \
                        f"{kind.min_words}-{kind.max_words} words."
    else:
        length_advice = f"Cut about {count - kind.max_words} words: a {kind.label.lower()} runs " \
                        f"{kind.min_words}-{kind.max_words} words."
    length = 1.0 if kind.in_range(count) else (
        _ratio(count, kind.min_words) if count < kind.min_words else max(0.0, 1 - (count - kind.max_words) /
                                                                              kind.max_words))
    levels = [level for level, _ in doc.headings]
    h2 = levels.count(2)
    extra_h1 = levels.count(1) > 1
    skips = any(b > a + 1 for a, b in zip([1, *levels], levels, strict=False))
    structure = 0.6 * _ratio(h2, kind.min_headings) + 0.2 * (not extra_h1) + 0.2 * (not skips)
    notes = []
    if h2 < kind.min_headings:
        notes.append(f"add H2 sections (at least {kind.min_headings} for a {kind.label.lower()}, found {h2})")
    if extra_h1:
        notes.append("keep one H1")
    if skips:
        notes.append("do not skip heading levels (an H4 under an H2)")
    ease = readability.reading_ease(" ".join(doc.blocks), data.language)
    if ease is None:
        read_factor = Factor("readability", w["readability"], 1.0, applicable=False,
                             advice=f"No reading-ease formula for language “{data.language}”: not scored.")
    else:
        read_factor = Factor("readability", w["readability"], max(0.0, min(1.0, (ease - 30) / 30)),
                             f"Reading ease {ease}: aim for 60 or more with shorter sentences and plainer words.")
    alts = [a for a in doc.images] + list(data.image_alts)
    with_alt = sum(1 for a in alts if a and a.strip())
    images = Factor("image_alt", w["image_alt"], (with_alt / len(alts)) if alts else 0.0,
                    "Add an image with descriptive alt text." if not alts else
                    f"Give every image alt text ({len(alts) - with_alt} of {len(alts)} have none).")
    faq_found = any("faq" in _fold(t) or contains(t, "frequently asked") for _, t in doc.headings) or \
        sum(1 for _, t in doc.headings if t.rstrip().endswith("?")) >= 2
    faq = Factor("faq", w["faq"], float(faq_found), applicable=kind.faq,
                 advice=f"Add an FAQ section: a {kind.label.lower()} answers its readers' questions in one."
                 if kind.faq else f"A {kind.label.lower()} needs no FAQ: not scored.")
    return [Factor("length", w["length"], length, length_advice),
            Factor("headings", w["headings"], structure, _sentence("; ".join(notes))),
            read_factor, images, faq]


def _link_and_meta_factors(data: ScoreInput, doc: Document, count: int) -> list[Factor]:
    w = {k: v[0] for k, v in WEIGHTS.items()}
    internal = [link for link in doc.links if link.is_internal(data.site_host)]
    external = [link for link in doc.links if not link.is_internal(data.site_host) and link.href.startswith("http")]
    want_internal = min(5, max(2, count // 400))
    mt, md = len((data.meta_title or "").strip()), len((data.meta_description or "").strip())
    return [
        Factor("internal_links", w["internal_links"], _ratio(len(internal), want_internal),
               f"Link to {want_internal - len(internal)} more of the site's articles (the linker suggests them)."),
        Factor("external_links", w["external_links"], float(bool(external)),
               "Cite at least one authoritative external source."),
        Factor("meta_title_length", w["meta_title_length"], _length_value(mt, *META_TITLE),
               f"Meta title: {mt} characters; aim for {META_TITLE[0]}-{META_TITLE[1]}."),
        Factor("meta_description_length", w["meta_description_length"], _length_value(md, *META_DESCRIPTION),
               f"Meta description: {md} characters; aim for {META_DESCRIPTION[0]}-{META_DESCRIPTION[1]}."),
    ]


def _stuffing(body_words: list[str], primary: str) -> Factor:
    if not primary or not body_words:
        return Factor("keyword_stuffing", -STUFFING_PENALTY, 0.0, "")
    density = occurrences(body_words, primary) * len(_fold(primary)) / len(body_words)
    severity = max(0.0, min(1.0, (density - STUFFING_FROM) / (STUFFING_FULL - STUFFING_FROM)))
    return Factor("keyword_stuffing", -STUFFING_PENALTY, severity,
                  f"“{primary}” makes up {density:.1%} of the words: use it less (under {STUFFING_FROM:.0%}) "
                  f"and vary the wording." if severity else "")
