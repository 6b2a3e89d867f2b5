"""Keyword clustering: deterministic, no fixed k, outliers kept apart, stdlib only.

The Lambda package has no numpy, so everything here is plain Python, written so the hot
loops run in C (``sum(map(operator.mul, a, b))`` for dot products, ``map`` for vector sums).

Pipeline (``cluster``), on embedding vectors of any dimension:

1. ``prepare``: L2-normalise, subtract the batch mean and divide each dimension by its
   spread (both shrunk towards "no change" for small batches), L2-normalise again. The
   shared direction every text has (common words, the embedder's bias) is removed, so
   "unrelated" sits near cosine 0 and the threshold depends less on the embedder.
2. Candidates: a random-projection forest (sparse random directions from a fixed seed,
   rank-median splits); two items are candidates when they share a leaf in any tree:
   about n * trees * leaf_size / 2 exact cosines instead of n²/2.
3. Average linkage restricted to the candidate pairs: the two clusters with the highest
   mean cosine over all their cross pairs (exact, from cluster sum vectors) merge first,
   and merging stops below ``threshold``. No k: the threshold decides.
4. Rounds: the clusters of one round are the points of the next (candidates among their
   directions, exact linkage again), so a group the forest left in pieces is joined.
5. Clusters smaller than ``min_size`` are outliers (label -1): an item with no group
   close enough stays alone instead of being forced into one.

Determinism: the forest's directions come from ``seed`` (not from the data or its order),
the batch statistics use ``math.fsum`` (exactly rounded, so independent of order), and
every tie is broken by the item's position (in ``keys`` order when keys are given), so the
same input gives the same clusters and a shuffled input the same partition.

New keywords are matched to a sector's existing clusters with ``assign_to_existing``
before ``cluster`` is run on the rest; centroids (``centroid``) are the normalised mean of
the members' raw (unprepared) vectors, rounded so they store as a short list of numbers.
"""

from __future__ import annotations

import heapq
import math
import operator
import random
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat

Vector = Sequence[float]

# Tuned on Banking77 (docs/clustering.md): the mean cosine, after ``prepare``, between all
# cross pairs of two clusters must reach this for them to merge.
DEFAULT_THRESHOLD = 0.2
# Raw-space cosine (no batch statistics: stored centroids outlive the batch) between a new
# keyword and an existing cluster's centroid. Calibrated for the offline embedder.
DEFAULT_ASSIGN_THRESHOLD = 0.6
DEFAULT_MIN_SIZE = 2
DEFAULT_TREES = 8
DEFAULT_LEAF_SIZE = 24
DEFAULT_SEED = 20240229
CENTROID_DIGITS = 6
# Rounds of "cluster the clusters"; 3 or 4 on Banking77 (a round that merges little is the last).
MAX_ROUNDS = 8
MIN_ROUND_GAIN = 0.02
_DIRECTION_NONZEROS = 16
# Shrinkage of the batch statistics: a batch of n items moves n / (n + PRIOR_ITEMS) of the
# way to its own mean and spread, so a handful of keywords is left almost untouched
# (centering two vectors would make them point in opposite directions).
PRIOR_ITEMS = 20
# Each dimension's variance is blended with this share of the mean variance, so a nearly
# constant dimension (an unused hash bucket) is not blown up by dividing by ~0.
VARIANCE_FLOOR = 0.25

_dot = operator.mul
# Python 3.12+ has a C dot product (math.sumprod, about ten times faster); 3.11, this project's, does not.
_sumprod = getattr(math, "sumprod", None)


def dot(a: Vector, b: Vector) -> float:
    return sum(map(_dot, a, b)) if _sumprod is None else _sumprod(a, b)


def _normalised(vector: Vector) -> list[float] | None:
    norm = math.sqrt(dot(vector, vector))
    if not norm or not math.isfinite(norm):
        return None
    return list(map(_dot, vector, repeat(1.0 / norm)))


@dataclass(frozen=True)
class Clustering:
    """``labels[i]`` is item i's cluster (0..len(clusters)-1) or -1 for an outlier.

    Clusters are numbered in the order of their first member in the input, and
    ``clusters[c]`` lists the member positions in input order. ``centroids[c]`` is the
    rounded, normalised mean of the members' input vectors (see ``centroid``).
    """

    labels: list[int]
    clusters: list[list[int]]
    centroids: list[list[float]] = field(default_factory=list)

    @property
    def outliers(self) -> list[int]:
        return [i for i, label in enumerate(self.labels) if label < 0]


