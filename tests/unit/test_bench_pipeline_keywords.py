"""The pipeline bench's keywords: each further 100 is the first 100 in a vocabulary of its own."""

from __future__ import annotations

from infra.bench.pipeline import bench_keywords
from infra.demo_data import synthetic_keywords


def test_1000_keywords_are_ten_disjoint_copies_of_the_first_100() -> None:
    rows = bench_keywords(1000)
    keywords = [r["keyword"] for r in rows]
    assert len(set(keywords)) == 1000
    assert rows[:100] == synthetic_keywords(100)
    words = [{w for k in keywords[i:i + 100] for w in k.split() if not w.isdigit()} for i in range(0, 1000, 100)]
    for a in range(10):
        for b in range(a + 1, 10):
            assert not words[a] & words[b], (a, b, sorted(words[a] & words[b])[:5])
    assert bench_keywords(250)[200:] == rows[200:250]


def test_10000_keywords_are_100_disjoint_vocabularies() -> None:
    keywords = [r["keyword"] for r in bench_keywords(10_000)]
    assert len(set(keywords)) == 10_000
    owner: dict[str, int] = {}
    for n in range(100):
        for word in {w for k in keywords[n * 100:(n + 1) * 100] for w in k.split() if not w.isdigit()}:
            assert owner.setdefault(word, n) == n, (word, owner[word], n)
    assert bench_keywords(2600) == bench_keywords(10_000)[:2600]  # the first 26 vocabularies as before
