"""The benchmark data is in the repository, byte for byte as published, with its licence."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from infra.bench import clustering
from infra.bench.datasets import DATA_DIR, dataset

ROOT = Path(__file__).resolve().parents[2]
BANKING77_SHA256 = "d12d6e3bc4c3103966ae786dc435913c0c563dfa328f5a3646d0e62cfeeb474d"
BANKING77_BLOB = "799687a8367359432985b8b13d85a2baf73f92dd"


def test_banking77_is_committed_unchanged_and_needs_nothing_beside_the_clone(monkeypatch) -> None:
    monkeypatch.delenv(clustering.DATA_ENV, raising=False)
    path = dataset(clustering.DATA_FILE, clustering.DATA_ENV)
    assert path == DATA_DIR / "banking77-test.csv" and path.is_relative_to(ROOT)
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == BANKING77_SHA256
    assert subprocess.run(["git", "hash-object", str(path)], capture_output=True, text=True,
                          check=True).stdout.strip() == BANKING77_BLOB
    assert b"\r\n" in data  # git must not convert its line endings (infra/bench/data/.gitattributes)
    texts, labels = clustering.load()
    assert len(texts) == 3080 and len(set(labels)) == 77
    assert all(labels.count(label) == 40 for label in set(labels))


def test_the_readme_gives_source_licence_and_attribution() -> None:
    readme = (DATA_DIR / "README.md").read_text()
    for needle in ("PolyAI-LDN/task-specific-datasets", "CC BY 4.0", "Casanueva", BANKING77_SHA256, BANKING77_BLOB):
        assert needle in readme


def test_an_environment_variable_points_a_benchmark_at_another_file(monkeypatch, tmp_path: Path) -> None:
    other = tmp_path / "small.csv"
    other.write_text("text,category\nhello,greeting\nbye,farewell\n")
    monkeypatch.setenv(clustering.DATA_ENV, str(other))
    assert clustering.load() == (["hello", "bye"], ["greeting", "farewell"])
    monkeypatch.setenv(clustering.DATA_ENV, str(tmp_path / "missing.csv"))
    with pytest.raises(FileNotFoundError, match=clustering.DATA_ENV):
        clustering.load()