def _check(vectors: Sequence[Vector]) -> int:
    dims = {len(v) for v in vectors}
    if len(dims) > 1:
        raise ValueError(f"vectors have different dimensions: {sorted(dims)}")
    return dims.pop() if dims else 0


def prepare(vectors: Sequence[Vector], *, prior_items: float = PRIOR_ITEMS,
            variance_floor: float = VARIANCE_FLOOR) -> list[list[float] | None]:
    """Centre and rescale a batch, then L2-normalise; ``None`` for a zero vector.

    Subtracting the mean removes the direction all texts share (for the offline lexical
    embedder: stopwords and common trigrams); dividing by each dimension's spread is a
    cheap diagonal whitening that gives rare, discriminative features more say (like IDF
    does for TF-IDF). Both are shrunk towards the identity for small batches.
    """
    dims = _check(vectors)
    units = [_normalised(v) for v in vectors]
    present = [u for u in units if u is not None]
    n = len(present)
    if n < 2 or dims == 0:
        return units
    weight = n / (n + prior_items)
    columns = list(zip(*present, strict=True))
    means = [math.fsum(col) / n for col in columns]
    # fsum is exactly rounded, so E[x^2] - m^2 loses nothing to order or cancellation worth noting
    # at these magnitudes (|x| <= 1), and it keeps the pass in C.
    variances = [max(0.0, math.fsum(map(_dot, col, col)) / n - m * m) for col, m in zip(columns, means, strict=True)]
    mean_variance = math.fsum(variances) / dims
    if mean_variance <= 0.0:  # every vector identical: nothing to learn from the batch
        return units
    shift = [weight * m for m in means]
    # Blend each dimension's variance with the mean one (the floor), then with "no rescaling"
    # by the batch weight; the scales are relative to the mean spread, so the identity is 1.
    scale = [1.0 / math.sqrt((1 - weight) + weight * ((1 - variance_floor) * var / mean_variance + variance_floor))
             for var in variances]
    out: list[list[float] | None] = []
    for unit in units:
        if unit is None:
            out.append(None)
            continue
        moved = _normalised(list(map(_dot, map(operator.sub, unit, shift), scale)))
        # A vector equal to the mean has no direction left; keep its own rather than dropping it.
        out.append(moved if moved is not None else unit)
    return out


def _canonical_order(count: int, keys: Sequence[Hashable] | None) -> list[int]:
    if keys is None:
        return list(range(count))
    if len(keys) != count:
        raise ValueError("keys must have one entry per vector")
    return sorted(range(count), key=lambda i: (keys[i], i))  # type: ignore[index]


def _direction(seed: str, node: int, dims: int) -> tuple[operator.itemgetter, list[float]]:
    """A sparse random direction: Gaussian weights on a few coordinates.

    Sparse directions split as well as dense ones for this purpose (measured: same 10-NN
    recall on Banking77) and project four times faster. A string seed is hashed with
    SHA-512 by random.Random, so the direction is the same in every process.
    """
    rng = random.Random(f"{seed}:{node}")
    coordinates = sorted(rng.sample(range(dims), min(dims, _DIRECTION_NONZEROS)))
    weights = [rng.gauss(0.0, 1.0) for _ in coordinates]
    if len(coordinates) == 1:  # itemgetter of one index returns a scalar, not a tuple
        coordinates.append(coordinates[0])
        weights.append(0.0)
    return operator.itemgetter(*coordinates), weights


def _leaves(points: list[list[float]], *, trees: int, leaf_size: int, seed: str) -> Iterator[list[int]]:
    """Groups of items to compare pairwise: the leaves of a random-projection forest.

    Each node splits its items at the median of their projections on a random direction
    (by rank, so duplicates cannot make a leaf grow without bound). Nodes are numbered
    heap-style, so a node's direction depends on the seed and its place in the tree only,
    never on the data or its order. A batch no bigger than ``trees * leaf_size`` is one
    leaf: the forest would compare about as many pairs.
    """
    count = len(points)
    if count <= trees * leaf_size:
        yield list(range(count))
        return
    dims = len(points[0])
    for tree in range(trees):
        stack: list[tuple[int, list[int]]] = [(1, list(range(count)))]
        while stack:
            node, items = stack.pop()
            if len(items) <= leaf_size:
                yield sorted(items)
                continue
            pick, weights = _direction(f"{seed}:{tree}", node, dims)
            # (projection, index) pairs sort by projection, ties by index.
            ranked = sorted(zip([sum(map(_dot, pick(points[i]), weights)) for i in items], items, strict=True))
            half = len(ranked) // 2
            stack.append((2 * node, [i for _, i in ranked[:half]]))
            stack.append((2 * node + 1, [i for _, i in ranked[half:]]))


