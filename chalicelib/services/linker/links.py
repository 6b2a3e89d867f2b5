"""Links in an article's HTML: inserted at an anchor, re-pointed, or unwrapped (the text stays).

The linker's links carry ``class="internal-link"`` and ``id="link-<target content id>"`` (both kept by
the sanitiser): one per target per article, found again by that id whatever else the body holds.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from chalicelib.integrations.wordpress.fields import slugify
from chalicelib.services.optimizer.document import HEADINGS, INTERNAL_CLASS

_TOKEN = re.compile(r"<[^>]*>|[^<]+")
_PROSE = ("p", "li", "td", "th", "blockquote", "dd", "figcaption")
_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z0-9]+)")


@dataclass
class _Text:
    start: int
    end: int
    block: int
    free: bool  # outside headings and links


def link_id(target_id: str) -> str:
    return f"link-{target_id}"


def draft_href(title: str) -> str:
    """Where a link points before its target is published: the slug WordPress will give it (re-pointed to the
    permalink on publish)."""
    return f"/{slugify(title)}/"


def _texts(body: str) -> list[_Text]:
    out, block, heading, link = [], -1, 0, 0
    for match in _TOKEN.finditer(body):
        token = match.group(0)
        tag = _TAG.match(token) if token.startswith("<") else None
        if tag:
            closing, name = tag.group(1) == "/", tag.group(2).lower()
            if name in HEADINGS:
                heading += -1 if closing else 1
            elif name == "a":
                link += -1 if closing else 1
            elif name in _PROSE and not closing and heading <= 0:
                block += 1
            continue
        if not token.startswith("<"):
            out.append(_Text(match.start(), match.end(), block, heading <= 0 and link <= 0 and block >= 0))
    return out


def has_link(body: str, target_id: str) -> bool:
    return f'id="{link_id(target_id)}"' in body


def insert(body: str, *, anchor: str, block: int, target_id: str, href: str) -> str | None:
    """The body with the anchor (in ``block``, else the first free place it is found) linked to ``href``;
    None when the anchor is no longer in the prose. Already linked to the target: the body unchanged."""
    if has_link(body, target_id):
        return body
    pattern = re.compile(r"(?<!\w)" + r"\s+".join(re.escape(html.escape(w, quote=False)) for w in anchor.split())
                         + r"(?!\w)")
    texts = [t for t in _texts(body) if t.free]
    for text in sorted(texts, key=lambda t: (t.block != block, t.start)):
        found = pattern.search(body, text.start, text.end)
        if found:
            tag = (f'<a href="{html.escape(href)}" class="{INTERNAL_CLASS}" id="{link_id(target_id)}">'
                   f"{found.group(0)}</a>")
            return body[:found.start()] + tag + body[found.end():]
    return None


def _link_tag(target_id: str) -> re.Pattern[str]:
    return re.compile(r'<a\b[^>]*\bid="' + re.escape(link_id(target_id)) + r'"[^>]*>(.*?)</a>', re.S)


def repoint(body: str, target_id: str, href: str) -> str:
    def swap(match: re.Match[str]) -> str:
        tag = match.group(0)
        return re.sub(r'\bhref="[^"]*"', f'href="{html.escape(href)}"', tag, count=1)
    return _link_tag(target_id).sub(swap, body)


def unwrap(body: str, target_id: str) -> str:
    return _link_tag(target_id).sub(lambda m: m.group(1), body)
