"""Chaos: the whole pipeline on DynamoDB Local with every message delivered twice, 20% of AI and
WordPress calls failing, and workers killed at random points; then the invariants.

``make test`` runs the fast profile (one seed, 30 keywords); ``make chaos`` the full one
(CHAOS_PROFILE=full: more keywords, several seeds). See docs/chaos-and-load.md.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.chaos.harness import Profile, describe, run_chaos, summary_line

pytestmark = [pytest.mark.chaos, pytest.mark.ddb_local]

FULL = os.environ.get("CHAOS_PROFILE", "fast") == "full"
SEEDS = [int(s) for s in os.environ.get("CHAOS_SEEDS", "1,2,3" if FULL else "1").split(",")]
KEYWORDS = int(os.environ.get("CHAOS_KEYWORDS", "100" if FULL else "30"))


@pytest.mark.parametrize("seed", SEEDS)
def test_the_pipeline_survives_the_storm(chaos_aws, monkeypatch, report, seed):
    outages = ("generate_ideas", "generate_content") if FULL else ("generate_content",)
    title = f"chaos ({'full' if FULL else 'fast'} profile), seed {seed}"
    summary: dict[str, int] = {}
    try:
        _run, figures = run_chaos(Profile(seed=seed, keywords=KEYWORDS, outage_stages=outages), monkeypatch, summary)
    except BaseException:
        if summary:  # the storm is over but a check failed: the summary line all the same
            report(f"{title} (FAILED)", [summary_line(seed, summary)])
        raise
    report(title, describe(figures))  # its last line: the summary
    out = os.environ.get("CHAOS_FIGURES")
    if out:
        with open(out, "a") as f:
            f.write(json.dumps(figures) + "\n")
    # the storm really happened
    assert figures["duplicates_sent"] >= figures["job_items"]
    assert sum(figures["ai_failed"].values()) > 0 and sum(figures["wp_failed"].values()) > 0
    assert figures["kills"] > 0
    # nothing lost, nothing stuck, nothing twice
    assert (summary["orphan_media"], summary["stuck_items"], summary["double_charges"],
            summary["duplicate_posts"]) == (0, 0, 0, 0), summary
