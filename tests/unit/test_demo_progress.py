"""The demo's job progress line and summary (no stack needed)."""

from __future__ import annotations

import io

from infra.demo import Demo, Http, Progress, _progress, summary


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _job(done: int, failed: int = 0, credits: int = 0, status: str = "running") -> dict:
    return {"stage": "cluster_keywords", "status": status, "total": 2, "done": done, "failed": failed,
            "skipped": 0, "credits_spent": credits}


def test_on_a_terminal_the_line_is_rewritten_in_place_and_cleared() -> None:
    out = _Tty()
    progress = Progress(out)
    progress.update(*_progress(_job(0), 0.1))
    progress.update(*_progress(_job(1, credits=3), 0.6))
    progress.say("! clustering item x failed (boom): provider down")
    progress.finish(*_progress(_job(2, credits=3, status="completed"), 1.0))
    text = out.getvalue()
    assert "\rclustering" not in text  # indented
    assert "\r      clustering 1/2 done, 0 failed, 3 credits (0.6s)\033[K" in text
    assert "! clustering item x failed (boom): provider down\n" in text
    assert text.endswith("\r\033[K") or text.endswith("\n")
    assert "\n      clustering" not in text  # progress never leaves lines behind


def test_without_a_terminal_lines_are_plain_and_only_when_the_counts_change() -> None:
    out = io.StringIO()
    progress = Progress(out, every=0.0, heartbeat=3600)
    for seconds in (0.1, 0.2, 0.3):
        progress.update(*_progress(_job(0), seconds))
    progress.update(*_progress(_job(1, credits=1), 0.4))
    progress.finish(*_progress(_job(2, credits=2, status="completed"), 0.5))
    lines = out.getvalue().splitlines()
    assert lines == ["      clustering 0/2 done, 0 failed, 0 credits (0.1s)",
                     "      clustering 1/2 done, 0 failed, 1 credit (0.4s)",
                     "      clustering 2/2 done, 0 failed, 2 credits (0.5s)"]
    assert "\r" not in out.getvalue() and "\033" not in out.getvalue()


def test_the_summary_line_has_counts_per_stage_credits_and_times() -> None:
    demo = Demo(Http("http://127.0.0.1:1"))
    demo.facts.update(account_id="acc", email="d@example.com", credits_spent={"idea": 8, "content": 3, "image": 1})
    for noun, n in (("site", 1), ("keyword", 250), ("cluster", 38), ("idea", 8), ("task", 8), ("article", 1),
                    ("image", 1)):
        demo.counts[noun] += n
    line = summary(demo, 31.04, 13.8, 50.44)
    assert line == ("demo: account acc (d@example.com), 1 site, 250 keywords, 38 clusters, 8 ideas, 8 tasks, "
                    "1 article, 1 image, 12 credits (idea 8, content 3, image 1) spent, API ok in 31.0s "
                    "(0 calls; stack up in 13.8s; total 50.4s)")
