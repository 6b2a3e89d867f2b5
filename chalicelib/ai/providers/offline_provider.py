"""The offline provider: no network, no key; deterministic answers of the real shapes.

It lets the whole product run and be tested on one machine. Every answer depends only on
its inputs (a hash seeds the choices), so the same request gives the same output in any
process. It says what it is: usage.provider is "offline", articles carry a comment and
a closing note, PNGs carry a ``Software`` text chunk.

- Structured stages (``chalicelib.ai.stages``) are answered from the stage's variables:
  cluster names from the keywords, ideas with outlines, HTML articles built from the
  brief, keywords and outline (h2/h3 per outline entry, 800-1500 words), image prompts
  from the article's headings. Any other schema gets a minimal valid instance.
- Embeddings: a lexical embedder (hashed word unigrams and character trigrams, L2
  normalised), so texts sharing words land close together.
- Images: a real PNG of the requested size (a gradient with diagonal stripes whose
  colours come from the prompt), written with zlib and struct.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import random
import re
import struct
import zlib
from collections import Counter
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from chalicelib.ai.providers import offline_optimizer
from chalicelib.ai.stages import STAGES
from chalicelib.ai.types import (
    EMBEDDINGS,
    IMAGES,
    TEXT,
    ChatRequest,
    ChatResponse,
    EmbeddingResponse,
    GeneratedImage,
    ImageRequest,
    ImageResponse,
    Usage,
)

NAME = "offline"
EMBEDDING_DIMENSIONS = 256
OFFLINE_COMMENT = "<!-- offline draft: written by the offline provider, no AI key configured -->"
OFFLINE_NOTE = ('<p class="offline-note"><em>This draft was written by the offline generator '
                "(no AI provider key is configured).</em></p>")
PNG_SOFTWARE = "seo-content-engine offline provider"

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STOPWORDS = frozenset(
    "a an and are as at be best by can do does for from how i in is it my of on or the to top vs what when "
    "where which who why with your you near me".split())


def estimate_tokens(text: str) -> int:
    """About four characters a token, as for English with OpenAI's tokenizers."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


def _seed(*parts: Any) -> int:
    blob = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "big")


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [line.strip(" -*\t") for line in re.split(r"[\n,;]", value) if line.strip(" -*\t")]
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [str(value)]


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _title(text: str) -> str:
    small = {"a", "an", "and", "for", "in", "of", "on", "or", "the", "to", "vs", "with"}
    words = text.split()
    return " ".join(w if (i and w.lower() in small) else (w[:1].upper() + w[1:]) for i, w in enumerate(words))


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",.;:-")
    return cut + "…"


