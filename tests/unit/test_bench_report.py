"""bench.json: every benchmark's result, the version it measured and a flat summary that compares."""

from __future__ import annotations

import json
import sys
import types

from infra.bench import __main__ as bench
from infra.bench import report

PIPELINE = {"title": "pipeline", "rows": [], "totals": {
    "100": {"seconds": 10.0, "ddb_calls": 2000, "items_read": 5000, "calls_per_keyword": 20.0,
            "ms_per_keyword": 100.0, "articles": 10},
    "1000": {"seconds": 110.0, "ddb_calls": 19000, "items_read": 60000, "calls_per_keyword": 19.0,
             "ms_per_keyword": 110.0, "articles": 100},
    "10000": {"seconds": 1300.0, "ddb_calls": 185000, "items_read": 700000, "calls_per_keyword": 18.5,
              "ms_per_keyword": 130.0, "articles": 1000}}}
CLUSTERING = {"rows": [
    {"method": "ours: offline embedder + clustering.cluster", "nmi": 0.687, "ari": 0.288, "clusters": 261,
     "wall_s": 6.0},
    {"method": "scikit-learn TF-IDF + KMeans (k=77)", "nmi": 0.589, "ari": 0.22, "clusters": 77, "wall_s": 0.6}]}
PACKAGE = {"package": {"zip_bytes": 9_900_000, "unzipped_bytes": 31_400_000, "lint_errors": 0},
           "import_seconds": {"as deployed (zip as built)": {"app": 0.8, "bare": 0.24, "ratio": 3.33}},
           "first_event_seconds": {"api": {"app": 1.2, "bare": 0.6}, "worker": 1.0}}
ROUTES = {"rows": [{"backend": "dynamodb_local", "class": "read", "route": "GET /me", "calls": 4, "read_units": 2.0,
                    "write_units": 0.0}]}
MEMORY = {"rows": [{"class": "read", "requests": 133, "mib_per_1000_requests": 0.117},
                   {"class": "job", "requests": 120, "mib_per_1000_requests": 0.201}],
          "all": {"requests": 253, "mib_per_1000_requests": 0.112}, "warm_up": {"traced_mib": 35.5, "rss_mib": 114.8},
          "dynamodb_clients": 1}


def test_the_summary_names_every_headline_figure():
    summary = report.summarise({"infra.bench.pipeline": PIPELINE, "infra.bench.clustering": CLUSTERING,
                                "infra.bench.package": PACKAGE, "infra.bench.routes": ROUTES,
                                "infra.bench.memory": MEMORY})
    assert summary["pipeline.1000.calls_per_keyword"] == 19.0
    assert summary["pipeline.growth.1000/100.seconds"] == 11.0
    assert summary["pipeline.growth.10000/1000.ddb_calls"] == 9.74
    assert summary["pipeline.growth.10000/1000.keywords"] == 10.0
    assert summary["clustering.ours.nmi"] == 0.687 and summary["clustering.tfidf_kmeans.ari"] == 0.22
    assert summary["package.zip_mb"] == 9.9 and summary["package.import.as deployed (zip as built).ratio"] == 3.33
    assert summary["package.first_event.api.ratio"] == 2.0 and summary["package.first_event.worker.app_ms"] == 1000
    assert summary["route.GET /me.dynamodb_local.read_units"] == 2.0
    assert summary["memory.read.mib_per_1000_requests"] == 0.117 and summary["memory.job.requests"] == 120
    assert summary["memory.all.mib_per_1000_requests"] == 0.112 and summary["memory.dynamodb_clients"] == 1
    assert summary["memory.warm_up.traced_mib"] == 35.5
    assert any(row["figure"] == "memory.job.mib_per_1000_requests" for row in report.summary_rows(summary))
    assert report.summarise({}) == {}


def test_compare_gives_new_over_old_for_each_figure():
    old = {"summary": {"a": 2, "b": 1.0, "gone": 3}}
    new = {"summary": {"a": 3, "b": 1.0, "new": 5}}
    rows = {r["figure"]: r for r in report.compare(old, new)}
    assert rows["a"]["new/old"] == 1.5 and rows["b"]["new/old"] == 1.0
    assert rows["gone"]["new"] is None and rows["new"]["old"] is None


