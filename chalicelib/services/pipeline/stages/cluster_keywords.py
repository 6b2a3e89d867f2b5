"""Stage 1: group a sector's pending keywords into clusters (embeddings, then an AI name per cluster).

An item is a sector with the keywords it holds; a keyword that fits an existing cluster of
the sector (same embedding model) joins it, the rest are clustered anew.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from chalicelib.errors import NotFound
from chalicelib.ids import derived_id
from chalicelib.models.accounts import site_key
from chalicelib.models.conditions import conditional
from chalicelib.models.planner import Cluster, Keyword
from chalicelib.models.site_records import join_key
from chalicelib.services import clustering, credits, planner, sites
from chalicelib.services.linker import graph
from chalicelib.services.pipeline.stage import ItemContext, ItemOutcome, ItemSkipped, ItemSpec, StageDef
from chalicelib.services.pipeline.stages import shared

MAX_KEYWORDS_PER_CLUSTER_JOB = 2000
KEYWORDS_PER_NAMING_PROMPT = 40
OPERATION = "cluster_keywords"


def select(account_id: str, site_id: str, selection: dict[str, Any]) -> list[ItemSpec]:
    keywords = shared.pick(Keyword, account_id, site_id, selection, ids_field="keyword_ids", label="Keyword",
                           status="pending", default=500, maximum=MAX_KEYWORDS_PER_CLUSTER_JOB)
    by_sector: dict[str, list[str]] = defaultdict(list)
    for kw in keywords:
        by_sector[kw.sector_id].append(kw.keyword_id)
    return [ItemSpec(sector_id, {"keyword_ids": sorted(kw_ids)}, sector_id=sector_id)
            for sector_id, kw_ids in sorted(by_sector.items())]


def estimate(account_id: str, site_id: str, items: list[ItemSpec]) -> dict[str, int]:
    """On tokens, as the charge is: embedding every keyword, naming about one cluster per 8."""
    keywords = sum(len(i.payload["keyword_ids"]) for i in items)
    clusters = max(1, math.ceil(keywords / 8))
    typical = credits.TYPICAL_USAGE[OPERATION]
    naming = credits.Usage(input_tokens=typical["input_tokens"] * clusters,
                           output_tokens=typical["output_tokens"] * clusters)
    embedding = credits.Usage(input_tokens=6 * keywords)
    cost = (credits.cost_in_credits(naming, credits.price_for(OPERATION, shared.model_name("text")))
            + credits.cost_in_credits(embedding, credits.price_for(OPERATION, shared.model_name("embedding"))))
    return {"idea": max(cost, 2 * len(items))}  # each item pays at least one credit per model


def _plan(ctx: ItemContext, sector_id: str) -> dict[str, Any]:
    skey = site_key(ctx.account_id, ctx.site_id)
    found = shared.batch_get(Keyword, skey, ctx.records)  # the keywords this job holds
    keywords = sorted((k for k in found.values() if k.status == "pending" and k.sector_id == sector_id),
                      key=lambda k: k.keyword_id)
    if not keywords:
        raise ItemSkipped("none of these keywords is pending any more")
    engine = shared.engine(ctx.account_id)
    shared.require_balance(ctx, OPERATION, engine.text_route.model)
    sector = sites.get_sector(ctx.account_id, ctx.site_id, sector_id)
    embedded = shared.ai_call(lambda: engine.embed([k.keyword for k in keywords]))
    embed_usage = shared.usage_dict(embedded.usage)
    naming_usage: dict[str, Any] | None = None
    model_tag = f"{embedded.usage.provider}:{embedded.usage.model}"
    vectors = embedded.vectors

    # Existing clusters of the sector first: a keyword that fits one joins it.
    existing = [c for c in Cluster.by_sector.query(join_key(skey, sector_id))
                if c.centroid and c.centroid_model == model_tag]
    assign: dict[str, list[str]] = defaultdict(list)
    rest: list[int] = list(range(len(keywords)))
    if existing:
        matches = clustering.assign_to_existing(vectors, [c.centroid for c in existing])
        rest = []
        for index, match in enumerate(matches):
            if match is None:
                rest.append(index)
            else:
                assign[existing[match].cluster_id].append(keywords[index].keyword_id)

    groups = clustering.cluster([vectors[i] for i in rest], keys=[keywords[i].keyword_id for i in rest])
    new_clusters, outliers = [], []
    for members in groups.clusters:
        member_ids = [keywords[rest[m]].keyword_id for m in members]
        texts = [keywords[rest[m]].keyword for m in members]
        named = shared.ai_call(lambda texts=texts: engine.run_stage(
            "clustering", {"sector": sector.name, "keywords": texts[:KEYWORDS_PER_NAMING_PROMPT]}))
        naming_usage = shared.add_usage(naming_usage, named.usage)
        cluster_id = derived_id(ctx.job.job_id, sector_id, *sorted(member_ids))
        new_clusters.append({"cluster_id": cluster_id, "name": named.data.name[:255],
                             "description": named.data.description, "keyword_ids": member_ids,
                             "centroid": clustering.centroid([vectors[rest[m]] for m in members])})
    for index, label in enumerate(groups.labels):
        if label is None or label < 0:
            outliers.append(keywords[rest[index]].keyword_id)
    # The cluster graph, while every centroid of the sector is in hand: the linker reads it instead.
    centroids = {c.cluster_id: c.centroid for c in existing} | {c["cluster_id"]: c["centroid"] for c in new_clusters}
    before = {c.cluster_id: list(c.neighbours or []) for c in existing}
    neighbours = {cid: near for cid, near in graph.neighbours(centroids).items() if before.get(cid) != near}
    return {"assign": dict(assign), "new": new_clusters, "outliers": outliers, "neighbours": neighbours,
            "usage": [u for u in (embed_usage, naming_usage) if u], "model": model_tag}


def run(ctx: ItemContext) -> ItemOutcome:
    skey = site_key(ctx.account_id, ctx.site_id)
    sector_id = ctx.item.item_id
    ctx.require_open_sector(sector_id)
    plan = shared.planned(ctx, lambda: _plan(ctx, sector_id))

    shared.charge(ctx, OPERATION, plan["usage"])
    created = 0
    for spec in plan["new"]:
        try:
            planner.get_cluster(ctx.account_id, ctx.site_id, spec["cluster_id"])
        except NotFound:
            planner.create_cluster(ctx.account_id, ctx.site_id, sector_id=sector_id, name=spec["name"],
                                   description=spec["description"], record_id=spec["cluster_id"])
            created += 1
        Cluster(skey, spec["cluster_id"]).update(actions=[Cluster.centroid.set(spec["centroid"]),
                                                          Cluster.centroid_model.set(plan["model"])])
        planner.assign_keywords(ctx.account_id, ctx.site_id, spec["cluster_id"], spec["keyword_ids"])
    for cluster_id, near in plan.get("neighbours", {}).items():
        with conditional():  # a cluster deleted since the plan has no neighbours to keep
            Cluster(skey, cluster_id).update(actions=[Cluster.neighbours.set(near)],
                                             condition=Cluster.cluster_id.exists())
    joined = 0
    for cluster_id, ids in plan["assign"].items():
        joined += len(planner.assign_keywords(ctx.account_id, ctx.site_id, cluster_id, ids).succeeded)
    clustered = sum(len(s["keyword_ids"]) for s in plan["new"]) + joined
    return ItemOutcome({"clusters_created": created, "clusters_planned": len(plan["new"]),
                        "keywords_clustered": clustered, "joined_existing": joined,
                        "outliers": len(plan["outliers"])})


STAGE = StageDef(
    module="planner", ids_field="keyword_ids", select=select, run=run, estimate=estimate,
    description="cluster keywords", record_kind="keyword",
    records=lambda spec: list(spec.payload["keyword_ids"]),
    narrow=lambda spec, records: {"keyword_ids": sorted(records)},
    # an estimate's keywords are one sector's: one item holding them all
    sample=lambda count: [ItemSpec("estimate", {"keyword_ids": ["k"] * count})])