def _candidate_links(directions: list[list[float]], scales: list[float], threshold: float, *, trees: int,
                     leaf_size: int, seed: str) -> list[tuple[float, int, int, int, int]]:
    """Heap entries (-linkage, a, b, 0, 0), a < b, for candidate pairs linking at least ``threshold``.

    linkage = cos(direction_a, direction_b) * scale_a * scale_b. Pairs met in several trees
    are scored once; the dot product is inlined because this is the hot loop.
    """
    count = len(directions)
    seen: set[int] = set()  # a * count + b: one int a pair, a quarter of a tuple's memory
    entries: list[tuple[float, int, int, int, int]] = []
    for items in _leaves(directions, trees=trees, leaf_size=leaf_size, seed=seed):
        for position, a in enumerate(items):
            point, scale, base = directions[a], scales[a], a * count
            for b in items[position + 1:]:
                key = base + b
                if key in seen:
                    continue
                seen.add(key)
                link = (sum(map(_dot, point, directions[b])) if _sumprod is None
                        else _sumprod(point, directions[b])) * scale * scales[b]
                if link >= threshold:
                    entries.append((-link, a, b, 0, 0))
    return entries


def _average_linkage(sums: list[list[float]], sizes: list[int], heap: list[tuple[float, int, int, int, int]],
                     threshold: float) -> tuple[list[int], list[list[float]], list[int]]:
    """Average linkage restricted to candidate pairs, given as ``_candidate_links`` entries.

    Returns each group's representative (the smallest index of its cluster) and the sum
    vectors and sizes, valid at the representatives. The mean cosine between two clusters
    is sum_A . sum_B / (|A| |B|), exact from their sum vectors, so no pair matrix is kept.

    Evaluation is lazy: by the Lance-Williams identity a merged cluster's linkage to a third
    is the size-weighted mean of its parts', never more than the larger, so the outdated
    entries of its parts bound it from above; an entry is recomputed only when it reaches the
    top, and a fresh entry at the top is the best pair. A pair below the threshold is dropped:
    a later cluster containing it links less unless a part it was never compared with (not a
    candidate) pulls it up, which the next round of ``_multilevel`` looks for.
    """
    sums = list(sums)
    sizes = list(sizes)
    count = len(sums)
    parent = list(range(count))
    version = [0] * count
    pushed: dict[tuple[int, int], tuple[int, int]] = {}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def linkage(a: int, b: int) -> float:
        return dot(sums[a], sums[b]) / (sizes[a] * sizes[b])

    heapq.heapify(heap)
    while heap:
        _, a, b, version_a, version_b = heapq.heappop(heap)
        if parent[a] == a and parent[b] == b and version[a] == version_a and version[b] == version_b:
            # The smaller index survives so the representative does not depend on merge order.
            parent[b] = a
            sums[a] = list(map(operator.add, sums[a], sums[b]))
            sizes[a] += sizes[b]
            version[a] += 1
            continue
        a, b = sorted((root(a), root(b)))
        current = (version[a], version[b])
        if a == b or pushed.get((a, b)) == current:
            continue
        pushed[(a, b)] = current
        link = linkage(a, b)
        if link >= threshold:
            heapq.heappush(heap, (-link, a, b, *current))
    return [root(i) for i in range(count)], sums, sizes


def _multilevel(points: list[list[float]], *, threshold: float, trees: int, leaf_size: int,
                seed: int) -> list[int]:
    """Average linkage restricted to candidate pairs, repeated on the clusters found so far.

    Round 1 links items along their candidate pairs; a forest misses some true neighbours,
    which can leave a true group in a few pieces. Each next round takes the current clusters
    as points (the direction of their sum vector), finds candidate pairs among them the same
    way and links them again with the exact cluster-to-cluster mean cosine, so pieces meet.
    """
    owner = list(range(len(points)))  # item -> current cluster index
    sums = [list(p) for p in points]
    sizes = [1] * len(points)
    for level in range(MAX_ROUNDS):
        # A cluster's mean cosine with another is cos(sum_A, sum_B) |sum_A| |sum_B| / (|A| |B|):
        # candidates are found and scored on the directions, then rescaled.
        norms = [math.sqrt(dot(s, s)) for s in sums]
        directions = [list(map(_dot, s, repeat(1.0 / n))) if n else s for s, n in zip(sums, norms, strict=True)]
        scales = [n / size for n, size in zip(norms, sizes, strict=True)]
        entries = _candidate_links(directions, scales, threshold, trees=trees, leaf_size=leaf_size,
                                   seed=f"{seed}:{level}")
        roots, merged_sums, merged_sizes = _average_linkage(sums, sizes, entries, threshold)
        survivors = sorted(set(roots))  # smallest member first: canonical order is kept
        if len(survivors) == len(sums):
            break
        # A round that merged under 2% of the clusters means the candidates have settled; another
        # would cost a forest for a handful of merges.
        last = len(sums) - len(survivors) < MIN_ROUND_GAIN * len(sums)
        index = {r: position for position, r in enumerate(survivors)}
        owner = [index[roots[o]] for o in owner]
        # Sums as merged along the merge tree: a shuffled input merges the same tree, and
        # a + b == b + a in floating point, so the values do not depend on the input order.
        sums = [merged_sums[r] for r in survivors]
        sizes = [merged_sizes[r] for r in survivors]
        if last or len(sums) == 1:
            break
    return owner


