"""The link index: each article's LinkProfile, rewritten on every save, and the candidates of a suggestion.

A suggestion reads a fixed number of items however large the site (``candidate_reads``): the source's
profile, its keyword cluster (whose nearest clusters by centroid the clustering stage stored), then at
most PER_CLUSTER articles of the cluster and of each neighbour. When those are fewer than PER_CLUSTER (a
young site, an article written by hand without a cluster), the newest PER_CLUSTER articles of its sector
are read as well.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.models.conditions import conditional
from chalicelib.models.linker import LinkProfile
from chalicelib.models.planner import Cluster
from chalicelib.models.site_records import join_key
from chalicelib.services.linker import graph, rank
from chalicelib.services.optimizer.document import read

if TYPE_CHECKING:
    from chalicelib.models.writer import Content

PER_CLUSTER = 25


def candidate_reads(own_cluster_size: int, neighbour_sizes: list[int], sector_size: int | None = None) -> int:
    """Items one suggestion reads: the profile, the cluster, each cluster's articles up to PER_CLUSTER, and
    (when those are fewer than PER_CLUSTER) the sector's newest, up to PER_CLUSTER."""
    clustered = sum(min(PER_CLUSTER, size) for size in [own_cluster_size, *neighbour_sizes[:graph.NEIGHBOURS]])
    sector = min(PER_CLUSTER, sector_size if sector_size is not None else PER_CLUSTER)
    return 2 + clustered + (sector if clustered < PER_CLUSTER else 0)


def profile_fields(content: Content, body_html: str) -> dict:
    doc = read(body_html)
    keywords = list(content.keywords or [])
    return {"title": content.title, "keywords": keywords, "status": content.status,
            "terms": rank.salient_terms(content.title, keywords, " ".join(doc.blocks)),
            "vector": rank.vector_of(content.title, keywords, doc.text), "url": content.external_url}


def new_profile(content: Content, body_html: str, *, cluster_id: str | None = None) -> LinkProfile:
    """A new article's profile, for its create's transaction."""
    profile = LinkProfile(content.site_key, content.content_id, account_id=content.account_id,
                          site_id=content.site_id, sector_id=content.sector_id, cluster_id=cluster_id,
                          **profile_fields(content, body_html))
    profile.sync_index_keys()
    return profile


def refresh(content: Content, body_html: str, *, cluster_id: str | None = None, new: bool = False) -> LinkProfile:
    """Write the article's profile: whole when ``new`` (or missing), else its text-derived fields only."""
    fields = profile_fields(content, body_html)
    if not new:
        actions = [getattr(LinkProfile, name).set(value) if value is not None else getattr(LinkProfile, name).remove()
                   for name, value in fields.items()]
        with conditional() as write:
            profile = LinkProfile(content.site_key, content.content_id)
            profile.update(actions=actions, condition=LinkProfile.content_id.exists())
        if write.held:
            return profile
    profile = LinkProfile(content.site_key, content.content_id, account_id=content.account_id,
                          site_id=content.site_id, sector_id=content.sector_id, cluster_id=cluster_id, **fields)
    profile.save()
    return profile


def set_url(content: Content) -> None:
    """The article's permalink (or none: unpublished) as targets see it."""
    with conditional():
        LinkProfile(content.site_key, content.content_id).update(
            actions=[LinkProfile.url.set(content.external_url) if content.external_url else LinkProfile.url.remove(),
                     LinkProfile.status.set(content.status)], condition=LinkProfile.content_id.exists())


def forget(site_key_value: str, content_id: str) -> None:
    LinkProfile(site_key_value, content_id).delete()


def get_profile(site_key_value: str, content_id: str) -> LinkProfile | None:
    try:
        return LinkProfile.get(site_key_value, content_id)
    except LinkProfile.DoesNotExist:
        return None


def as_rank_profile(p: LinkProfile) -> rank.Profile:
    return rank.Profile(p.content_id, p.title, list(p.vector or []), keywords=list(p.keywords or []),
                        terms=list(p.terms or []), cluster_id=p.cluster_id, url=p.url)


def candidates(source: LinkProfile) -> list[LinkProfile]:
    """The articles a suggestion for ``source`` weighs: its cluster's and its nearest clusters' (bounded)."""
    skey = source.site_key
    found: dict[str, LinkProfile] = {}
    read = 0
    if source.cluster_id:
        try:
            cluster = Cluster.get(skey, source.cluster_id)
            near = list(cluster.neighbours or [])[:graph.NEIGHBOURS]
        except Cluster.DoesNotExist:
            near = []
        for cluster_id in [source.cluster_id, *near]:
            for p in LinkProfile.by_cluster.query(join_key(skey, cluster_id), limit=PER_CLUSTER):
                read += 1
                found[p.content_id] = p
    if read < PER_CLUSTER:
        for p in LinkProfile.by_sector.query(join_key(skey, source.sector_id), limit=PER_CLUSTER):
            found.setdefault(p.content_id, p)
    found.pop(source.content_id, None)
    return list(found.values())
