"""Stage 2: turn a cluster into content ideas, leaving out those with the intent of an existing one."""

from __future__ import annotations

import re
from typing import Any

from chalicelib.errors import UnprocessableEntity
from chalicelib.ids import derived_id
from chalicelib.models.accounts import site_key
from chalicelib.models.planner import Cluster, ContentIdea, Keyword, intent_key
from chalicelib.models.site_records import join_key
from chalicelib.models.writer import Content
from chalicelib.services import content_types, credits, generation, planner, sites
from chalicelib.services.pipeline.stage import ItemContext, ItemOutcome, ItemSkipped, ItemSpec, StageDef
from chalicelib.services.pipeline.stages import shared
from chalicelib.text import normalize_keyword

DEFAULT_IDEAS_PER_CLUSTER = 3
OPERATION = "generate_ideas"


def select(account_id: str, site_id: str, selection: dict[str, Any]) -> list[ItemSpec]:
    skey = site_key(account_id, site_id)
    ids = shared.ids_or_filter(selection, "cluster_ids")
    count = selection.get("ideas_per_cluster", DEFAULT_IDEAS_PER_CLUSTER)
    if not isinstance(count, int) or not 1 <= count <= 10:
        raise UnprocessableEntity("ideas_per_cluster must be between 1 and 10.",
                                  details=[{"field": "ideas_per_cluster", "message": "1..10"}])
    limit = shared.limit(selection, 50, 500, ids)
    if ids is not None:
        found = shared.chosen(Cluster, skey, ids, "Cluster")
        clusters = [found[i] for i in ids]
    elif selection.get("sector_id"):
        clusters = list(Cluster.without_ideas_by_sector.query(join_key(skey, selection["sector_id"]), limit=limit))
    else:
        clusters = list(Cluster.without_ideas.query(skey, limit=limit))
    return [ItemSpec(c.cluster_id, {"count": count}, sector_id=c.sector_id) for c in clusters[:limit]]


def estimate(account_id: str, site_id: str, items: list[ItemSpec]) -> dict[str, int]:
    return credits.estimate_operation(OPERATION, len(items), shared.model_name("text"))


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))


def _similar(a: str, b: str) -> bool:
    """Near-duplicate titles: the same words, give or take a few (Jaccard >= 0.8)."""
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return False
    return len(wa & wb) / len(wa | wb) >= 0.8


class _IntentGuard:
    """The cannibalisation guard for one cluster's new ideas.

    Same intent = the same normalised primary keyword as a live idea or an article of the
    sector (one keys-only Query on each ``by_intent`` index per candidate, so the cost does
    not grow with the sector), or a near-duplicate title of an idea of the same cluster
    (where near-duplicates live: the cluster's ideas are one bounded Query).
    """

    def __init__(self, skey: str, sector_id: str, cluster_id: str) -> None:
        self.skey, self.sector_id = skey, sector_id
        self.titles = [i.title for i in ContentIdea.by_cluster.query(join_key(skey, cluster_id))
                       if i.status != "archived"]
        self.claimed: set[str] = set()

    def clash(self, primary_keyword: str, title: str) -> str | None:
        key = intent_key(self.skey, self.sector_id, primary_keyword)
        if key is not None:
            if key in self.claimed or next(iter(ContentIdea.by_intent.query(key, limit=1)), None):
                return "idea"
            if next(iter(Content.by_intent.query(key, limit=1)), None):
                return "content"
        if any(_similar(existing, title) for existing in self.titles):
            return "idea"
        return None

    def claim(self, primary_keyword: str, title: str) -> None:
        key = intent_key(self.skey, self.sector_id, primary_keyword)
        if key is not None:
            self.claimed.add(key)
        self.titles.append(title)


def _plan(ctx: ItemContext, cluster: Cluster) -> dict[str, Any]:
    skey = site_key(ctx.account_id, ctx.site_id)
    keywords = list(Keyword.by_cluster.query(join_key(skey, cluster.cluster_id)))
    if not keywords:
        raise ItemSkipped("the cluster has no keywords")
    settings = generation.context(ctx.account_id, ctx.site_id, cluster.sector_id)
    engine = shared.engine(ctx.account_id, settings.site.industry_id)
    shared.require_balance(ctx, OPERATION, engine.text_route.model, own_key=engine.text_route.own_key)
    sector = sites.get_sector(ctx.account_id, ctx.site_id, cluster.sector_id)
    texts = [k.keyword for k in sorted(keywords, key=lambda k: -(k.search_volume or 0))]
    chosen = settings.variables()
    answer = shared.ai_call(lambda: engine.run_stage("ideas", {
        **{name: chosen[name] for name in ("author", "language", "strategy", "industry", "content_types")},
        "sector": sector.name, "count": int(ctx.item.payload.get("count", DEFAULT_IDEAS_PER_CLUSTER)),
        "cluster_name": cluster.name, "cluster_description": cluster.description,
        "keywords": texts[:60]}))
    by_text = {normalize_keyword(k.keyword): k.keyword_id for k in keywords}
    guard = _IntentGuard(skey, cluster.sector_id, cluster.cluster_id)
    ideas, duplicates = [], []
    for n, idea in enumerate(answer.data.ideas):
        clash = guard.clash(idea.primary_keyword, idea.title)
        if clash:
            duplicates.append({"title": idea.title, "primary_keyword": idea.primary_keyword,
                               "reason": f"same intent as an existing {clash}"})
            continue
        guard.claim(idea.primary_keyword, idea.title)
        ids = [by_text[k] for k in (normalize_keyword(idea.primary_keyword),
                                    *map(normalize_keyword, idea.secondary_keywords)) if k in by_text]
        ideas.append({"idea_id": derived_id(ctx.job.job_id, cluster.cluster_id, str(n)), "title": idea.title,
                      "description": idea.description, "primary_keyword": idea.primary_keyword,
                      "secondary_keywords": list(idea.secondary_keywords)[:30],
                      "keyword_ids": list(dict.fromkeys(ids)),
                      "outline": [s.model_dump() for s in idea.outline],
                      "content_type": content_types.get(idea.content_type).key})
    return {"ideas": ideas, "duplicates": duplicates, "usage": shared.usage_dict(answer.usage)}


def run(ctx: ItemContext) -> ItemOutcome:
    cluster_id = ctx.item.item_id
    cluster = shared.item_record(ctx, planner.get_cluster, "cluster")
    plan = shared.planned(ctx, lambda: _plan(ctx, cluster))

    shared.charge(ctx, OPERATION, plan["usage"])
    created = 0
    for spec in plan["ideas"]:
        if shared.exists(planner.get_idea, ctx.account_id, ctx.site_id, spec["idea_id"]):
            continue
        data = {k: v for k, v in spec.items() if k != "idea_id"}
        planner.create_idea(ctx.account_id, ctx.site_id, {**data, "cluster_id": cluster_id},
                            record_id=spec["idea_id"])
        created += 1
    return ItemOutcome({"ideas_created": created, "ideas_planned": len(plan["ideas"]),
                        "duplicates": plan["duplicates"]})


STAGE = StageDef(module="planner", ids_field="cluster_ids", select=select, run=run, estimate=estimate,
                 description="generate ideas", record_kind="cluster")
