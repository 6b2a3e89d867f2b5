"""Keyword clustering quality and time on Banking77, ours against scikit-learn's TF-IDF + KMeans.

Data: ``infra/bench/data/banking77-test.csv`` (3,080 short bank-customer queries, 77 intents
of 40 each; source, licence CC BY 4.0 and attribution in that folder's README), or the file
``BENCH_CLUSTERING_DATA`` names. Rows:

- ours: offline lexical embedder -> ``chalicelib.services.clustering.cluster`` with its
  defaults (no k: the threshold decides; outliers get -1 and count as singleton clusters
  in the metrics, which is how they would be stored: unclustered).
- tfidf+kmeans: ``TfidfVectorizer()`` + ``KMeans(n_clusters=77, random_state=0)``, told the
  true number of clusters; ``n_init`` left at its default.
- ours on the first 1,000 texts: the same, for the time at a typical import size.
- kmeans on our vectors: the same KMeans (k=77) on the offline embeddings after
  ``prepare``: separates what the embedder gives from what the algorithm gives.
- assign: cluster the even rows, then ``assign_to_existing`` the odd rows to their
  centroids at the default threshold: the share matched and how often the match is the
  cluster's majority intent (set beside the clusters' own purity).

NMI and ARI come from ``sklearn.metrics`` for every row. Times are wall and CPU seconds of
one run (this process, one core for ours); the embedding time is shown apart.
scikit-learn is a dev-only dependency (requirements-dev.txt), never shipped to Lambda.

Standalone: ``PYTHONPATH=. .venv/bin/python -m infra.bench.clustering``.
"""

from __future__ import annotations

import csv
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from infra.bench.datasets import dataset

DATA_FILE = "banking77-test.csv"
DATA_ENV = "BENCH_CLUSTERING_DATA"
KMEANS_SEED = 0
SUBSET = 1_000  # the size of a large keyword import: its time is the figure that matters most


def load(path: Path | None = None) -> tuple[list[str], list[str]]:
    path = path or dataset(DATA_FILE, DATA_ENV)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    if header[:2] != ["text", "category"]:
        raise ValueError(f"unexpected header in {path}: {header}")
    return [r[0] for r in body], [r[1] for r in body]


def _singletons(labels: list[int]) -> list[int]:
    """Outliers (-1) become clusters of one: the metrics must not lump them together."""
    out, fresh = [], max(labels, default=-1) + 1
    for label in labels:
        if label < 0:
            label, fresh = fresh, fresh + 1
        out.append(label)
    return out