def test_a_tiny_run_writes_bench_json_with_version_summary_and_each_result(tmp_path, monkeypatch, capsys):
    fake = types.ModuleType("infra.bench.fake_tiny")
    seen = {}

    def run(**kwargs):
        seen.update(kwargs)
        return {**PIPELINE, "title": "Tiny", "rows": [{"what": "x", "value": 1.5}], "notes": ["a note"]}

    fake.run = run
    broken = types.ModuleType("infra.bench.fake_broken")
    broken.run = lambda: (_ for _ in ()).throw(RuntimeError("boom"))
    monkeypatch.setitem(sys.modules, "infra.bench.fake_tiny", fake)
    monkeypatch.setitem(sys.modules, "infra.bench.fake_broken", broken)
    monkeypatch.setattr(bench, "BENCHES", ["infra.bench.fake_tiny", "infra.bench.fake_broken", "infra.bench.pipeline"])
    out = tmp_path / "bench.json"
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"summary": {"bench_seconds.fake_tiny": 1.0}}))

    code = bench.main(["--output", str(out), "--skip", "pipeline", "--compare", str(old)])

    assert code == 1  # one bench failed; the others' figures are still written
    document = json.loads(out.read_text())
    assert set(document) == {"version", "summary", "infra.bench.fake_tiny", "infra.bench.fake_broken"}
    version = document["version"]
    assert version["date"].endswith("Z") and version["machine"]["cpus"] >= 1 and version["machine"]["python"]
    assert "git_commit" in version and "git_changed_files" in version
    assert document["infra.bench.fake_tiny"]["rows"] == [{"what": "x", "value": 1.5}]
    assert document["infra.bench.fake_broken"] == {"error": "RuntimeError('boom')"}
    assert document["summary"]["failed.fake_broken"] and "bench_seconds.fake_tiny" in document["summary"]
    printed = capsys.readouterr().out
    assert "Tiny" in printed and "note: a note" in printed and "Compared with" in printed
    assert seen == {}  # options go to the pipeline bench only


def test_pipeline_sizes_reach_the_pipeline_bench(tmp_path, monkeypatch):
    fake = types.ModuleType("infra.bench.pipeline")
    seen = {}
    fake.run = lambda **kw: seen.update(kw) or {"title": "p", "rows": []}
    monkeypatch.setitem(sys.modules, "infra.bench.pipeline", fake)
    monkeypatch.setattr(bench, "BENCHES", ["infra.bench.pipeline"])
    assert bench.main(["--output", str(tmp_path / "b.json"), "--sizes", "10,20"]) == 0
    assert seen == {"sizes": [10, 20]}
    assert bench.PIPELINE_SIZES == "100,1000,10000"  # the full bench includes 10,000 keywords


def test_the_default_run_leaves_the_long_sizes_to_bench_full(tmp_path, monkeypatch):
    fake = types.ModuleType("infra.bench.pipeline")
    seen: list[dict] = []
    fake.run = lambda **kw: seen.append(kw) or {"title": "p", "rows": []}
    monkeypatch.setitem(sys.modules, "infra.bench.pipeline", fake)
    monkeypatch.setattr(bench, "BENCHES", ["infra.bench.pipeline"])
    assert bench.main(["--output", str(tmp_path / "a.json")]) == 0
    assert bench.main(["--output", str(tmp_path / "b.json"), "--full"]) == 0
    assert seen == [{"sizes": [100, 1000]}, {"sizes": [100, 1000, 10000]}]
    makefile = (bench.ROOT / "Makefile").read_text()
    assert "bench-full: setup\n\t$(PYTHON) -m infra.bench --full $(ARGS)" in makefile


def test_the_summary_names_both_registrations_import_figures():
    package = {**PACKAGE, "plain_import_seconds": {"all bytecode cached": {"app": 0.9, "bare": 0.2, "ratio": 4.5}}}
    summary = report.summarise({"infra.bench.package": package})
    assert summary["package.import_plain.all bytecode cached.ratio"] == 4.5
    assert summary["package.import_plain.all bytecode cached.app_ms"] == 900
    assert summary["package.import.as deployed (zip as built).ratio"] == 3.33
