"""An article's HTML read once into what scoring and linking look at: headings, body text, links, images.

Text inside headings and inside links is kept apart from the prose: the linker never anchors a
link there, and the score counts keywords in headings separately from the body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlparse

HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_PROSE_BLOCKS = {"p", "li", "td", "th", "blockquote", "dd", "figcaption"}
_WORD = re.compile(r"\w+(?:['’-]\w+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
LINKED = " \u2063 "  # stands for an existing link's text in free_blocks: no phrase spans it


INTERNAL_CLASS = "internal-link"  # the class of the links the linker inserts


@dataclass
class Link:
    href: str
    text: str
    classes: tuple[str, ...] = ()

    def is_internal(self, site_host: str | None) -> bool:
        if INTERNAL_CLASS in self.classes:
            return True
        parsed = urlparse(self.href)
        if not parsed.netloc:
            return not parsed.scheme or parsed.scheme in ("http", "https")
        return site_host is not None and parsed.netloc.lower().removeprefix("www.") == site_host


@dataclass
class Document:
    headings: list[tuple[int, str]] = field(default_factory=list)  # (level, text) in order
    blocks: list[str] = field(default_factory=list)  # prose blocks (paragraphs, list items), links' text kept
    # The same blocks with each link's text replaced by LINKED: where a new link may go
    free_blocks: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    images: list[str | None] = field(default_factory=list)  # alt text of each <img> (None: no alt attribute)
    text: str = ""  # all visible text, headings included

    @property
    def words(self) -> list[str]:
        return words(self.text)

    def sentences(self) -> list[tuple[int, str]]:
        """(block index, sentence) of the prose, in reading order."""
        out = []
        for n, block in enumerate(self.blocks):
            out += [(n, s.strip()) for s in _SENTENCE_END.split(block) if s.strip()]
        return out


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.doc = Document()
        self.heading: list[str] | None = None
        self.heading_level = 0
        self.block: list[str] | None = None
        self.free: list[str] = []
        self.link: tuple[str, list[str], tuple[str, ...]] | None = None
        self.all: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in HEADINGS:
            self._end_block()
            self.heading, self.heading_level = [], int(tag[1])
        elif tag in _PROSE_BLOCKS and self.heading is None:
            self._end_block()
            self.block, self.free = [], []
        elif tag == "a":
            self.link = (values.get("href") or "", [], tuple((values.get("class") or "").split()))
            if self.block is not None:
                self.free.append(LINKED)
        elif tag == "img":
            self.doc.images.append(values.get("alt") if "alt" in values else None)
        elif tag == "br":
            self.all.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in HEADINGS and self.heading is not None:
            self.doc.headings.append((self.heading_level, _squash("".join(self.heading))))
            self.heading = None
        elif tag in _PROSE_BLOCKS:
            self._end_block()
        elif tag == "a" and self.link is not None:
            self.doc.links.append(Link(self.link[0], _squash("".join(self.link[1])), self.link[2]))
            self.link = None
        self.all.append(" ")

    def handle_data(self, data: str) -> None:
        self.all.append(data)
        if self.heading is not None:
            self.heading.append(data)
        elif self.block is not None:
            self.block.append(data)
            if self.link is None:
                self.free.append(data)
        if self.link is not None:
            self.link[1].append(data)

    def _end_block(self) -> None:
        if self.block is not None:
            text = _squash("".join(self.block))
            if text:
                self.doc.blocks.append(text)
                self.doc.free_blocks.append(_squash("".join(self.free)))
        self.block = None
        self.free = []


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def read(body_html: str) -> Document:
    reader = _Reader()
    reader.feed(body_html or "")
    reader.close()
    reader._end_block()
    reader.doc.text = _squash("".join(reader.all))
    return reader.doc
