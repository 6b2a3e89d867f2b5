"""The cluster graph: each keyword cluster's nearest clusters by centroid.

Computed where the centroids are already in hand (the clustering stage reads its sector's clusters
to assign new keywords), stored on the cluster, so finding an article's candidates reads a fixed
number of clusters however many the site has.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from chalicelib.services import clustering

NEIGHBOURS = 3


def neighbours(centroids: Mapping[str, Sequence[float]], *, k: int = NEIGHBOURS,
               only: Sequence[str] | None = None) -> dict[str, list[str]]:
    """cluster id -> the ids of its ``k`` nearest clusters (cosine of centroids), for ``only`` (default all)."""
    ids = sorted(centroids)
    out: dict[str, list[str]] = {}
    for cid in (only if only is not None else ids):
        mine = centroids[cid]
        ranked = sorted((-clustering.dot(mine, centroids[o]), o) for o in ids if o != cid)
        out[cid] = [o for _, o in ranked[:k]]
    return out
