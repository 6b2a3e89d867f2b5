"""Reading ease of prose, by the Flesch formula adapted to the content's language where one exists.

Each adaptation recalibrates the constants for its language's word and sentence lengths, so 60+
means "plain" in every one of them. Languages without a published adaptation get None (the
score leaves the factor out instead of judging them by English constants).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from chalicelib.services.optimizer.document import words

_VOWEL_GROUPS = re.compile(r"[aeiouyàâäáãåæèéêëìíîïòóôöõøœùúûüÿ]+")
_SENTENCES = re.compile(r"[.!?]+(?:\s|$)")

# (average sentence length in words, average syllables per word) -> reading ease
FORMULAS: dict[str, Callable[[float, float], float]] = {
    "en": lambda asl, asw: 206.835 - 1.015 * asl - 84.6 * asw,  # Flesch (1948)
    "de": lambda asl, asw: 180.0 - asl - 58.5 * asw,  # Amstad (1978)
    "fr": lambda asl, asw: 207.0 - 1.015 * asl - 73.6 * asw,  # Kandel & Moles (1958)
    "it": lambda asl, asw: 217.0 - 1.3 * asl - 60.0 * asw,  # Flesch-Vacca (1972), syllables per 100 words
    "nl": lambda asl, asw: 206.835 - 0.93 * asl - 77.0 * asw,  # Douma (1960)
}


def syllables(word: str) -> int:
    groups = len(_VOWEL_GROUPS.findall(word.lower()))
    if word.lower().endswith("e") and groups > 1 and not word.lower().endswith(("le", "ee")):
        groups -= 1  # English's silent final e; harmless elsewhere at this precision
    return max(1, groups)


def reading_ease(text: str, language: str) -> float | None:
    """The language's Flesch-style reading ease (higher is easier), or None without a formula or text."""
    formula = FORMULAS.get((language or "en").split("-")[0].lower())
    tokens = words(text)
    if formula is None or len(tokens) < 30:
        return None
    sentences = max(1, len(_SENTENCES.findall(text)))
    asl = len(tokens) / sentences
    asw = sum(syllables(w) for w in tokens) / len(tokens)
    return round(formula(asl, asw), 1)
