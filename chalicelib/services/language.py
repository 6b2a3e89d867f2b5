"""Language tags (BCP 47, RFC 5646): the one check every field holding a language goes through."""

from __future__ import annotations

import re

from chalicelib.errors import UnprocessableEntity

# language[-script][-region](-variant)*(-extension)*[-privateuse], or a private-use tag alone.
# The primary language is an ISO 639 code (2-3 letters): the 4-8 letter form RFC 5646 reserves
# is registered for no language, and accepting it would let "english" through.
_BCP47 = re.compile(
    r"^(?:(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3})"
    r"(?:-[A-Za-z]{4})?"
    r"(?:-(?:[A-Za-z]{2}|\d{3}))?"
    r"(?:-(?:[A-Za-z\d]{5,8}|\d[A-Za-z\d]{3}))*"
    r"(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z\d]{2,8})+)*"
    r"(?:-x(?:-[A-Za-z\d]{1,8})+)?"
    r"|x(?:-[A-Za-z\d]{1,8})+)$")

NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
         "nl": "Dutch", "pl": "Polish", "sv": "Swedish", "da": "Danish", "fi": "Finnish", "nb": "Norwegian",
         "cs": "Czech", "tr": "Turkish", "ru": "Russian", "uk": "Ukrainian", "ja": "Japanese", "zh": "Chinese",
         "ko": "Korean", "ar": "Arabic", "he": "Hebrew", "hi": "Hindi", "el": "Greek", "ro": "Romanian",
         "hu": "Hungarian"}


def is_language_tag(tag: object) -> bool:
    return isinstance(tag, str) and len(tag) <= 35 and bool(_BCP47.match(tag))


def check_language(tag: str, field: str = "language") -> str:
    """The tag as given; 422 naming ``field`` when it is not a well-formed BCP 47 tag."""
    if not is_language_tag(tag):
        raise UnprocessableEntity(f"{tag!r} is not a language tag (BCP 47, e.g. en, de-AT, pt-BR, zh-Hant).",
                                  code="invalid_language", details=[{"field": field, "message": "not a BCP 47 tag"}])
    return tag


def language_name(tag: str) -> str:
    """How a prompt names the language: "German (de-AT)"."""
    name = NAMES.get(tag.split("-", 1)[0].lower())
    return f"{name} ({tag})" if name else tag
