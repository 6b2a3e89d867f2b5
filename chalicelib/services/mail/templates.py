"""The e-mails the product sends: a subject, a text body and an HTML body per template.

A template is two files of ``templates/``: ``<name>.txt`` (its first line ``Subject: ...``, a
blank line, then the text) and ``<name>.html`` (the HTML body, put inside ``_layout.html``).
Placeholders are ``string.Template``'s ``$name``; every one must be given (a missing value is a
``TemplateError`` when the mail is queued, not a mail with a hole in it), and values are
HTML-escaped in the HTML body.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template

TEMPLATE_DIR = Path(__file__).parent / "templates"
SUBJECT_PREFIX = "Subject: "
# Values every template may use without the caller giving them.
DEFAULTS = {"product": "Content Engine"}


class TemplateError(ValueError):
    """An unknown template, or data that does not fill it."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class _Source:
    subject: Template
    text: Template
    html: Template


def names() -> list[str]:
    """Every template there is."""
    return sorted(p.stem for p in TEMPLATE_DIR.glob("*.txt"))


@cache
def _source(name: str) -> _Source:
    if not name.replace("_", "").isalnum() or not (TEMPLATE_DIR / f"{name}.txt").exists():
        raise TemplateError(f"there is no e-mail template {name!r}")
    first, _, text = (TEMPLATE_DIR / f"{name}.txt").read_text().partition("\n")
    if not first.startswith(SUBJECT_PREFIX):
        raise TemplateError(f"template {name}.txt must start with a {SUBJECT_PREFIX!r} line")
    body = (TEMPLATE_DIR / f"{name}.html").read_text()
    layout = (TEMPLATE_DIR / "_layout.html").read_text()
    return _Source(subject=Template(first.removeprefix(SUBJECT_PREFIX).strip()), text=Template(text.lstrip("\n")),
                   html=Template(layout.replace("$content", body)))


def render(name: str, data: dict[str, str]) -> Rendered:
    """The template ``name`` filled with ``data``."""
    source = _source(name)
    data = {**DEFAULTS, **data}
    escaped = {k: html.escape(str(v)) for k, v in data.items()}
    try:
        subject = source.subject.substitute(data)
        # A subject is one line: a value with a line break must not add headers.
        return Rendered(subject=" ".join(subject.split()), text=source.text.substitute(data),
                        html=source.html.substitute({**escaped, "subject": html.escape(subject)}))
    except KeyError as exc:
        raise TemplateError(f"template {name!r} needs a value for {exc.args[0]!r}") from None
    except ValueError as exc:
        raise TemplateError(f"template {name!r}: {exc}") from None
