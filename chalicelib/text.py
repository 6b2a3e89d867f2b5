"""Keyword text forms shared by models and services (no imports beyond the standard library)."""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")


def clean_keyword(text: str) -> str:
    """The display form: NFKC, invisible format/control characters removed, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) not in ("Cf", "Cc"))
    return _SPACE.sub(" ", text).strip()


def normalize_keyword(text: str) -> str:
    """The uniqueness form: the display form, case-folded (and NFKC again, as casefold may denormalise)."""
    return unicodedata.normalize("NFKC", clean_keyword(text).casefold())