def _int(value: Any, default: int, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = default
    return max(low, min(high, number))


class OfflineProvider:
    name = NAME
    capabilities = frozenset({TEXT, EMBEDDINGS, IMAGES})

    # --- text ---------------------------------------------------------------------------

    def chat(self, request: ChatRequest) -> ChatResponse:
        variables = dict(request.variables or {})
        builder = _STAGE_BUILDERS.get(request.stage or "")
        if builder is not None and (request.schema is None or request.schema is STAGES[request.stage].schema):
            answer: Any = builder(variables, random.Random(_seed(request.stage, variables)))
            text = json.dumps(answer, ensure_ascii=False)
        elif request.schema is not None:
            text = json.dumps(_instance(request.schema), ensure_ascii=False)
        else:
            last = request.messages[-1]["content"] if request.messages else ""
            text = _plain_answer(last, random.Random(_seed("text", last)))
        prompt_text = "".join(m.get("content", "") for m in request.messages)
        usage = Usage(NAME, request.model, input_tokens=estimate_tokens(prompt_text),
                      output_tokens=estimate_tokens(text))
        return ChatResponse(text, usage)

    # --- embeddings ---------------------------------------------------------------------

    def embed(self, texts: list[str], model: str) -> EmbeddingResponse:
        vectors = [embed_text(t) for t in texts]
        return EmbeddingResponse(vectors, Usage(NAME, model, input_tokens=sum(estimate_tokens(t) for t in texts)))

    # --- images -------------------------------------------------------------------------

    def images(self, request: ImageRequest) -> ImageResponse:
        images = []
        for index in range(request.n):
            digest = hashlib.sha256(f"{request.model}|{request.style}|{request.prompt}|{index}".encode()).digest()
            data = render_png(request.width, request.height, digest,
                              {"Software": PNG_SOFTWARE, "Description": request.prompt[:500]})
            images.append(GeneratedImage(data, "image/png", request.width, request.height))
        return ImageResponse(images, Usage(NAME, request.model, images=len(images)))


# --- embeddings ---------------------------------------------------------------------------

def _bucket(feature: str) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
    number = int.from_bytes(digest, "big")
    return number % EMBEDDING_DIMENSIONS, (1.0 if number >> 63 else -1.0)


def embed_text(text: str) -> list[float]:
    """Hashed word unigrams (weight 1) and character trigrams (weight 0.5), L2 normalised."""
    vector = [0.0] * EMBEDDING_DIMENSIONS
    words = _words(text)
    for word in words:
        index, sign = _bucket("w:" + word)
        vector[index] += sign
        padded = f" {word} "
        for i in range(len(padded) - 2):
            index, sign = _bucket("c:" + padded[i:i + 3])
            vector[index] += 0.5 * sign
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0:  # no words at all: still a unit vector, the same for every such text
        vector[_bucket("empty")[0]] = 1.0
        return vector
    return [v / norm for v in vector]


# --- images -------------------------------------------------------------------------------

def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def render_png(width: int, height: int, digest: bytes, text: Mapping[str, str]) -> bytes:
    """An RGB PNG: a vertical gradient between two colours with diagonal stripes.

    Rows are slices of one precomputed stripe row per colour band, so a 1024x1024 image
    takes milliseconds in pure Python.
    """
    top, bottom, ink = digest[0:3], digest[3:6], digest[6:9]
    period = 24 + digest[9] % 48
    stripe = max(4, period // 3)
    bands = max(1, min(64, height))
    band_height = math.ceil(height / bands)
    raw = bytearray()
    for band in range(bands):
        t = band / max(1, bands - 1)
        base = bytes(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        line = bytes(int(c * 0.7 + i * 0.3) for c, i in zip(base, ink, strict=True))
        unit = line * stripe + base * (period - stripe)
        long_row = unit * (width // period + 2)
        for y in range(band * band_height, min(height, (band + 1) * band_height)):
            shift = (y % period) * 3
            raw += b"\x00" + long_row[shift:shift + width * 3]
    chunks = [_png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))]
    for key, value in text.items():
        clean = value.encode("latin-1", "replace").replace(b"\x00", b" ")
        chunks.append(_png_chunk(b"tEXt", key.encode("latin-1") + b"\x00" + clean))
    chunks.append(_png_chunk(b"IDAT", zlib.compress(bytes(raw), 6)))
    chunks.append(_png_chunk(b"IEND", b""))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


# --- structured stages --------------------------------------------------------------------

def _head_phrase(keywords: list[str]) -> str:
    """The words the keywords share most: a fair name for their cluster."""
    counts = Counter(w for kw in keywords for w in dict.fromkeys(_words(kw)) if w not in _STOPWORDS)
    if not counts:
        return keywords[0] if keywords else "General topics"
    top = [w for w, _ in counts.most_common(2)]
    # Keep the order the words have in the keywords ("running shoes", not "shoes running").
    for kw in keywords:
        words = _words(kw)
        if all(w in words for w in top):
            top.sort(key=words.index)
            break
    if len(top) == 2 and counts[top[1]] * 2 < counts[top[0]]:
        top = top[:1]
    return " ".join(top)


def _clustering(v: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    keywords = _as_list(v.get("keywords"))
    name = _title(_head_phrase(keywords))
    sector = str(v.get("sector") or "this sector")
    shown = ", ".join(keywords[:4])
    more = f" and {len(keywords) - 4} more" if len(keywords) > 4 else ""
    return {"name": _clip(name, 255),
            "description": _clip(f"Searches about {name.lower()} in {sector}: {shown}{more}.", 2000)}


_IDEA_TITLES = (
    "The Complete Guide to {Kw}",
    "{Kw}: What to Know Before You Start",
    "How to Choose {Kw} (Without Regrets)",
    "{Kw} Explained: A Practical Guide",
    "7 Common {Kw} Mistakes and How to Avoid Them",
    "{Kw} for Beginners: Step by Step",
    "Is {Kw} Worth It? An Honest Look",
    "{Kw} Checklist: Everything in One Place",
)
# The content type each title shape calls for (keys of services.content_types).
_IDEA_TYPES = {"Complete Guide": "pillar_page", "What to Know": "blog_article", "How to Choose": "comparison",
               "Explained": "blog_article", "Mistakes": "listicle", "Step by Step": "how_to_guide",
               "Worth It": "comparison", "Checklist": "listicle"}
_SECTION_HEADINGS = (
    "What {kw} means", "Why {kw} matters", "How to get started with {kw}", "Common mistakes with {kw}",
    "Choosing the right {kw}", "Costs and budgeting for {kw}", "Tools that help with {kw}",
    "A step-by-step plan for {kw}", "Frequently asked questions about {kw}", "Measuring results with {kw}",
)
_SUBHEADINGS = (
    "Key terms", "What to look for", "A quick example", "Pitfalls to avoid", "When to ask an expert",
    "Questions to ask first", "A simple checklist", "What the numbers say",
)


def _outline(kw: str, rng: random.Random, sections: int) -> list[dict[str, Any]]:
    headings = rng.sample(_SECTION_HEADINGS, k=min(sections, len(_SECTION_HEADINGS)))
    return [{"heading": _title(h.format(kw=kw)), "subheadings": rng.sample(_SUBHEADINGS, k=rng.randint(2, 3))}
            for h in headings]


def _ideas(v: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    keywords = _as_list(v.get("keywords")) or [str(v.get("cluster_name") or "the topic")]
    count = _int(v.get("count"), 3, 1, 50)
    cluster = str(v.get("cluster_name") or keywords[0])
    titles = list(_IDEA_TITLES)
    rng.shuffle(titles)
    ideas = []
    for i in range(count):
        primary = keywords[i % len(keywords)]
        secondary = [k for k in keywords if k != primary][:5]
        shape = titles[i % len(titles)]
        title = shape.format(Kw=_title(primary))
        ideas.append({
            "content_type": next((t for k, t in _IDEA_TYPES.items() if k in shape), "blog_article"),
            "title": _clip(title, 255),
            "description": _clip(f"An article for readers searching for \"{primary}\": it answers their "
                                 f"main questions and links the topic to {cluster.lower()}.", 5000),
            "primary_keyword": primary,
            "secondary_keywords": secondary,
            "outline": _outline(primary, rng, rng.randint(4, 6)),
        })
    return {"ideas": ideas}


_INTRO = (
    "If you are looking into {kw}, you are not alone: it is one of the questions readers ask most often.",
    "This guide explains {kw} in plain words, with the details that matter when you make a decision.",
    "By the end you will know how {kw} works, what it costs, and which mistakes to avoid.",
    "We also cover {sec}, because the two topics come up together more often than not.",
)
_BODY = (
    "When it comes to {topic}, the first thing to settle is what you actually need from {kw}.",
    "Many readers start with {sec} and only later realise how closely it is tied to {kw}.",
    "A good rule of thumb is to write down your goal before comparing options for {kw}.",
    "The details of {topic} differ from case to case, but the underlying principles stay the same.",
    "Experts usually recommend starting small, measuring the result, and adjusting from there.",
    "It helps to compare at least three options side by side before you commit to anything.",
    "Keep an eye on hidden costs: they are where most plans for {kw} go over budget.",
    "People who succeed with {kw} tend to review their approach every few months.",
    "Think of {sub} as a checkpoint: if it is unclear, the rest of the plan will be too.",
    "For most situations, the simplest approach to {topic} is also the most reliable one.",
    "Ask yourself how {sec} fits into the bigger picture before you change anything.",
    "A short checklist keeps the important points about {topic} from slipping through.",
    "There is no single right answer, but there are clearly wrong ones, and they are easy to spot.",
    "Reading reviews and real-world examples is a quick way to learn what works for {kw}.",
    "Small improvements add up: a few careful changes often beat one dramatic overhaul.",
    "If you are unsure, test one change at a time so you can tell what made the difference.",
    "Timing matters too, since the best moment to act on {kw} depends on your circumstances.",
    "Write down what you learn along the way; it makes the next decision much easier.",
    "Quality is worth paying for where it affects safety, comfort or long-term value.",
    "The most common mistake with {topic} is rushing the research phase.",
    "Budget some time as well as money, because {kw} rarely works on the first attempt.",
    "Local rules and conditions can change the picture, so check what applies to you.",
    "A second opinion from someone experienced with {kw} can save you a costly detour.",
    "Once the basics are in place, {sec} becomes much easier to handle.",
    "Remember that {sub} is less about perfection and more about consistency.",
    "The numbers are worth tracking, even roughly, so you can see progress over time.",
)
_CLOSING = (
    "{Kw} does not have to be complicated: a clear goal and a steady plan go a long way.",
    "Start with the basics covered here, keep notes, and refine your approach as you learn.",
    "Come back to this guide whenever you need a refresher on {kw} or {sec}.",
)


def _sections_from(outline: Any) -> list[tuple[str, list[str]]]:
    """Accept the outline as sent by the ideas stage, as plain headings, or as text."""
    if isinstance(outline, str):
        try:
            outline = json.loads(outline)
        except ValueError:
            outline = _as_list(outline)
    sections: list[tuple[str, list[str]]] = []
    for entry in outline or []:
        if isinstance(entry, Mapping):
            heading = str(entry.get("heading") or entry.get("title") or "").strip()
            subs = _as_list(entry.get("subheadings") or entry.get("points"))
        else:
            heading, subs = str(entry).strip(), []
        if heading:
            sections.append((heading, subs[:3]))
    return sections[:8]


class _Writer:
    """Sentences from the banks, cycled in a seeded order so paragraphs do not repeat soon."""

    def __init__(self, rng: random.Random, kw: str, secondary: list[str]) -> None:
        self.rng = rng
        self.kw = kw
        self.secondary = secondary or [kw]
        self._body = list(_BODY)
        rng.shuffle(self._body)
        self._next = 0
        self._sec = 0

    def _fill(self, template: str, topic: str, sub: str) -> str:
        sec = self.secondary[self._sec % len(self.secondary)]
        self._sec += 1
        return template.format(kw=self.kw, Kw=self.kw[:1].upper() + self.kw[1:], sec=sec,
                               topic=topic.lower(), sub=sub.lower() or topic.lower())

    def paragraph(self, topic: str, sub: str = "", sentences: int = 3) -> str:
        out = []
        for _ in range(sentences):
            out.append(self._fill(self._body[self._next % len(self._body)], topic, sub))
            self._next += 1
        return " ".join(out)

    def fixed(self, templates: tuple[str, ...], topic: str) -> str:
        return " ".join(self._fill(t, topic, "") for t in templates)


_FAQ_HEADINGS = {"en": "Frequently Asked Questions (FAQ)", "de": "Häufig gestellte Fragen (FAQ)",
                 "fr": "Questions fréquentes (FAQ)", "es": "Preguntas frecuentes (FAQ)",
                 "it": "Domande frequenti (FAQ)", "nl": "Veelgestelde vragen (FAQ)"}
_FAQ_QUESTIONS = ("What is {kw}?", "How much does {kw} cost?", "How do I get started with {kw}?")


def _marker(language: str) -> str:
    """What shows the language an offline text was asked for (it writes English words)."""
    return "" if language.split("-")[0].lower() in ("", "en") else f"[{language}] "


def _content(v: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    kw = str(v.get("primary_keyword") or v.get("title") or "this topic").strip()
    secondary = _as_list(v.get("secondary_keywords"))
    language = str(v.get("language") or "en")
    mark = _marker(language)
    title = str(v.get("title") or _title(f"A guide to {kw}")).strip()
    # A task's brief carries its outline as Markdown ("## heading", "- subheading"): the outline
    # becomes the article's headings, only the brief's prose goes into the text.
    brief = " ".join(line.strip() for line in str(v.get("description") or "").splitlines()
                     if line.strip() and not line.lstrip().startswith(("#", "- ")))
    target = _int(v.get("word_count"), 1200, 100, 6000)
    structure = str(v.get("structure") or "")
    wanted_h2 = _int((re.search(r"at least (\d+) <h2>", structure) or [None, 3])[1], 3, 1, 12)
    sections = _sections_from(v.get("outline")) or [(h["heading"], h["subheadings"])
                                                     for h in _outline(kw, rng, 5)]
    extra = [h for h in (_title(t.format(kw=kw)) for t in _SECTION_HEADINGS) if h not in {s for s, _ in sections}]
    wants_faq = "FAQ" in structure
    while len(sections) + int(wants_faq) < wanted_h2 and extra:
        sections.append((extra.pop(0), []))
    writer = _Writer(rng, kw, secondary)

    # Units of text in reading order: (heading level, heading, topic, subheading); short types
    # keep fewer subheadings, so that even their first paragraphs fit the length.
    budget = max(len(sections), (target - 120) // 40)
    units: list[tuple[int, str, str, str]] = [(2, h, h, "") for h, _ in sections]
    for heading, subs in sections:
        at = next(i for i, u in enumerate(units) if u[0] == 2 and u[1] == heading) + 1
        for offset, sub in enumerate(subs):
            if len(units) >= budget:
                break
            units.insert(at + offset, (3, sub, heading, sub))
    paragraphs: list[list[str]] = [[] for _ in units]
    intro = [writer.fixed(_INTRO[:2] if target < 600 else _INTRO, kw)] + ([brief] if brief and target >= 600 else [])
    closing = writer.fixed(_CLOSING[:1], kw)
    faq = [{"question": mark + q.format(kw=kw), "answer": writer.paragraph(kw, q.format(kw=kw), 2)}
           for q in _FAQ_QUESTIONS] if wants_faq else []
    extras: list[str] = []
    if "table" in structure:
        rows = [kw, *secondary[:2]] if secondary else [kw, f"{kw} basics", f"{kw} pro"]
        extras.append("<table><thead><tr><th>Option</th><th>Best for</th><th>Watch out for</th></tr></thead><tbody>"
                      + "".join(f"<tr><td>{html.escape(_title(r))}</td><td>Most readers</td><td>Hidden costs</td></tr>"
                                for r in rows) + "</tbody></table>")
    takeaways = [kw, *secondary[:2]]
    extras.append("<ul>" + "".join(f"<li>{html.escape(_title(t))}: plan first, then act.</li>" for t in takeaways)
                  + "</ul>")

    def words() -> int:
        text = " ".join([*intro, closing, *(" ".join(p) for p in paragraphs),
                         *(f"{q['question']} {q['answer']}" for q in faq),
                         *(re.sub(r"<[^>]+>", " ", e) for e in extras)])
        return len(text.split()) + sum(len(u[1].split()) for u in units) + (4 if faq else 0)

    for i, (_, _, topic, sub) in enumerate(units):
        paragraphs[i].append(writer.paragraph(topic, sub, 1 if target < 600 else 2))
    i = 0
    while words() < target - 30 and i < 600:
        _, _, topic, sub = units[i % len(units)]
        paragraphs[i % len(units)].append(writer.paragraph(topic, sub, 2))
        i += 1

    parts = [OFFLINE_COMMENT, f'<section lang="{html.escape(language)}">']
    parts += [f"<p>{html.escape(p)}</p>" for p in intro]
    for n, ((level, heading, _, _), paras) in enumerate(zip(units, paragraphs, strict=True)):
        parts.append(f"<h{level}>{html.escape(heading)}</h{level}>")
        parts += [f"<p>{html.escape(p)}</p>" for p in paras]
        if n == 0:
            parts += extras
    if faq:
        parts.append(f"<h2>{html.escape(_FAQ_HEADINGS.get(language.split('-')[0].lower(), 'FAQ'))}</h2>")
        for q in faq:
            parts += [f"<h3>{html.escape(q['question'])}</h3>", f"<p>{html.escape(q['answer'])}</p>"]
    parts.append(f"<p>{html.escape(closing)}</p>")
    parts += ["</section>", OFFLINE_NOTE]
    excerpt = _clip(mark + writer.fixed(_INTRO[:2], kw), 300)
    return {
        "title": _clip(mark + title, 255),
        "html": "\n".join(parts),
        "meta_title": _clip(mark + title, 60),
        "meta_description": _clip(f"{mark}{_title(kw)}: {brief or 'a practical guide'}. Learn what matters, what "
                                  f"it costs and the mistakes to avoid.", 155),
        "excerpt": excerpt,
        "slug": title,
        "faq": faq,
    }


_STYLE_PHRASES = {
    "photorealistic": "Ultra realistic photograph",
    "illustration": "Digital illustration",
    "3d_render": "Detailed 3D render",
    "minimal_flat": "Minimal flat design illustration",
    "artistic": "Painterly artistic image",
    "cartoon": "Stylised cartoon image",
}


def _image_prompts(v: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    title = str(v.get("title") or "the article").strip()
    count = _int(v.get("max_images"), 4, 1, 8)
    style = _STYLE_PHRASES.get(str(v.get("image_style") or ""), "Ultra realistic photograph")
    headings = [re.sub(r"<[^>]+>", "", h).strip()
                for h in re.findall(r"<h2[^>]*>(.*?)</h2>", str(v.get("content") or ""), flags=re.S | re.I)]
    headings = [html.unescape(h) for h in headings if h and "FAQ" not in h]
    mark = _marker(str(v.get("language") or "en"))
    bare = title.removeprefix(mark)
    images = [{"prompt": f"{style} for an article titled \"{bare}\", wide composition, natural light, "
                         "no text in the image",
               "alt_text": _clip(mark + bare, 255), "caption": _clip(f"{mark}{bare}: an overview.", 500),
               "position": 0, "is_featured": True}]
    for position, heading in enumerate(headings[: count - 1], start=1):
        images.append({"prompt": f"{style} illustrating \"{heading}\" in the context of {title.lower()}, "
                                 "clean background, no text in the image",
                       "alt_text": _clip(mark + heading, 255), "caption": _clip(f"{mark}{heading}.", 500),
                       "position": position, "is_featured": False})
    return {"images": images}


_STAGE_BUILDERS = {
    "clustering": _clustering,
    "ideas": _ideas,
    "content_generation": _content,
    "image_prompts": _image_prompts,
    "content_optimization": offline_optimizer.optimize,
}


def _plain_answer(prompt: str, rng: random.Random) -> str:
    topic = " ".join(w for w in _words(prompt) if w not in _STOPWORDS)[:80] or "the request"
    return (f"[offline] A short answer about {topic}. This text was written by the offline provider "
            "because no AI provider key is configured.")


# --- any other schema: a minimal valid instance --------------------------------------------

def _instance(schema: type[BaseModel]) -> Any:
    spec = schema.model_json_schema()
    return _from_schema(spec, spec.get("$defs", {}))


def _from_schema(spec: dict[str, Any], defs: dict[str, Any]) -> Any:
    if "$ref" in spec:
        return _from_schema(defs[spec["$ref"].rsplit("/", 1)[-1]], defs)
    if "default" in spec:
        return spec["default"]
    if "enum" in spec:
        return spec["enum"][0]
    if "anyOf" in spec:
        return _from_schema(next((s for s in spec["anyOf"] if s.get("type") != "null"), spec["anyOf"][0]), defs)
    kind = spec.get("type")
    if kind == "object":
        props = spec.get("properties", {})
        return {name: _from_schema(sub, defs) for name, sub in props.items()}
    if kind == "array":
        return [_from_schema(spec.get("items", {}), defs) for _ in range(max(1, spec.get("minItems", 1)))]
    if kind == "string":
        return "offline"[: spec.get("maxLength", 7)].ljust(spec.get("minLength", 0), "x")
    if kind == "integer":
        return int(spec.get("minimum", min(1, spec.get("maximum", 1))))
    if kind == "number":
        return float(spec.get("minimum", 1.0))
    if kind == "boolean":
        return False
    return None
