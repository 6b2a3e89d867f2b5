"""AI providers. Each maps its API onto ``chalicelib.ai.types`` and ``chalicelib.ai.errors``."""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable

from chalicelib.ai.types import GeneratedImage

# Shapes of keys that must never travel in an error message, even when not ours.
_KEY_SHAPES = re.compile(r"(sk-[A-Za-z0-9_\-]{6,}|Bearer\s+[A-Za-z0-9._\-]{6,})")


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Remove secrets (and anything shaped like an API key) from text bound for logs or errors."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return _KEY_SHAPES.sub("[redacted]", text)


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare from these APIs; fall back to backoff


def image_from_bytes(data: bytes, width: int, height: int) -> GeneratedImage:
    """Wrap image bytes; PNG dimensions are read from the file, other formats taken as asked."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        real_width, real_height = struct.unpack(">II", data[16:24])
        return GeneratedImage(data, "image/png", real_width, real_height)
    if data[:3] == b"\xff\xd8\xff":
        return GeneratedImage(data, "image/jpeg", width, height)
    if data[8:12] == b"WEBP":
        return GeneratedImage(data, "image/webp", width, height)
    return GeneratedImage(data, "application/octet-stream", width, height)