def cluster(vectors: Sequence[Vector], *, threshold: float = DEFAULT_THRESHOLD,
            min_size: int = DEFAULT_MIN_SIZE, keys: Sequence[Hashable] | None = None,
            trees: int = DEFAULT_TREES,
            leaf_size: int = DEFAULT_LEAF_SIZE, seed: int = DEFAULT_SEED,
            centre: bool = True) -> Clustering:
    """Cluster embedding vectors; no number of clusters is given, outliers get label -1.

    ``keys`` (unique, sortable, e.g. the keyword texts or ids) make the result independent
    of the input order even when items tie exactly; without them ties go to the earlier
    item. ``centre=False`` skips ``prepare``'s batch statistics (vectors are still
    normalised); zero vectors are always outliers.
    """
    count = len(vectors)
    _check(vectors)
    if min_size < 1 or trees < 1 or leaf_size < 2:
        raise ValueError("min_size and trees must be >= 1, leaf_size >= 2")
    prepared = prepare(vectors) if centre else [_normalised(v) for v in vectors]
    order = [i for i in _canonical_order(count, keys) if prepared[i] is not None]
    points: list[list[float]] = [prepared[i] for i in order]  # type: ignore[misc]
    roots = _multilevel(points, threshold=threshold, trees=trees, leaf_size=leaf_size, seed=seed)
    members: dict[int, list[int]] = {}
    for position, root in enumerate(roots):
        members.setdefault(root, []).append(order[position])
    groups = sorted((sorted(m) for m in members.values() if len(m) >= min_size), key=lambda m: m[0])
    labels = [-1] * count
    for label, group in enumerate(groups):
        for i in group:
            labels[i] = label
    return Clustering(labels=labels, clusters=groups, centroids=[centroid([vectors[i] for i in g]) for g in groups])


def centroid(vectors: Sequence[Vector], digits: int = CENTROID_DIGITS) -> list[float]:
    """Normalised mean of the normalised vectors, rounded for storage ([] if all are zero).

    Raw (unprepared) vectors on purpose: a stored centroid must stay comparable with
    keywords embedded later, in batches with other statistics.
    """
    units = [u for u in (_normalised(v) for v in vectors) if u is not None]
    if not units:
        return []
    mean = _normalised([math.fsum(col) for col in zip(*units, strict=True)])
    return [round(x, digits) for x in mean] if mean is not None else []


def assign_to_existing(vectors: Sequence[Vector], centroids: Sequence[Vector],
                       threshold: float = DEFAULT_ASSIGN_THRESHOLD) -> list[int | None]:
    """For each vector, the index of the most similar centroid if its cosine >= threshold.

    ``None`` means "no existing cluster is close enough": cluster it with the other new
    keywords. Ties go to the earlier centroid; zero vectors and empty centroids match nothing.
    """
    units = [_normalised(c) if len(c) else None for c in centroids]
    dims = {len(u) for u in units if u is not None} | {len(v) for v in vectors}
    if len(dims) > 1:
        raise ValueError(f"vectors and centroids have different dimensions: {sorted(dims)}")
    out: list[int | None] = []
    for vector in vectors:
        unit = _normalised(vector)
        best: int | None = None
        best_similarity = threshold
        if unit is not None:
            for index, c in enumerate(units):
                if c is None:
                    continue
                similarity = dot(unit, c)
                if similarity > best_similarity or (best is None and similarity >= best_similarity):
                    best, best_similarity = index, similarity
        out.append(best)
    return out
