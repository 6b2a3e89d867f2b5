"""`make demo` for real: the local stack on free ports, the whole generation chain over HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from infra import demo

pytestmark = pytest.mark.e2e


def test_the_demo_runs_the_chain_from_keywords_to_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = demo.main(["--state-dir", str(tmp_path / "state")])
    out, err = capsys.readouterr()
    assert code == 0, f"{out}\n{err}"
    steps = [line for line in out.splitlines() if re.match(r"\s+\[\d+/\d+\]", line)]
    assert len(steps) == len(demo.STEPS), out
    *_, summary, console = out.strip().splitlines()
    assert summary.startswith("demo: account "), summary
    # it ends with where to see it all in a browser, and a sign-in that works there
    assert re.fullmatch(r"demo: Console: run `make run`, then open http://127\.0\.0\.1:8080/ and sign in as "
                        r"\S+@\S+ / \S+", console), console
    # every stage made something, the credits add up, and the run was timed
    for made in (r"\d+ keywords", r"\d+ clusters", r"\d+ ideas", r"\d+ tasks", r"\d+ articles?", r"\d+ images?",
                 r"\d+ credits \(idea \d+, content \d+, image \d+\) spent", r"total \d+\.\ds"):
        assert re.search(made, summary), (made, summary)
    assert "FAILED" not in err and "failed (" not in out, err
