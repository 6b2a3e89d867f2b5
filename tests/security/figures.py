"""Figures the security and fuzz suites print at the end of a run (routes x roles, cases...)."""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

FIGURES: dict[str, dict[str, Any]] = defaultdict(dict)


def security_profile() -> str:
    """``SECURITY_PROFILE=full`` (make test-security) or ``fast`` (the default, in make test)."""
    value = os.environ.get("SECURITY_PROFILE", "fast").strip().lower()
    return "full" if value == "full" else "fast"


def fuzz_profile() -> str:
    """``FUZZ_PROFILE=full`` (make fuzz: the running local stack) or ``fast`` (in-process, in make test)."""
    value = os.environ.get("FUZZ_PROFILE", "fast").strip().lower()
    return "full" if value == "full" else "fast"


def record(suite: str, **values: Any) -> None:
    """Add (numbers) or set (anything else) figures of one suite."""
    figures = FIGURES[suite]
    for name, value in values.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            figures[name] = figures.get(name, 0) + value
        else:
            figures[name] = value


def report_lines() -> list[str]:
    lines = []
    for suite in sorted(FIGURES):
        values = ", ".join(f"{name} {value}" for name, value in FIGURES[suite].items())
        lines.append(f"{suite}: {values}")
    return lines


def fuzz_examples(fast: tuple[int, int], full: tuple[int, int]) -> tuple[int, int]:
    """(positive, negative) cases per operation: FUZZ_EXAMPLES="P,N" overrides the profile's."""
    override = os.environ.get("FUZZ_EXAMPLES", "").strip()
    if override:
        positive, _, negative = override.partition(",")
        return int(positive), int(negative or 0)
    return full if fuzz_profile() == "full" else fast
