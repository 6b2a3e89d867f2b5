"""Article HTML: sanitised on the way in (nh3, a maintained Rust sanitiser), counted, checked.

Allow-list, not block-list: only article tags and their harmless attributes survive;
``script``/``style`` go with their content; event handlers (``on*``) and ``style`` are
never on the list; URLs keep only http, https and mailto (and relative links).
"""

from __future__ import annotations

import html as html_lib
import re
from html.parser import HTMLParser
from typing import Any

import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "details", "div", "dl", "dt",
    "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark",
    "ol", "p", "pre", "q", "s", "section", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody",
    "td", "tfoot", "th", "thead", "tr", "u", "ul",
}
ALLOWED_ATTRIBUTES = {
    "*": {"id", "class", "title", "lang", "dir"},
    "a": {"href", "name", "target"},
    "img": {"src", "alt", "width", "height", "loading", "srcset", "sizes"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "ol": {"start", "reversed", "type"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
}
URL_SCHEMES = {"http", "https", "mailto"}
DROP_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math"}

META_TITLE_MAX = 60
META_DESCRIPTION_MIN = 50
META_DESCRIPTION_MAX = 160


def sanitize(body: str) -> str:
    return nh3.clean(
        body,
        tags=ALLOWED_TAGS,
        clean_content_tags=DROP_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        strip_comments=True,
        link_rel="noopener noreferrer",
    )


_BLOCK = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "th", "table",
          "blockquote", "pre", "section", "figure", "figcaption", "dd", "dt", "dl", "hr", "caption", "summary",
          "details", "img"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in _BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def text_of(body: str) -> str:
    parser = _Text()
    parser.feed(body)
    parser.close()
    return re.sub(r"\s+", " ", html_lib.unescape("".join(parser.parts))).strip()


_WORD = re.compile(r"\w+(?:['’.:/-]\w+)*")


def word_count(body: str) -> int:
    """Words of the visible text; block tags separate words, so <p>a</p><p>b</p> is two."""
    return len(_WORD.findall(text_of(body)))


def meta_warnings(meta_title: str, meta_description: str) -> list[dict[str, Any]]:
    warnings: list[dict[str, Any]] = []
    title, description = (meta_title or "").strip(), (meta_description or "").strip()
    if not title:
        warnings.append({"field": "meta_title", "code": "missing", "message": "No meta title: search engines "
                         "will use the title."})
    elif len(title) > META_TITLE_MAX:
        warnings.append({"field": "meta_title", "code": "too_long", "length": len(title), "limit": META_TITLE_MAX,
                         "message": f"Meta titles over {META_TITLE_MAX} characters are usually cut in results."})
    if not description:
        warnings.append({"field": "meta_description", "code": "missing",
                         "message": "No meta description: search engines will pick a snippet themselves."})
    elif len(description) > META_DESCRIPTION_MAX:
        warnings.append({"field": "meta_description", "code": "too_long", "length": len(description),
                         "limit": META_DESCRIPTION_MAX,
                         "message": f"Meta descriptions over {META_DESCRIPTION_MAX} characters are usually cut."})
    elif len(description) < META_DESCRIPTION_MIN:
        warnings.append({"field": "meta_description", "code": "too_short", "length": len(description),
                         "limit": META_DESCRIPTION_MIN,
                         "message": f"Meta descriptions under {META_DESCRIPTION_MIN} characters waste the snippet."})
    return warnings
