"""Internal linking quality on Banking77, against a TF-IDF cosine baseline; and reads per linked article.

Corpus: ``infra/bench/data/banking77-test.csv`` (or the file ``BENCH_LINKING_DATA`` names, same CSV
format): each intent's 40 texts make ARTICLES_PER_LABEL articles of TEXTS_PER_ARTICLE texts (one paragraph
each, the first text is the title), so every article has ARTICLES_PER_LABEL - 1 targets of its own label.
Labels are read only to score: the linker sees text.

- linker: the product's code path on that corpus: article vectors and salient terms
  (``linker.rank``), keyword clusters from ``clustering.cluster`` over the articles' vectors, the
  cluster graph (``linker.graph``), candidates = the article's cluster and its nearest clusters,
  ``rank.rank`` then ``anchors.place`` (anchors from the article's own sentences, at most
  ``anchors.MAX_LINKS``).
- tfidf-cosine: scikit-learn ``TfidfVectorizer`` over the whole corpus, the 3 most similar articles
  (no anchors, no threshold).

precision = links whose target has the source's label / all links; coverage@3 = share of articles with
at least 3 such links (every article has 4 same-label targets).

Reads per linked article: ``infra/bench/linking_reads.py``.

Standalone: ``PYTHONPATH=. .venv/bin/python -m infra.bench.linking``.
"""

from __future__ import annotations

import csv
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from chalicelib.services import clustering
from chalicelib.services.linker import anchors, graph, rank
from chalicelib.services.optimizer.document import read
from infra.bench.datasets import dataset

DATA_FILE = "banking77-test.csv"
DATA_ENV = "BENCH_LINKING_DATA"
ARTICLES_PER_LABEL = 5
TEXTS_PER_ARTICLE = 8
BASELINE_K = 3


def load(path: Path | None = None) -> list[tuple[str, list[str]]]:
    """(label, texts) per article, in a stable order."""
    path = path or dataset(DATA_FILE, DATA_ENV)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if rows[0][:2] != ["text", "category"]:
        raise ValueError(f"unexpected header in {path}: {rows[0]}")
    by_label: dict[str, list[str]] = defaultdict(list)
    for text, label in rows[1:]:
        by_label[label].append(" ".join(text.split()))
    articles = []
    for label in sorted(by_label):
        texts = by_label[label]
        for n in range(ARTICLES_PER_LABEL):
            chunk = texts[n * TEXTS_PER_ARTICLE:(n + 1) * TEXTS_PER_ARTICLE]
            if len(chunk) == TEXTS_PER_ARTICLE:
                articles.append((label, chunk))
    return articles


def _html(texts: list[str]) -> str:
    return "".join(f"<p>{t}</p>" for t in texts)


def _metrics(labels: list[str], links: list[list[int]]) -> dict[str, Any]:
    total = sum(len(x) for x in links)
    right = [sum(labels[j] == labels[i] for j in x) for i, x in enumerate(links)]
    return {"links": total, "precision": round(sum(right) / total, 3) if total else 0.0,
            "coverage@3": round(sum(r >= 3 for r in right) / len(links), 3),
            "links/article": round(total / len(links), 2)}


def run_linker(articles: list[tuple[str, list[str]]]) -> tuple[list[list[int]], dict[str, Any]]:
    started = time.perf_counter()
    profiles = []
    for n, (_, texts) in enumerate(articles):
        title, body = texts[0], " ".join(texts)
        profiles.append(rank.Profile(str(n), title, rank.vector_of(title, [], body),
                                     terms=rank.salient_terms(title, [], body)))
    made = clustering.cluster([p.vector for p in profiles])
    centroids = {str(c): made.centroids[c] for c in range(len(made.clusters))}
    for n, label in enumerate(made.labels):  # an outlier joins its nearest cluster, as assign_to_existing would
        profiles[n].cluster_id = str(label) if label >= 0 else max(
            centroids, key=lambda c: clustering.dot(profiles[n].vector, centroids[c]))
    near = graph.neighbours(centroids)
    members: dict[str, list[rank.Profile]] = defaultdict(list)
    for p in profiles:
        members[p.cluster_id].append(p)
    links, candidates_seen = [], 0
    for n, (_, texts) in enumerate(articles):
        source = profiles[n]
        candidates = [p for c in [source.cluster_id, *near[source.cluster_id]] for p in members[c]]
        candidates_seen += len(candidates)
        placed = anchors.place(read(_html(texts)), rank.rank(source, candidates))
        links.append([int(p.target_id) for p in placed])
    return links, {"clusters": len(centroids), "candidates/article": round(candidates_seen / len(articles), 1),
                   "seconds": round(time.perf_counter() - started, 2)}


def run_baseline(articles: list[tuple[str, list[str]]]) -> tuple[list[list[int]], dict[str, Any]]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    started = time.perf_counter()
    matrix = TfidfVectorizer().fit_transform([" ".join(t) for _, t in articles])
    similarity = (matrix @ matrix.T).toarray()
    links = []
    for i in range(len(articles)):
        similarity[i][i] = -1.0
        links.append(sorted(range(len(articles)), key=lambda j: (-similarity[i][j], j))[:BASELINE_K])
    return links, {"seconds": round(time.perf_counter() - started, 2)}


def run() -> dict[str, Any]:
    articles = load()
    labels = [label for label, _ in articles]
    ours, ours_info = run_linker(articles)
    base, base_info = run_baseline(articles)
    rows = [{"method": "linker", "articles": len(articles), **_metrics(labels, ours), **ours_info},
            {"method": f"tfidf-cosine top{BASELINE_K}", "articles": len(articles), **_metrics(labels, base),
             **base_info}]
    return {"title": "Internal linking on Banking77: the linker against a TF-IDF cosine baseline",
            "rows": rows,
            "notes": [f"{ARTICLES_PER_LABEL} articles per label of {TEXTS_PER_ARTICLE} texts; targets: precision "
                      ">= 0.9, coverage@3 >= 0.9, both above the baseline"]}


if __name__ == "__main__":
    from infra.bench.__main__ import format_table

    result = run()
    print(result["title"])
    print(format_table(result["rows"]))
