"""What a publisher expects of an article besides its body: meta within limits, a slug, structured data.

The limits are ``html.META_TITLE_MAX`` and ``html.META_DESCRIPTION_MAX`` (the editor's warnings
use the same ones); the structured data is schema.org's ``Article`` and, when the article has
questions and answers, ``FAQPage``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from chalicelib.services import html

SLUG_MAX = 80


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word and marked with an ellipsis."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",.;:-")
    return cut + "…"


def slug(text: str) -> str:
    """Lower-case ASCII words joined by hyphens (accents folded), at most ``SLUG_MAX`` characters."""
    folded = unicodedata.normalize("NFKD", text.replace("ß", "ss")).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", folded)
    out = ""
    for word in words:
        candidate = f"{out}-{word}" if out else word
        if len(candidate) > SLUG_MAX:
            break
        out = candidate
    return out or "article"


def json_ld(*, title: str, description: str, language: str, author: str, keywords: list[str],
            faq: list[dict[str, str]]) -> list[dict[str, Any]]:
    article: dict[str, Any] = {"@context": "https://schema.org", "@type": "Article", "headline": clip(title, 110),
                               "description": description, "inLanguage": language,
                               "author": {"@type": "Person", "name": author}}
    if keywords:
        article["keywords"] = ", ".join(keywords)
    out = [article]
    if faq:
        out.append({"@context": "https://schema.org", "@type": "FAQPage", "inLanguage": language,
                    "mainEntity": [{"@type": "Question", "name": q["question"],
                                    "acceptedAnswer": {"@type": "Answer", "text": q["answer"]}} for q in faq]})
    return out


def seo_fields(*, title: str, meta_title: str, meta_description: str, excerpt: str, proposed_slug: str,
               language: str, author: str, keywords: list[str], faq: list[dict[str, str]]) -> dict[str, Any]:
    """The article's SEO fields, each inside its limit, and its structured data."""
    description = clip(meta_description or excerpt or title, html.META_DESCRIPTION_MAX)
    return {"meta_title": clip(meta_title or title, html.META_TITLE_MAX), "meta_description": description,
            "slug": slug(proposed_slug or title), "faq": faq or None,
            "json_ld": json_ld(title=title, description=description, language=language, author=author,
                               keywords=keywords, faq=faq)}
