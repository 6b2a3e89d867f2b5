"""Keyword clustering (chalicelib.services.clustering): determinism, no k, outliers, matching.

No timings here: the speed figures come from ``python -m infra.bench.clustering``.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter

import pytest

from chalicelib.ai.providers.offline_provider import embed_text
from chalicelib.services import clustering
from chalicelib.services.clustering import assign_to_existing, centroid, cluster, prepare


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector]


def _orthogonal(vector: list[float], basis: list[list[float]]) -> list[float]:
    for b in basis:
        projection = sum(x * y for x, y in zip(vector, b, strict=True))
        vector = [x - projection * y for x, y in zip(vector, b, strict=True)]
    return _unit(vector)


def _blobs(sizes: list[int], *, dims: int = 32, noise: float = 0.25, seed: int = 7) -> tuple[list, list[int]]:
    """Groups of vectors around random unit centres; returns (vectors, true group per vector).

    The centres are made orthogonal while the dimension allows it: random directions in
    few dimensions can be as close as cosine 0.3 or more, which is no longer "separated".
    """
    rng = random.Random(seed)
    vectors, truth, centres = [], [], []
    for group, size in enumerate(sizes):
        centre = _unit([rng.gauss(0, 1) for _ in range(dims)])
        if len(centres) < dims:
            centre = _orthogonal(centre, centres)
        centres.append(centre)
        for _ in range(size):
            vectors.append(_unit([c + rng.gauss(0, noise / math.sqrt(dims)) for c in centre]))
            truth.append(group)
    return vectors, truth


def _partition(labels: list[int], ids: list[int] | None = None) -> set[frozenset[int]]:
    ids = ids if ids is not None else list(range(len(labels)))
    groups: dict[int, set[int]] = {}
    for position, label in enumerate(labels):
        if label >= 0:
            groups.setdefault(label, set()).add(ids[position])
    return {frozenset(g) for g in groups.values()}


def _ari(truth: list[int], predicted: list[int]) -> float:
    """Adjusted Rand index by pair counting (outliers as singletons), as sklearn computes it."""
    fresh = max(predicted, default=0) + 1
    flat = []
    for p in predicted:
        flat.append(p if p >= 0 else fresh)
        fresh += p < 0

    def pairs(counts: Counter) -> float:
        return sum(c * (c - 1) / 2 for c in counts.values())
    joint = pairs(Counter(zip(truth, flat, strict=True)))
    a, b = pairs(Counter(truth)), pairs(Counter(flat))
    expected = a * b / (len(truth) * (len(truth) - 1) / 2)
    return (joint - expected) / ((a + b) / 2 - expected)


def _shuffled(vectors: list, seed: int) -> list[int]:
    order = list(range(len(vectors)))
    random.Random(seed).shuffle(order)
    return order


# --- edge cases ---------------------------------------------------------------------------

def test_no_items() -> None:
    result = cluster([])
    assert result.labels == [] and result.clusters == [] and result.centroids == []
    assert assign_to_existing([], [[1.0, 0.0]]) == []


def test_one_item_is_an_outlier() -> None:
    result = cluster([[0.3, 0.4, 0.5]])
    assert result.labels == [-1] and result.clusters == [] and result.outliers == [0]


def test_two_items_close_and_apart() -> None:
    assert cluster([[1.0, 0.0, 0.0], [0.99, 0.1, 0.0]]).labels == [0, 0]
    assert cluster([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]).labels == [-1, -1]


def test_identical_vectors_form_one_cluster() -> None:
    vector = [0.1 * i for i in range(1, 9)]
    result = cluster([list(vector) for _ in range(12)])
    assert result.labels == [0] * 12
    assert result.centroids[0] == centroid([vector])


def test_zero_vectors_are_outliers() -> None:
    vectors, _ = _blobs([5, 5], dims=8)
    zero = [0.0] * 8
    result = cluster([zero, *vectors, zero])
    assert result.labels[0] == result.labels[-1] == -1
    assert _partition(result.labels[1:-1]) == {frozenset(range(5)), frozenset(range(5, 10))}
    assert cluster([zero, zero]).labels == [-1, -1]
    assert prepare([zero, [1.0] * 8])[0] is None


def test_mixed_dimensions_are_rejected() -> None:
    with pytest.raises(ValueError):
        cluster([[1.0, 0.0], [1.0, 0.0, 0.0]])
    with pytest.raises(ValueError):
        assign_to_existing([[1.0, 0.0]], [[1.0, 0.0, 0.0]])


def test_min_size_turns_small_clusters_into_outliers() -> None:
    vectors, _ = _blobs([8, 2], dims=16)
    assert _partition(cluster(vectors).labels) == {frozenset(range(8)), frozenset({8, 9})}
    result = cluster(vectors, min_size=3)
    assert result.labels[8:] == [-1, -1] and _partition(result.labels) == {frozenset(range(8))}


# --- determinism --------------------------------------------------------------------------

def test_same_input_gives_identical_output() -> None:
    vectors, _ = _blobs([30, 20, 10, 5, 3] * 8, dims=24, noise=0.6, seed=3)
    first, second = cluster(vectors), cluster([list(v) for v in vectors])
    assert first == second


@pytest.mark.parametrize("size", ["small", "forest"])
def test_shuffled_input_gives_the_same_partition(size: str) -> None:
    # "forest": more items than trees x leaf size, so candidates come from the forest and
    # several rounds run; "small": all pairs are compared directly.
    groups = [6, 4, 3, 2] if size == "small" else [12, 9, 7, 5, 3] * 10
    vectors, _ = _blobs(groups, dims=24, noise=0.7, seed=11)
    assert size == "small" or len(vectors) > clustering.DEFAULT_TREES * clustering.DEFAULT_LEAF_SIZE
    expected = _partition(cluster(vectors).labels)
    for seed in (1, 2, 3):
        order = _shuffled(vectors, seed)
        result = cluster([vectors[i] for i in order])
        assert _partition(result.labels, order) == expected


def test_keys_fix_the_order_even_for_exact_ties() -> None:
    # Exact duplicates tie in every comparison (without keys the earlier item wins); with
    # keys the canonical order is the keys', so every input order gives the same result.
    vectors, _ = _blobs([5, 5, 4], dims=12, seed=5)
    vectors += [list(vectors[0]), list(vectors[0])]
    keys = [f"kw{i:02d}" for i in range(len(vectors))]
    expected = _partition(cluster(vectors, keys=keys).labels)
    for seed in (1, 2):
        order = _shuffled(vectors, seed)
        result = cluster([vectors[i] for i in order], keys=[keys[i] for i in order])
        assert _partition(result.labels, order) == expected


def test_labels_follow_first_appearance() -> None:
    vectors, _ = _blobs([4, 4, 4], dims=16)
    order = [8, 0, 4, 9, 1, 5, 10, 2, 6, 11, 3, 7]
    result = cluster([vectors[i] for i in order])
    assert result.labels[:3] == [0, 1, 2]
    assert all(group == sorted(group) for group in result.clusters)
    assert [result.labels[i] for i in result.clusters[1]] == [1] * 4


# --- clusters found without k, outliers kept apart ------------------------------------------

def test_separated_groups_are_found_without_k() -> None:
    sizes = [40, 25, 12, 7, 4, 2]
    vectors, truth = _blobs(sizes, dims=32, noise=0.3)
    result = cluster(vectors)
    assert len(result.clusters) == len(sizes)
    assert _partition(result.labels) == _partition(truth)
    assert result.outliers == []


def test_outliers_are_not_forced_into_groups() -> None:
    # 256 dimensions as the offline embedder: in very few dimensions random directions are
    # close by chance (cosine 0.3 is common in 32), and would rightly pair up.
    vectors, truth = _blobs([10, 10, 10], dims=256, noise=0.3, seed=2)
    rng = random.Random(99)
    strays = [_unit([rng.gauss(0, 1) for _ in range(256)]) for _ in range(6)]
    result = cluster(vectors + strays)
    assert result.labels[-6:] == [-1] * 6
    assert _partition(result.labels[:30]) == _partition(truth)


def test_quality_floor_on_a_noisy_synthetic_set() -> None:
    # Noisy groups of uneven sizes (members' cosine with each other about 0.4 on average,
    # some pairs near 0), enough items for the forest path. Measured ARI: 0.95.
    sizes = [random.Random(i).randint(3, 25) for i in range(40)]
    vectors, truth = _blobs(sizes, dims=48, noise=1.2, seed=21)
    result = cluster(vectors)
    assert _ari(truth, result.labels) >= 0.9
    assert len(result.outliers) <= 0.05 * len(vectors)


def test_keywords_through_the_offline_embedder() -> None:
    # Short SEO phrases: the default threshold must group by topic, not by shared stopwords.
    topics = {
        "shoes": ["best running shoes", "running shoes for women", "trail running shoes", "cheap running shoes"],
        "mortgage": ["mortgage rates today", "30 year fixed mortgage rates", "refinance mortgage rates"],
        "python": ["python tutorial for beginners", "python tutorial pdf", "learn python online"],
        "bread": ["banana bread recipe", "easy banana bread", "moist banana bread recipe"],
    }
    keywords = [k for group in topics.values() for k in group]
    result = cluster([embed_text(k) for k in [*keywords, "weather tomorrow", "cat litter box"]])
    assert _partition(result.labels) == {frozenset(keywords.index(k) for k in group) for group in topics.values()}
    assert result.outliers == [len(keywords), len(keywords) + 1]


# --- centroids and matching to existing clusters -----------------------------------------

def test_centroids_are_unit_rounded_and_serialisable() -> None:
    vectors, _ = _blobs([6, 6], dims=16)
    result = cluster(vectors)
    for c, members in zip(result.centroids, result.clusters, strict=True):
        assert c == centroid([vectors[i] for i in members])
        assert abs(math.sqrt(sum(x * x for x in c)) - 1) < 1e-5
        assert all(round(x, clustering.CENTROID_DIGITS) == x for x in c)
        assert json.loads(json.dumps(c)) == c
    assert centroid([]) == [] and centroid([[0.0, 0.0]]) == []
    assert centroid([[2.0, 0.0], [0.0, 5.0]]) == [0.707107, 0.707107]  # mean of directions, not of raw values


def test_assign_to_existing_matches_close_keywords_only() -> None:
    vectors, truth = _blobs([10, 10, 10], dims=32, noise=0.3, seed=4)
    old = [i for i in range(30) if i % 2 == 0]
    centroids = [centroid([vectors[i] for i in old if truth[i] == g]) for g in range(3)]
    new = [i for i in range(30) if i % 2]
    assert assign_to_existing([vectors[i] for i in new], centroids) == [truth[i] for i in new]
    stray = _unit([random.Random(5).gauss(0, 1) for _ in range(32)])
    assert assign_to_existing([stray, [0.0] * 32], centroids) == [None, None]
    assert assign_to_existing([vectors[1]], []) == [None]


def test_assign_to_existing_threshold_and_ties() -> None:
    assert assign_to_existing([[1.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]], threshold=0.7) == [0]  # tie: earlier
    assert assign_to_existing([[1.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]], threshold=0.8) == [None]
    assert assign_to_existing([[1.0, 0.2]], [[], [1.0, 0.0]], threshold=0.5) == [1]  # empty centroid skipped
    assert assign_to_existing([[3.0, 0.0]], [[0.5, 0.0]], threshold=1.0) == [0]  # cosine, not raw dot


def test_new_keywords_join_existing_clusters_before_new_ones_are_made() -> None:
    # The planner flow: match to the sector's clusters first, cluster only what is left.
    vectors, truth = _blobs([8, 8, 8, 8], dims=32, noise=0.3, seed=8)
    existing = [centroid([vectors[i] for i in range(16) if truth[i] == g]) for g in (0, 1)]
    matched = assign_to_existing(vectors, existing)
    assert matched == [truth[i] if truth[i] < 2 else None for i in range(32)]
    rest = [i for i, m in enumerate(matched) if m is None]
    result = cluster([vectors[i] for i in rest])
    assert _partition(result.labels, rest) == {frozenset(range(16, 24)), frozenset(range(24, 32))}


def test_all_pairs_and_forest_paths_agree_on_clear_groups() -> None:
    vectors, truth = _blobs([15] * 16, dims=32, noise=0.3, seed=13)
    forest = cluster(vectors)  # 240 items > 8 trees x 24: forest candidates
    exhaustive = cluster(vectors, leaf_size=len(vectors))  # every pair compared
    assert _partition(forest.labels) == _partition(exhaustive.labels) == _partition(truth)


def test_invalid_parameters() -> None:
    with pytest.raises(ValueError):
        cluster([[1.0]], min_size=0)
    with pytest.raises(ValueError):
        cluster([[1.0], [1.0]], keys=["a"])


def test_prepare_leaves_tiny_batches_almost_alone() -> None:
    a, b = _unit([1.0, 0.2, 0.0, 0.1]), _unit([0.9, 0.0, 0.3, 0.1])
    before = sum(x * y for x, y in zip(a, b, strict=True))
    pa, pb = prepare([a, b])
    after = sum(x * y for x, y in zip(pa, pb, strict=True))
    assert after > 0.5 * before  # centring two vectors fully would make them opposite
    assert all(abs(sum(x * x for x in v) - 1) < 1e-9 for v in (pa, pb))
