"""Hostile input, in-process: every JSON route gets bodies too large, too deep, not UTF-8 and with
absurd numbers; the keyword import gets huge and broken CSV and JSON. Each answer is a clear
4xx with the standard error body, and the memory one request takes (tracemalloc's peak) stays
bounded. The same cases run against the local stack in test_fuzz_stack.py (make fuzz).
"""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

import pytest

from tests.security import figures
from tests.security.hostile import MiB, check_answer, fixed_cases, per_route_cases, send_in_process
from tests.security.world import World

pytestmark = pytest.mark.fuzz

FULL = figures.fuzz_profile() == "full"
# A request may hold its body a few times over (raw bytes, text, parsed rows) but no more.
MEMORY_BOUND = 32 * MiB


def bound_for(size: int) -> int:
    return MEMORY_BOUND + 8 * size


def test_hostile_requests_get_a_clear_4xx_in_bounded_memory(module_api: Any, world: World) -> None:
    cases = [*per_route_cases(world, sample=1 if FULL else 5), *fixed_cases(world)]
    problems: dict[str, list[str]] = {}
    peaks: list[tuple[int, str, int]] = []
    started = time.monotonic()
    for case in cases:
        tracemalloc.start()
        try:
            status, headers, raw = send_in_process(module_api, case)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        found = check_answer(case, status, headers, raw)
        if peak > bound_for(case.size_hint):
            found.append(f"took {peak / MiB:.1f} MiB (bound {bound_for(case.size_hint) / MiB:.0f} MiB)")
        if found:
            problems[case.label] = found
        peaks.append((peak, case.label, status))
    peaks.sort(reverse=True)
    figures.record("hostile input (in-process)", cases=len(cases), seconds=round(time.monotonic() - started, 1),
                   peak_memory=f"{peaks[0][0] / MiB:.1f} MiB ({peaks[0][1]})",
                   second_peak=f"{peaks[1][0] / MiB:.1f} MiB ({peaks[1][1]})")
    assert not problems, "\n".join(f"{label}: {'; '.join(p)}" for label, p in problems.items())
