"""The kinds of content the product writes, each with the length and structure a reader expects.

Said once here: the ideas stage proposes one per idea, the task and the content carry it, the
content stage writes to its length and structure and checks the result, the optimizer scores
length against its range, and publishing maps it to a WordPress post type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib.errors import UnprocessableEntity


@dataclass(frozen=True)
class ContentType:
    key: str
    label: str
    min_words: int
    max_words: int
    min_headings: int  # H2s
    lists: bool = False  # at least one bulleted or numbered list
    table: bool = False  # a comparison table
    faq: bool = False  # an FAQ section (and FAQPage JSON-LD)
    wordpress_type: str = "post"  # the post type it is published as unless the site maps it

    @property
    def target_words(self) -> int:
        return (self.min_words + self.max_words) // 2

    def in_range(self, words: int) -> bool:
        return self.min_words <= words <= self.max_words

    def structure(self) -> str:
        """What the prompt asks of an article of this type."""
        parts = [f"at least {self.min_headings} <h2> section{'s' if self.min_headings > 1 else ''}"]
        if self.lists:
            parts.append("at least one <ul> or <ol> list")
        if self.table:
            parts.append("a comparison <table>")
        if self.faq:
            parts.append("an FAQ section (an <h2> with FAQ in it, each question an <h3>) and the same questions "
                         "in the faq field")
        return f"{self.label}, {self.min_words}-{self.max_words} words: " + "; ".join(parts) + "."


CONTENT_TYPES: dict[str, ContentType] = {t.key: t for t in (
    ContentType("blog_article", "Blog article", 900, 1500, 3, faq=True),
    ContentType("how_to_guide", "How-to guide", 1200, 2200, 4, lists=True, faq=True),
    ContentType("listicle", "Listicle", 800, 1600, 5, lists=True),
    ContentType("comparison", "Comparison / review", 1200, 2200, 4, table=True, faq=True),
    ContentType("pillar_page", "Pillar page", 2500, 4000, 6, lists=True, faq=True),
    ContentType("landing_page", "Landing page", 400, 900, 3, lists=True, wordpress_type="page"),
    ContentType("product_description", "Product / category description", 150, 400, 1, lists=True,
                wordpress_type="page"),
)}
DEFAULT = "blog_article"
# Free text of wave 1 ("article", "guide", ...) read as the nearest type.
ALIASES = {"article": "blog_article", "blog": "blog_article", "post": "blog_article", "guide": "how_to_guide",
           "how_to": "how_to_guide", "list": "listicle", "review": "comparison", "pillar": "pillar_page",
           "landing": "landing_page", "product": "product_description", "category": "product_description"}


def get(key: str | None) -> ContentType:
    """The type named ``key`` (an alias of wave 1 included); the default for none or an unknown one."""
    if not key:
        return CONTENT_TYPES[DEFAULT]
    return CONTENT_TYPES.get(key) or CONTENT_TYPES.get(ALIASES.get(key, ""), CONTENT_TYPES[DEFAULT])


def keys() -> list[str]:
    return list(CONTENT_TYPES)


def validate(key: str, field: str = "content_type") -> str:
    """The type's key (a wave-1 alias accepted); 422 listing the valid ones for anything else."""
    found = CONTENT_TYPES.get(key) or CONTENT_TYPES.get(ALIASES.get(key, ""))
    if found is None:
        raise UnprocessableEntity(f"Unknown content type {key!r}; one of: {', '.join(CONTENT_TYPES)}.",
                                  code="invalid_content_type",
                                  details=[{"field": field, "message": f"one of {', '.join(CONTENT_TYPES)}"}])
    return found.key


def choices() -> str:
    """The types a prompt may propose, one a line."""
    return "\n".join(f"{t.key}: {t.label} ({t.min_words}-{t.max_words} words)" for t in CONTENT_TYPES.values())


_H2 = re.compile(r"<h2[\s>]", re.I)
_LIST = re.compile(r"<(?:ul|ol)[\s>]", re.I)
_TABLE = re.compile(r"<table[\s>]", re.I)
_FAQ_HEADING = re.compile(r"<h2[^>]*>[^<]*(?:FAQ|frequently asked|häufig|fragen|preguntas|questions)[^<]*</h2>", re.I)


def check(body_html: str, words: int, ctype: ContentType, *, target: int | None = None) -> list[str]:
    """What an article misses of its type: each problem a sentence; none: it fits.

    Length is checked against the type's range, or, with a task's ``target``, against that
    target give or take a quarter.
    """
    low, high = (ctype.min_words, ctype.max_words) if target is None else (int(target * 0.75), int(target * 1.25))
    problems = []
    if not low <= words <= high:
        problems.append(f"length: {words} words, expected {low}-{high}")
    headings = len(_H2.findall(body_html))
    if headings < ctype.min_headings:
        problems.append(f"structure: {headings} <h2> sections, expected at least {ctype.min_headings}")
    if ctype.lists and not _LIST.search(body_html):
        problems.append("structure: no list")
    if ctype.table and not _TABLE.search(body_html):
        problems.append("structure: no table")
    if ctype.faq and not _FAQ_HEADING.search(body_html):
        problems.append("structure: no FAQ section")
    return problems
