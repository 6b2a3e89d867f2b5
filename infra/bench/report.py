"""What ``make bench`` writes besides each benchmark's own result: version info and a flat summary.

``bench.json`` = ``{"version": {...}, "summary": {...}, "<bench module>": <its result>, ...}``.
The summary holds each benchmark's headline figures under stable dotted names, so two runs
(two versions) compare key by key: ``python -m infra.bench --compare old-bench.json``.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def version_info(argv: list[str] | None = None) -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10,
                                  check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    changed = [line for line in git("status", "--porcelain").splitlines() if line.strip()]
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "git_commit": git("rev-parse", "HEAD") or None,
        "git_describe": git("describe", "--always", "--dirty") or None,
        "git_changed_files": len(changed),
        "date": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "machine": {"platform": platform.platform(), "machine": platform.machine(),
                    "processor": platform.processor() or None, "cpus": os.cpu_count(), "memory_gb": memory,
                    "python": sys.version.split()[0]},
        "argv": list(argv or []),
    }


def _num(value: Any) -> float | int | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def summarise(results: dict[str, Any]) -> dict[str, Any]:
    """Headline figures of every benchmark that ran, under stable names (missing benches: no keys)."""
    out: dict[str, Any] = {}
    routes = results.get("infra.bench.routes") or {}
    for row in routes.get("rows", []):
        key = f"route.{row['route']}.{row['backend']}"
        out[f"{key}.calls"] = row["calls"]
        if row["backend"] == "dynamodb_local":
            out[f"{key}.read_units"] = row.get("read_units")
            out[f"{key}.write_units"] = row.get("write_units")

    calls = results.get("infra.bench.dynamodb_calls") or {}
    for row in calls.get("rows", []):
        key = f"keywords.{row['operation']}.{row['backend']}"
        out[f"{key}.calls"] = row["calls"]
        out[f"{key}.capacity_units"] = row.get("capacity_units")
        out[f"{key}.seconds"] = row.get("seconds")

    generation = (results.get("infra.bench.generation") or {}).get("totals") or {}
    for name in ("articles", "in_range", "structure_ok", "all_images_alt", "all_images_captioned"):
        if name in generation:
            out[f"generation.{name}" + ("" if name == "articles" else "_percent")] = generation[name]

    pipeline = results.get("infra.bench.pipeline") or {}
    totals = pipeline.get("totals") or {}
    sizes = sorted(int(s) for s in totals)
    for size in sizes:
        t = totals[str(size)]
        key = f"pipeline.{size}"
        out[f"{key}.seconds"] = t.get("seconds")
        out[f"{key}.ddb_calls"] = t.get("ddb_calls")
        out[f"{key}.calls_per_keyword"] = t.get("calls_per_keyword")
        out[f"{key}.ms_per_keyword"] = t.get("ms_per_keyword")
        out[f"{key}.items_read_per_keyword"] = round(t["items_read"] / size, 1) if t.get("items_read") else None
        out[f"{key}.articles"] = t.get("articles")
    for small, large in pairwise(sizes):
        a, b = totals[str(small)], totals[str(large)]
        key = f"pipeline.growth.{large}/{small}"
        out[f"{key}.keywords"] = round(large / small, 2)
        for what in ("seconds", "ddb_calls", "items_read", "articles"):
            if _num(a.get(what)) and _num(b.get(what)) is not None:
                out[f"{key}.{what}"] = round(b[what] / a[what], 2)

    clustering = results.get("infra.bench.clustering") or {}
    for row in clustering.get("rows", []):
        method = str(row.get("method", ""))
        name = ("ours" if method.startswith("ours: ") else "tfidf_kmeans" if "TF-IDF" in method
                else "ours_subset" if method.startswith("ours on") else "kmeans_on_ours" if "prepared" in method
                else "assignment" if method.startswith("assign") else None)
        if name is None:
            continue
        for field in ("nmi", "ari", "clusters", "wall_s", "matched", "match_precision"):
            if field in row:
                out[f"clustering.{name}.{field}"] = row[field]

    package = results.get("infra.bench.package") or {}
    sizes_ = package.get("package") or {}
    if sizes_:
        out["package.zip_mb"] = round(sizes_["zip_bytes"] / 1e6, 2)
        out["package.unzipped_mb"] = round(sizes_["unzipped_bytes"] / 1e6, 1)
        out["package.lint_errors"] = sizes_.get("lint_errors")
    for label, timing in (package.get("import_seconds") or {}).items():
        out[f"package.import.{label}.app_ms"] = round(timing["app"] * 1000)
        out[f"package.import.{label}.ratio"] = timing.get("ratio")
    for label, timing in (package.get("plain_import_seconds") or {}).items():
        out[f"package.import_plain.{label}.app_ms"] = round(timing["app"] * 1000)
        out[f"package.import_plain.{label}.ratio"] = timing.get("ratio")
    for label, timing in (package.get("first_event_seconds") or {}).items():
        if isinstance(timing, dict):
            out[f"package.first_event.{label}.app_ms"] = round(timing["app"] * 1000)
            if timing.get("bare"):
                out[f"package.first_event.{label}.ratio"] = round(timing["app"] / timing["bare"], 2)
        elif _num(timing) is not None:
            out[f"package.first_event.{label}.app_ms"] = round(timing * 1000)

    memory = results.get("infra.bench.memory") or {}
    for row in memory.get("rows", []):
        key = f"memory.{row['class']}"
        out[f"{key}.mib_per_1000_requests"] = row.get("mib_per_1000_requests")
        out[f"{key}.requests"] = row.get("requests")
    if memory.get("all"):
        out["memory.all.mib_per_1000_requests"] = memory["all"].get("mib_per_1000_requests")
    if memory.get("warm_up"):
        out["memory.warm_up.traced_mib"] = memory["warm_up"].get("traced_mib")
        out["memory.warm_up.rss_mib"] = memory["warm_up"].get("rss_mib")
    if "dynamodb_clients" in memory:
        out["memory.dynamodb_clients"] = memory["dynamodb_clients"]

    for name, result in results.items():
        if isinstance(result, dict) and "seconds" in result:
            out[f"bench_seconds.{name.rsplit('.', 1)[-1]}"] = result["seconds"]
        if isinstance(result, dict) and "error" in result:
            out[f"failed.{name.rsplit('.', 1)[-1]}"] = result["error"][:200]
    return {k: v for k, v in out.items() if v is not None}


def summary_rows(summary: dict[str, Any], prefixes: tuple[str, ...] = ("pipeline.", "clustering.ours.",
                                                                         "clustering.tfidf", "package.",
                                                                         "memory.", "generation.")) -> list[dict]:
    """The headline table printed last: pipeline growth, clustering, package, memory (routes have their own)."""
    return [{"figure": k, "value": v} for k, v in summary.items() if k.startswith(prefixes)]


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Key by key: the old and new figure and new/old, for every numeric figure both runs have."""
    a, b = old.get("summary") or summarise(old), new.get("summary") or summarise(new)
    rows = []
    for key in sorted(set(a) | set(b)):
        x, y = _num(a.get(key)), _num(b.get(key))
        if x is None and y is None:
            continue
        rows.append({"figure": key, "old": x, "new": y, "new/old": round(y / x, 2) if x and y is not None else None})
    return rows
