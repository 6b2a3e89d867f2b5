"""The kinds of content the product writes, each with the length and structure a reader expects.

Said once here: the ideas stage proposes one per idea, the task and the content carry it, the
content stage writes to its length and structure and checks the result, the optimizer scores
length against its range, and publishing maps it to a WordPress post type.
"""

from __future__ import annotations

from dataclasses import dataclass


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
