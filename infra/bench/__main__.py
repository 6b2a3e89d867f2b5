"""``make bench``: run every benchmark module, print its table, write bench.json at the repo root.

A benchmark module has ``run() -> dict`` returning ``{"title": str, "rows": [dict, ...],
"notes": [str, ...]}``; the rows become a table (their keys are the columns). To add a
benchmark, write a module and add its name to ``BENCHES``.

bench.json also holds ``version`` (git commit, date, machine) and ``summary`` (each bench's
headline figures under stable names, ``infra.bench.report``); ``--compare OLD.json`` prints
new/old for every figure. The default run answers in minutes: the pipeline runs 100 and 1,000
keywords. ``--full`` (``make bench-full``) adds the long sizes (the 10,000-keyword pipeline, about
an hour on moto); ``--sizes 100,1000,10000`` sets the pipeline's keyword counts exactly;
``--skip NAME`` leaves a bench out.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from importlib import import_module
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

BENCHES: list[str] = [
    "infra.bench.dynamodb_calls",
    "infra.bench.package",
    "infra.bench.clustering",
    "infra.bench.pipeline",
    "infra.bench.routes",
    "infra.bench.memory",
    "infra.bench.generation",
]
PIPELINE_SIZES = "100,1000,10000"  # every size: --full (make bench-full)
DEFAULT_PIPELINE_SIZES = "100,1000"  # the default run, in minutes


def format_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "  (no rows)"
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  " + "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  " + "  ".join("-" * w for w in widths))
    for r in cells:
        lines.append("  " + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:,.1f}"
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m infra.bench", description="Run the benchmarks.")
    p.add_argument("--only", action="append", help="run only benchmark modules whose name contains this")
    p.add_argument("--output", type=Path, default=ROOT / "bench.json")
    p.add_argument("--skip", action="append", help="leave out benchmark modules whose name contains this")
    p.add_argument("--full", action="store_true",
                   help=f"the long sizes too: pipeline keyword counts {PIPELINE_SIZES}")
    p.add_argument("--sizes",
                   help=f"pipeline keyword counts (default {DEFAULT_PIPELINE_SIZES}; --full: {PIPELINE_SIZES})")
    p.add_argument("--compare", type=Path, help="an earlier bench.json: print new/old for every summary figure")
    args = p.parse_args(argv)
    from infra.bench import report

    results: dict[str, Any] = {}
    failed = False
    sizes = args.sizes or (PIPELINE_SIZES if args.full else DEFAULT_PIPELINE_SIZES)
    options: dict[str, dict[str, Any]] = {"infra.bench.pipeline": {"sizes": [int(s) for s in sizes.split(",")]}}
    for name in BENCHES:
        if args.only and not any(o in name for o in args.only):
            continue
        if args.skip and any(o in name for o in args.skip):
            continue
        started = time.perf_counter()
        try:
            result = import_module(name).run(**options.get(name, {}))
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            print(f"\n{name}: FAILED: {exc!r}", file=sys.stderr, flush=True)
            results[name] = {"error": repr(exc)}
            failed = True
            continue
        result.setdefault("seconds", round(time.perf_counter() - started, 2))
        results[name] = result
        print(f"\n{result.get('title', name)}  ({result['seconds']}s)")
        print(format_table(result.get("rows", [])))
        for note in result.get("notes", []):
            print(f"  note: {note}")
    summary = report.summarise(results)
    document = {"version": report.version_info(list(argv) if argv is not None else sys.argv[1:]),
                "summary": summary, **results}
    rows = report.summary_rows(summary)
    if rows:
        print("\nSummary (bench.json 'summary')")
        print(format_table(rows))
    if args.compare:
        old = json.loads(args.compare.read_text())
        print(f"\nCompared with {args.compare} ({(old.get('version') or {}).get('git_describe', 'unknown version')})")
        print(format_table(report.compare(old, document)))
    args.output.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"\nwrote {args.output}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
