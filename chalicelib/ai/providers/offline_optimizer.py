"""The offline provider's answer to ``content_optimization``: the article with its weakest factors mended.

Deterministic and additive, as the prompt asks of a model: it keeps every sentence of the article and
adds what the advice names (the keyword where it is missing, sections for secondary keywords, an FAQ,
meta texts of the right length, alt text); it never removes anything.
"""

from __future__ import annotations

import html
import re
from typing import Any

_FILLER = ("Start with the basics and build from there.", "Small, regular steps beat one big change.",
           "Check the result after each step and adjust.", "Write down what works so you can repeat it.",
           "Ask for advice when something does not work as expected.")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0].rstrip(",.;:-") + "…"


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value if str(v).strip()]
    return [v.strip() for v in str(value or "").split(",") if v.strip()]


def optimize(v: dict[str, Any], _rng: Any = None) -> dict[str, Any]:
    body, title = str(v.get("html") or ""), str(v.get("title") or "")
    primary = str(v.get("primary_keyword") or "").strip()
    secondary = _as_list(v.get("secondary_keywords"))
    advice = str(v.get("advice") or "")
    weak = set(re.findall(r"^- (\w+):", advice, flags=re.M))
    text = re.sub(r"<[^>]+>", " ", body).lower()
    meta_title, meta_description = str(v.get("meta_title") or ""), str(v.get("meta_description") or "")
    if primary and weak & {"keyword_in_title", "keyword_in_h1", "keyword_in_slug"} and primary.lower() not in \
            title.lower():
        title = _clip(f"{_cap(primary)}: {title}", 255)
    if primary and "keyword_in_intro" in weak:
        body = f"<p>This guide to {html.escape(primary)} covers what matters most.</p>\n" + body
    additions = []
    missing = [k for k in secondary if k.lower() not in text]
    if weak & {"secondary_in_headings", "secondary_in_body", "headings"}:
        for keyword in (missing or secondary)[:3]:
            additions.append(f"<h2>{html.escape(_cap(keyword))}</h2>\n<p>{html.escape(_cap(keyword))} is part of "
                             f"the same topic. {' '.join(_FILLER[:3])}</p>")
    if "length" in weak and "Write about" in advice:
        wanted = int(re.search(r"Write about (\d+)", advice).group(1))  # type: ignore[union-attr]
        paragraphs = min(40, wanted // 30 + 1)
        additions.append("<h2>Step by step</h2>\n" + "\n".join(
            f"<p>{' '.join(_FILLER[(n + k) % len(_FILLER)] for k in range(4))}</p>" for n in range(paragraphs)))
    if "faq" in weak and primary:
        q = html.escape(primary)
        additions.append(f"<h2>FAQ</h2>\n<h3>What is {q}?</h3>\n<p>It is the topic of this article: the "
                         f"sections above explain it step by step.</p>\n<h3>Where do I start with {q}?</h3>\n"
                         f"<p>{_FILLER[0]} {_FILLER[2]}</p>")
    if additions:
        body = body + "\n" + "\n".join(additions)
    if "image_alt" in weak:
        body = re.sub(r"<img(?![^>]*\balt=)([^>]*)>", lambda m: f'<img alt="{html.escape(title)}"{m.group(1)}>', body)
    if weak & {"keyword_in_meta", "meta_title_length"} or not 30 <= len(meta_title) <= 60:
        meta_title = _clip(f"{_cap(primary)}: {title}" if primary and primary.lower() not in title.lower()
                           else title, 60)
        if len(meta_title) < 30:
            meta_title = _clip(f"{meta_title}: a practical guide", 60)
    if weak & {"keyword_in_meta", "meta_description_length"} or not 120 <= len(meta_description) <= 160:
        lead = f"{_cap(primary)}: " if primary else ""
        meta_description = _clip(f"{lead}{title}. What matters, the steps to take and the mistakes to avoid, "
                                 "explained plainly for beginners.", 158)
    return {"title": title, "html": body, "meta_title": meta_title or title[:60],
            "meta_description": meta_description or title}