def _timed(fn: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _row(name: str, truth: list[str], predicted: list[int], wall: float, cpu: float, **extra: Any) -> dict[str, Any]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    outliers = sum(1 for p in predicted if p < 0)
    flat = _singletons(predicted)
    return {"method": name, "nmi": round(normalized_mutual_info_score(truth, flat), 3),
            "ari": round(adjusted_rand_score(truth, flat), 3),
            "clusters": len({p for p in predicted if p >= 0}), "outliers": round(outliers / len(predicted), 3),
            "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), **extra}


def _assignment(vectors: list[list[float]], truth: list[str]) -> dict[str, Any]:
    from chalicelib.services.clustering import DEFAULT_ASSIGN_THRESHOLD, assign_to_existing, cluster

    old, new = list(range(0, len(vectors), 2)), list(range(1, len(vectors), 2))
    made = cluster([vectors[i] for i in old])
    majority = [Counter(truth[old[i]] for i in group).most_common(1)[0][0] for group in made.clusters]
    purity = sum(truth[old[i]] == majority[c] for c, group in enumerate(made.clusters) for i in group)
    purity /= max(1, sum(map(len, made.clusters)))
    matched, wall, cpu = _timed(lambda: assign_to_existing([vectors[i] for i in new], made.centroids))
    hits = [(i, c) for i, c in zip(new, matched, strict=True) if c is not None]
    precision = sum(truth[i] == majority[c] for i, c in hits) / max(1, len(hits))
    return {"method": f"assign odd rows to even rows' clusters (threshold {DEFAULT_ASSIGN_THRESHOLD})",
            "matched": round(len(hits) / len(new), 3), "match_precision": round(precision, 3),
            "cluster_purity": round(purity, 3), "clusters": len(made.clusters),
            "wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}


def _dot_microseconds(dims: int, repeats: int = 20_000) -> float:
    """CPU time of one pure-Python dot product here: the unit our clustering's cost is made of,
    so figures from a busy or slow machine can be scaled."""
    from chalicelib.services.clustering import dot

    rng = random.Random(0)  # varied values: a list of one repeated float runs at another speed
    a, b = [rng.uniform(-1, 1) for _ in range(dims)], [rng.uniform(-1, 1) for _ in range(dims)]
    started = time.process_time()
    for _ in range(repeats):
        dot(a, b)
    return (time.process_time() - started) / repeats * 1e6


def run() -> dict[str, Any]:
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    from chalicelib.ai.providers.offline_provider import EMBEDDING_DIMENSIONS, embed_text
    from chalicelib.services.clustering import DEFAULT_THRESHOLD, cluster, prepare

    texts, truth = load()
    k = len(set(truth))
    vectors, embed_wall, _ = _timed(lambda: [embed_text(t) for t in texts])
    ours, wall, cpu = _timed(lambda: cluster(vectors))
    rows = [_row("ours: offline embedder + clustering.cluster", truth, ours.labels, wall, cpu,
                 embed_s=round(embed_wall, 2))]
    subset, sub_wall, sub_cpu = _timed(lambda: cluster(vectors[:SUBSET]))
    rows.append(_row(f"ours on the first {SUBSET:,} texts", truth[:SUBSET], subset.labels, sub_wall, sub_cpu))

    def tfidf_kmeans() -> list[int]:
        matrix = TfidfVectorizer().fit_transform(texts)
        return [int(x) for x in KMeans(n_clusters=k, random_state=KMEANS_SEED).fit_predict(matrix)]

    labels, wall, cpu = _timed(tfidf_kmeans)
    rows.append(_row(f"scikit-learn TF-IDF + KMeans (k={k})", truth, labels, wall, cpu))

    prepared = prepare(vectors)
    labels, wall, cpu = _timed(
        lambda: [int(x) for x in KMeans(n_clusters=k, random_state=KMEANS_SEED).fit_predict(prepared)])
    rows.append(_row(f"KMeans (k={k}) on our prepared vectors", truth, labels, wall, cpu))
    rows.append(_assignment(vectors, truth))
    largest = max(map(len, ours.clusters), default=0)
    unit = _dot_microseconds(EMBEDDING_DIMENSIONS)
    notes = [f"Banking77 test split: {len(texts)} texts, {k} labelled intents; offline embedder "
             f"{EMBEDDING_DIMENSIONS} dims, embedding all texts took {embed_wall:.2f}s",
             f"ours: threshold {DEFAULT_THRESHOLD}, no k given; outliers count as singleton clusters in NMI/ARI; "
             f"largest cluster {largest} texts",
             "KMeans rows are given the true k; ours is not. Times are one run: cpu_s is this process's CPU "
             f"time; a {EMBEDDING_DIMENSIONS}-d pure-Python dot product took {unit:.1f} us of CPU here "
             "(ours costs about 350k of them for the 3,080 texts, so its time scales with that figure)",
             "match_precision: share of matched rows whose intent is the majority intent of the cluster "
             "they joined; cluster_purity is the same measure for the clusters' own members"]
    return {"title": "Keyword clustering on Banking77: ours vs TF-IDF + KMeans", "rows": rows, "notes": notes}


def main() -> None:
    from infra.bench.__main__ import format_table

    started = time.perf_counter()
    result = run()
    print(f"{result['title']}  ({time.perf_counter() - started:.1f}s)")
    print(format_table(result["rows"]))
    for note in result["notes"]:
        print(f"  note: {note}")


if __name__ == "__main__":
    main()
