"""The generation stages: what each does to one job item, idempotently.

Every AI stage works in two steps:
1. *plan*: make the AI calls and store what they produced on the JobItem (written only
   while this worker holds the item), then charge the usage with the item's business key;
2. *apply*: write the records, with ids derived from (job, item, ...), each write
   skipping what already exists.
A delivery that crashes anywhere is redone from the stored plan: no second AI call after
the plan is stored, no second charge, no second record.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.errors import NotFound, UnprocessableEntity
from chalicelib.ids import derived_id
from chalicelib.models.accounts import site_key
from chalicelib.models.conditions import is_condition_failure
from chalicelib.models.jobs import Job, JobItem
from chalicelib.models.planner import Cluster, ContentIdea, Keyword, intent_key
from chalicelib.models.site_records import join_key
from chalicelib.models.writer import Content, ContentImage, Task
from chalicelib.services import credits
from chalicelib.services.jobs import (
    ItemContext,
    ItemFailed,
    ItemOutcome,
    ItemSkipped,
    ItemSpec,
    StageDef,
    register_stage,
)
from chalicelib.text import normalize_keyword

MAX_KEYWORDS_PER_CLUSTER_JOB = 2000
DEFAULT_IDEAS_PER_CLUSTER = 3
KEYWORDS_PER_NAMING_PROMPT = 40


# --- shared helpers ----------------------------------------------------------------------

def _engine(account_id: str) -> Any:
    from chalicelib.services.ai_engine import get_engine

    return get_engine(account_id)


def _ai_call(call: Any, attempts: int = 3) -> Any:
    """One AI call, tried again on a transient failure (outage, 429, timeout).

    A stage that makes several calls should not throw away the ones that worked because
    one of them hit a blip; a persistent failure still reaches SQS's redelivery.
    """
    import time

    from chalicelib.ai.errors import AIError

    for attempt in range(attempts):
        try:
            return call()
        except AIError as exc:
            if not exc.retryable or attempt == attempts - 1:
                raise
            time.sleep(min(2.0, 0.2 * 2**attempt))
    raise AssertionError("unreachable")


def _usage_dict(usage: Any) -> dict[str, Any]:
    return {"provider": usage.provider, "model": usage.model, "input_tokens": int(usage.input_tokens),
            "output_tokens": int(usage.output_tokens), "cached_tokens": int(usage.cached_tokens),
            "images": int(usage.images)}


def _add_usage(total: dict[str, Any] | None, usage: Any) -> dict[str, Any]:
    if total is None:
        return _usage_dict(usage)
    for field in ("input_tokens", "output_tokens", "cached_tokens", "images"):
        total[field] += int(getattr(usage, field))
    return total


def _require_balance(ctx: ItemContext, operation: str, model: str | None, count: int = 1) -> None:
    """Before an AI call: the balance must pay for a typical call (402 -> the item fails)."""
    estimate = credits.estimate_operation(operation, count, model)
    if estimate:
        credits.require_credits(ctx.account_id, estimate, margin=1.0)


def _charge(ctx: ItemContext, operation: str, usage: dict[str, Any] | list[dict[str, Any]], *,
            key: str | None = None, related: str | None = None, article: str | None = None,
            figures: dict[str, int] | None = None) -> int:
    """Charge the stored usage once per business key; returns the credits it cost.

    ``usage`` may list the usage of several models (clustering embeds, then names with a
    text model): each is priced at its own model's rate, and the sum is one charge. The job's
    ``credits_spent``, the item's ``credits`` and, with ``article``, that content's ``cost``
    (credits plus ``figures``) move in the charge's own transaction: counted exactly once,
    whatever crashes or is delivered again.
    """
    parts = [u for u in (usage if isinstance(usage, list) else [usage]) if u]
    if not parts:
        return 0
    amount = 0
    for part in parts:
        one = credits.Usage(input_tokens=part["input_tokens"], output_tokens=part["output_tokens"],
                            cached_tokens=part["cached_tokens"], images=part["images"], model=part["model"],
                            provider=part["provider"])
        amount += credits.cost_in_credits(one, credits.price_for(operation, part["model"]))
    last = parts[-1]
    billed = credits.Usage(input_tokens=sum(p["input_tokens"] for p in parts),
                           output_tokens=sum(p["output_tokens"] for p in parts),
                           cached_tokens=sum(p["cached_tokens"] for p in parts),
                           images=sum(p["images"] for p in parts),
                           model="+".join(dict.fromkeys(p["model"] for p in parts)), provider=last["provider"])
    tallies = [
        credits.Tally(Job(ctx.job.site_key, ctx.job.job_id), [Job.credits_spent.add(amount)], Job.job_id.exists(),
                      "Job"),
        credits.Tally(JobItem(ctx.item.job_key, ctx.item.item_id), [JobItem.credits.add(amount)],
                      JobItem.item_id.exists(), "Job item"),
    ]
    if article is not None:
        cost = {"credits": amount, **(figures or {})}
        tallies.append(credits.Tally(Content(site_key(ctx.account_id, ctx.site_id), article),
                                     [Content.cost[name].add(value) for name, value in cost.items() if value],
                                     Content.content_id.exists(), "Content"))
    result = credits.charge(ctx.account_id, operation=operation, amount=amount, key=key or ctx.charge_key,
                            site_id=ctx.site_id, usage=billed, job_id=ctx.job.job_id,
                            related_object_id=related or ctx.item.item_id, tallies=tallies)
    return result.amount if result.entry is not None else amount


def _save_plan(ctx: ItemContext, plan: dict[str, Any]) -> None:
    """Store the plan on the item; only the worker holding the item may."""
    try:
        ctx.item.update(actions=[JobItem.payload.set({**ctx.item.payload, "plan": plan})],
                        condition=JobItem.status == "running")
    except UpdateError as exc:
        if is_condition_failure(exc):
            raise ItemSkipped("the item was finished elsewhere") from None
        raise
    ctx.item.payload = {**ctx.item.payload, "plan": plan}


def _plan(ctx: ItemContext) -> dict[str, Any] | None:
    return (ctx.item.payload or {}).get("plan")


def _batch_get(model: Any, skey: str, ids: Iterable[str]) -> dict[str, Any]:
    keys = [(skey, i) for i in dict.fromkeys(ids)]
    return {getattr(item, model._range_key_attribute().attr_name): item for item in model.batch_get(keys)}


def _exists(getter: Any, *args: str) -> bool:
    """Does the record a plan is about to create exist already (a re-applied plan)?"""
    try:
        getter(*args)
    except NotFound:
        return False
    return True


def _chosen(model: Any, skey: str, ids: list[str], label: str) -> dict[str, Any]:
    """The records a client named, by id; one that is not in this site is a 404."""
    found = _batch_get(model, skey, ids)
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"{label} {missing[0]}")
    return found


def _ids_or_filter(selection: dict[str, Any], key: str) -> list[str] | None:
    ids = selection.get(key)
    if ids is None:
        return None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise UnprocessableEntity(f"{key} must be a list of ids.", details=[{"field": key, "message": "list of ids"}])
    return list(dict.fromkeys(ids))


def _limit(selection: dict[str, Any], default: int, maximum: int, ids: list[str] | None = None) -> int:
    if ids is not None and "limit" not in selection:
        return max(1, len(ids))  # chosen ids are taken whole (MAX_ITEMS_PER_JOB still applies), never cut silently
    value = selection.get("limit", default)
    if not isinstance(value, int) or not 1 <= value <= maximum:
        raise UnprocessableEntity(f"limit must be between 1 and {maximum}.",
                                  details=[{"field": "limit", "message": f"1..{maximum}"}])
    return value


def _by_status(model: Any, skey: str, status: str, sector_id: str | None, limit: int) -> list[Any]:
    if sector_id:
        return list(model.by_sector_status.query(join_key(skey, sector_id, status), limit=limit))
    return list(model.by_status.query(join_key(skey, status), limit=limit))


def _model_name(kind: str) -> str | None:
    from chalicelib.services import ai_models

    model = ai_models.get_default_model(kind)
    return model.model_name if model is not None else None


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))


# --- 1. cluster keywords -----------------------------------------------------------------

def _select_keywords(account_id: str, site_id: str, selection: dict[str, Any]) -> list[ItemSpec]:
    skey = site_key(account_id, site_id)
    ids = _ids_or_filter(selection, "keyword_ids")
    limit = _limit(selection, 500, MAX_KEYWORDS_PER_CLUSTER_JOB, ids)
    if ids is not None:
        found = _chosen(Keyword, skey, ids, "Keyword")
        keywords = [k for k in found.values() if k.status == "pending"]
    else:
        keywords = _by_status(Keyword, skey, "pending", selection.get("sector_id"), limit)
    by_sector: dict[str, list[str]] = defaultdict(list)
    for kw in keywords[:limit]:
        by_sector[kw.sector_id].append(kw.keyword_id)
    return [ItemSpec(sector_id, {"keyword_ids": sorted(kw_ids)}, sector_id=sector_id)
            for sector_id, kw_ids in sorted(by_sector.items())]


def _estimate_clustering(account_id: str, site_id: str, items: list[ItemSpec]) -> dict[str, int]:
    """On tokens, as the charge is: embedding every keyword, naming about one cluster per 8."""
    keywords = sum(len(i.payload["keyword_ids"]) for i in items)
    clusters = max(1, math.ceil(keywords / 8))
    typical = credits.TYPICAL_USAGE["cluster_keywords"]
    naming = credits.Usage(input_tokens=typical["input_tokens"] * clusters,
                           output_tokens=typical["output_tokens"] * clusters)
    embedding = credits.Usage(input_tokens=6 * keywords)
    cost = (credits.cost_in_credits(naming, credits.price_for("cluster_keywords", _model_name("text")))
            + credits.cost_in_credits(embedding, credits.price_for("cluster_keywords", _model_name("embedding"))))
    return {"idea": max(cost, 2 * len(items))}  # each item pays at least one credit per model


def _run_clustering(ctx: ItemContext) -> ItemOutcome:
    from chalicelib.services import clustering, planner
    from chalicelib.services.sites import get_sector

    skey = site_key(ctx.account_id, ctx.site_id)
    sector_id = ctx.item.item_id
    ctx.require_open_sector(sector_id)
    plan = _plan(ctx)
    if plan is None:
        found = _batch_get(Keyword, skey, ctx.records)  # the keywords this job holds
        keywords = sorted((k for k in found.values() if k.status == "pending" and k.sector_id == sector_id),
                          key=lambda k: k.keyword_id)
        if not keywords:
            raise ItemSkipped("none of these keywords is pending any more")
        engine = _engine(ctx.account_id)
        _require_balance(ctx, "cluster_keywords", engine.text_route.model)
        sector = get_sector(ctx.account_id, ctx.site_id, sector_id)
        embedded = _ai_call(lambda: engine.embed([k.keyword for k in keywords]))
        embed_usage = _usage_dict(embedded.usage)
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
            named = _ai_call(lambda texts=texts: engine.run_stage(
                "clustering", {"sector": sector.name, "keywords": texts[:KEYWORDS_PER_NAMING_PROMPT]}))
            naming_usage = _add_usage(naming_usage, named.usage)
            cluster_id = derived_id(ctx.job.job_id, sector_id, *sorted(member_ids))
            new_clusters.append({"cluster_id": cluster_id, "name": named.data.name[:255],
                                 "description": named.data.description, "keyword_ids": member_ids,
                                 "centroid": clustering.centroid([vectors[rest[m]] for m in members])})
        for index, label in enumerate(groups.labels):
            if label is None or label < 0:
                outliers.append(keywords[rest[index]].keyword_id)
        plan = {"assign": dict(assign), "new": new_clusters, "outliers": outliers,
                "usage": [u for u in (embed_usage, naming_usage) if u], "model": model_tag}
        _save_plan(ctx, plan)

    _charge(ctx, "cluster_keywords", plan["usage"])
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
    joined = 0
    for cluster_id, ids in plan["assign"].items():
        joined += len(planner.assign_keywords(ctx.account_id, ctx.site_id, cluster_id, ids).succeeded)
    clustered = sum(len(s["keyword_ids"]) for s in plan["new"]) + joined
    return ItemOutcome({"clusters_created": created, "clusters_planned": len(plan["new"]),
                        "keywords_clustered": clustered, "joined_existing": joined,
                        "outliers": len(plan["outliers"])})


# --- 2. generate ideas -------------------------------------------------------------------

def _select_clusters(account_id: str, site_id: str, selection: dict[str, Any]) -> list[ItemSpec]:
    skey = site_key(account_id, site_id)
    ids = _ids_or_filter(selection, "cluster_ids")
    count = selection.get("ideas_per_cluster", DEFAULT_IDEAS_PER_CLUSTER)
    if not isinstance(count, int) or not 1 <= count <= 10:
        raise UnprocessableEntity("ideas_per_cluster must be between 1 and 10.",
                                  details=[{"field": "ideas_per_cluster", "message": "1..10"}])
    limit = _limit(selection, 50, 500, ids)
    if ids is not None:
        found = _chosen(Cluster, skey, ids, "Cluster")
        clusters = [found[i] for i in ids]
    elif selection.get("sector_id"):
        clusters = list(Cluster.without_ideas_by_sector.query(join_key(skey, selection["sector_id"]), limit=limit))
    else:
        clusters = list(Cluster.without_ideas.query(skey, limit=limit))
    return [ItemSpec(c.cluster_id, {"count": count}, sector_id=c.sector_id) for c in clusters[:limit]]


def _estimate_ideas(account_id: str, site_id: str, items: list[ItemSpec]) -> dict[str, int]:
    return credits.estimate_operation("generate_ideas", len(items), _model_name("text"))


def _normal(text: str) -> str:
    return normalize_keyword(text)


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


def _run_ideas(ctx: ItemContext) -> ItemOutcome:
    from chalicelib.services import planner
    from chalicelib.services.sites import get_sector

    skey = site_key(ctx.account_id, ctx.site_id)
    cluster_id = ctx.item.item_id
    try:
        cluster = planner.get_cluster(ctx.account_id, ctx.site_id, cluster_id)
    except NotFound:
        raise ItemFailed("The cluster no longer exists.", code="cluster_missing") from None
    ctx.require_open_sector(cluster.sector_id)
    plan = _plan(ctx)
    if plan is None:
        keywords = list(Keyword.by_cluster.query(join_key(skey, cluster_id)))
        if not keywords:
            raise ItemSkipped("the cluster has no keywords")
        engine = _engine(ctx.account_id)
        _require_balance(ctx, "generate_ideas", engine.text_route.model)
        sector = get_sector(ctx.account_id, ctx.site_id, cluster.sector_id)
        texts = [k.keyword for k in sorted(keywords, key=lambda k: -(k.search_volume or 0))]
        answer = _ai_call(lambda: engine.run_stage("ideas", {
            "sector": sector.name, "count": int(ctx.item.payload.get("count", DEFAULT_IDEAS_PER_CLUSTER)),
            "cluster_name": cluster.name, "cluster_description": cluster.description,
            "keywords": texts[:60]}))
        by_text = {_normal(k.keyword): k.keyword_id for k in keywords}
        guard = _IntentGuard(skey, cluster.sector_id, cluster_id)
        ideas, duplicates = [], []
        for n, idea in enumerate(answer.data.ideas):
            clash = guard.clash(idea.primary_keyword, idea.title)
            if clash:
                duplicates.append({"title": idea.title, "primary_keyword": idea.primary_keyword,
                                   "reason": f"same intent as an existing {clash}"})
                continue
            guard.claim(idea.primary_keyword, idea.title)
            ids = [by_text[k] for k in (_normal(idea.primary_keyword), *map(_normal, idea.secondary_keywords))
                   if k in by_text]
            ideas.append({"idea_id": derived_id(ctx.job.job_id, cluster_id, str(n)), "title": idea.title,
                          "description": idea.description, "primary_keyword": idea.primary_keyword,
                          "secondary_keywords": list(idea.secondary_keywords)[:30],
                          "keyword_ids": list(dict.fromkeys(ids)),
                          "outline": [s.model_dump() for s in idea.outline]})
        plan = {"ideas": ideas, "duplicates": duplicates, "usage": _usage_dict(answer.usage)}
        _save_plan(ctx, plan)

    _charge(ctx, "generate_ideas", plan["usage"])
    created = 0
    for spec in plan["ideas"]:
        if _exists(planner.get_idea, ctx.account_id, ctx.site_id, spec["idea_id"]):
            continue
        data = {k: v for k, v in spec.items() if k != "idea_id"}
        planner.create_idea(ctx.account_id, ctx.site_id, {**data, "cluster_id": cluster_id},
                            record_id=spec["idea_id"])
        created += 1
    return ItemOutcome({"ideas_created": created, "ideas_planned": len(plan["ideas"]),
                        "duplicates": plan["duplicates"]})


# --- 3. create tasks (no AI) -------------------------------------------------------------

def _select_ideas(account_id: str, site_id: str, selection: dict[str, Any]) -> list[ItemSpec]:
    skey = site_key(account_id, site_id)
    ids = _ids_or_filter(selection, "idea_ids")
    limit = _limit(selection, 100, 1000, ids)
    if ids is not None:
        found = _chosen(ContentIdea, skey, ids, "Idea")
        ideas = [found[i] for i in ids if found[i].status == "approved"]
    else:
        ideas = _by_status(ContentIdea, skey, "approved", selection.get("sector_id"), limit)
    return [ItemSpec(i.idea_id, sector_id=i.sector_id) for i in ideas[:limit]]


def _brief(idea: ContentIdea) -> str:
    lines = [idea.description.strip()] if idea.description else []
    for section in idea.outline or []:
        lines.append(f"## {section.get('heading', '')}")
        lines += [f"- {sub}" for sub in section.get("subheadings", [])]
    return "\n".join(lines)[:10000]


def _run_tasks(ctx: ItemContext) -> ItemOutcome:
    from chalicelib.services import planner, writer

    try:
        idea = planner.get_idea(ctx.account_id, ctx.site_id, ctx.item.item_id)
    except NotFound:
        raise ItemFailed("The idea no longer exists.", code="idea_missing") from None
    ctx.require_open_sector(idea.sector_id)
    task_id = derived_id(ctx.job.job_id, idea.idea_id)
    try:
        writer.get_task(ctx.account_id, ctx.site_id, task_id)
    except NotFound:
        if idea.status != "approved":
            raise ItemSkipped(f"the idea is {idea.status}, not approved") from None
        writer.create_task(ctx.account_id, ctx.site_id, {
            "title": idea.title, "brief": _brief(idea), "idea_id": idea.idea_id}, record_id=task_id)
    if idea.status == "approved":
        planner.set_idea_status(idea, "used")
    return ItemOutcome({"task_id": task_id})


# --- 4. generate content -----------------------------------------------------------------

def _select_tasks(account_id: str, site_id: str, selection: dict[str, Any]) -> list[ItemSpec]:
    skey = site_key(account_id, site_id)
    ids = _ids_or_filter(selection, "task_ids")
    limit = _limit(selection, 20, 500, ids)
    if ids is not None:
        found = _chosen(Task, skey, ids, "Task")
        tasks = [found[i] for i in ids if found[i].status == "pending"]
    else:
        tasks = _by_status(Task, skey, "pending", selection.get("sector_id"), limit)
    return [ItemSpec(t.task_id, sector_id=t.sector_id) for t in tasks[:limit]]


def _estimate_content(account_id: str, site_id: str, items: list[ItemSpec]) -> dict[str, int]:
    return credits.estimate_operation("generate_content", len(items), _model_name("text"))


def _content_of_task(skey: str, task_id: str) -> Content | None:
    return next(iter(Content.by_task.query(join_key(skey, task_id), limit=1)), None)


def _run_content(ctx: ItemContext) -> ItemOutcome:
    from chalicelib.services import author_profiles, writer
    from chalicelib.services.state_machines import transition

    skey = site_key(ctx.account_id, ctx.site_id)
    try:
        task = writer.get_task(ctx.account_id, ctx.site_id, ctx.item.item_id)
    except NotFound:
        raise ItemFailed("The task no longer exists.", code="task_missing") from None
    ctx.require_open_sector(task.sector_id)
    content_id = derived_id(ctx.job.job_id, task.task_id)
    plan = _plan(ctx)
    if plan is None:
        other = _content_of_task(skey, task.task_id)
        if other is not None and other.content_id != content_id:
            raise ItemSkipped("the task already has an article")
        engine = _engine(ctx.account_id)
        _require_balance(ctx, "generate_content", engine.text_route.model)
        idea = None
        if getattr(task, "idea_id", None):
            from chalicelib.services import planner

            try:
                idea = planner.get_idea(ctx.account_id, ctx.site_id, task.idea_id)
            except NotFound:
                idea = None
        profile = author_profiles.resolve(ctx.account_id, None)
        outline = (idea.outline if idea else None) or [{"heading": task.title, "subheadings": []}]
        answer = _ai_call(lambda: engine.run_stage("content_generation", {
            "author": author_profiles.author_text(profile), "word_count": 1200, "title": task.title,
            "description": task.brief or (idea.description if idea else ""),
            "primary_keyword": task.primary_keyword or task.title,
            "secondary_keywords": list(task.secondary_keywords or []), "outline": outline}))
        article = answer.data
        plan = {"title": article.title, "html": article.html, "meta_title": article.meta_title,
                "meta_description": article.meta_description, "excerpt": article.excerpt,
                "usage": _usage_dict(answer.usage), "offline": answer.usage.offline}
        _save_plan(ctx, plan)

    spent = _charge(ctx, "generate_content", plan["usage"], related=content_id)
    try:
        writer.get_content(ctx.account_id, ctx.site_id, content_id)
    except NotFound:
        keywords = [k for k in [task.primary_keyword, *(task.secondary_keywords or [])] if k]
        usage = plan["usage"]
        writer.create_content(ctx.account_id, ctx.site_id, {
            "task_id": task.task_id, "title": plan["title"], "body_html": plan["html"],
            "excerpt": plan["excerpt"], "meta_title": plan["meta_title"],
            "meta_description": plan["meta_description"], "keywords": keywords[:20],
            "cost": {"credits": spent, "input_tokens": usage["input_tokens"],
                     "output_tokens": usage["output_tokens"], "cached_tokens": usage["cached_tokens"],
                     "images": 0, "provider": usage["provider"], "model": usage["model"]},
        }, record_id=content_id)
    task.refresh()
    if task.status == "pending":
        transition(task, "status", "in_progress")
    if task.status == "in_progress":
        transition(task, "status", "completed")
    return ItemOutcome({"content_id": content_id, "offline": plan.get("offline", False)})


# --- 5. image prompts --------------------------------------------------------------------

def _select_content(status_filter: str) -> Any:
    def select(account_id: str, site_id: str, selection: dict[str, Any]) -> list[ItemSpec]:
        skey = site_key(account_id, site_id)
        ids = _ids_or_filter(selection, "content_ids")
        limit = _limit(selection, 20, 500, ids)
        if ids is not None:
            found = _chosen(Content, skey, ids, "Content")
            items = [found[i] for i in ids]
        else:
            statuses = selection.get("status") or status_filter
            items = _by_status(Content, skey, statuses, selection.get("sector_id"), limit)
        return [ItemSpec(c.content_id, sector_id=c.sector_id) for c in items[:limit]]

    return select


def _images_of(skey: str, content_id: str) -> list[ContentImage]:
    return list(ContentImage.by_content.query(join_key(skey, content_id)))


def _run_image_prompts(ctx: ItemContext) -> ItemOutcome:
    from chalicelib.services import writer

    skey = site_key(ctx.account_id, ctx.site_id)
    try:
        content = writer.get_content(ctx.account_id, ctx.site_id, ctx.item.item_id, with_body=True)
    except NotFound:
        raise ItemFailed("The content no longer exists.", code="content_missing") from None
    ctx.require_open_sector(content.sector_id)
    plan = _plan(ctx)
    if plan is None:
        existing = _images_of(skey, content.content_id)
        if existing:
            raise ItemSkipped("the article already has images")
        engine = _engine(ctx.account_id)
        _require_balance(ctx, "generate_image_prompts", engine.text_route.model)
        settings = engine.settings
        answer = _ai_call(lambda: engine.run_stage("image_prompts", {
            "image_style": settings.image_style, "max_images": settings.max_images, "title": content.title,
            # The article's HTML, headings kept: the prompts illustrate its sections.
            "content": content.body_html[:8000]}))
        prompts = sorted(answer.data.images, key=lambda p: p.position)[: settings.max_images]
        if prompts and not any(p.is_featured for p in prompts):
            prompts[0] = prompts[0].model_copy(update={"is_featured": True})
        plan = {"images": [{"image_id": derived_id(ctx.job.job_id, content.content_id, str(n)),
                            "prompt": p.prompt, "alt_text": p.alt_text[:255], "position": n,
                            "is_featured": bool(p.is_featured) and n == next(
                                i for i, q in enumerate(prompts) if q.is_featured)}
                           for n, p in enumerate(prompts)],
                "usage": _usage_dict(answer.usage)}
        _save_plan(ctx, plan)
    usage = plan["usage"]
    _charge(ctx, "generate_image_prompts", usage, article=content.content_id,
            figures={"input_tokens": usage["input_tokens"], "output_tokens": usage["output_tokens"]})
    made = 0
    for spec in plan["images"]:
        if _exists(writer.get_image, ctx.account_id, ctx.site_id, spec["image_id"]):
            continue
        writer.create_image(ctx.account_id, ctx.site_id, {
            "content_id": content.content_id, "prompt": spec["prompt"], "alt_text": spec["alt_text"],
            "position": spec["position"], "is_featured": spec["is_featured"],
            "image_type": "featured" if spec["is_featured"] else "in_article"}, record_id=spec["image_id"])
        made += 1
    return ItemOutcome({"image_prompts": len(plan["images"]), "created": made})


# --- 6. images ---------------------------------------------------------------------------

def _estimate_images(account_id: str, site_id: str, items: list[ItemSpec]) -> dict[str, int]:
    from chalicelib.services.ai_settings import effective_settings

    per_article = int(effective_settings(account_id).max_images)
    return credits.estimate_operation("generate_images", len(items) * per_article, _model_name("image"))


def _run_images(ctx: ItemContext) -> ItemOutcome:
    from chalicelib.services import media, writer
    from chalicelib.services.state_machines import transition

    skey = site_key(ctx.account_id, ctx.site_id)
    try:
        content = writer.get_content(ctx.account_id, ctx.site_id, ctx.item.item_id)
    except NotFound:
        raise ItemFailed("The content no longer exists.", code="content_missing") from None
    ctx.require_open_sector(content.sector_id)
    images = _images_of(skey, content.content_id)
    pending = [i for i in images if i.status in ("pending", "failed")]
    if not pending:
        if int(ctx.item.credits or 0):  # an earlier delivery rendered (and charged) them, then died
            return ItemOutcome({"images_rendered": 0, "images_generated": len(images)})
        raise ItemSkipped("the article has no images waiting to be rendered")
    engine = _engine(ctx.account_id)
    rendered = 0
    for image in pending:
        # One charge per image, keyed by the image: a retry after a crash renders (and
        # pays for) only the images that are not stored yet. The charge counts the image
        # and its credits on the article's cost, in the same write.
        _require_balance(ctx, "generate_images", engine.image_route.model)
        result = _ai_call(lambda image=image: engine.generate_images(image.prompt, n=1))
        picture = result.images[0]
        key = media.image_key(ctx.account_id, ctx.site_id, content.content_id, image.image_id,
                              "png" if picture.mime_type == "image/png" else "jpg")
        media.store(key, picture.data, picture.mime_type)
        _charge(ctx, "generate_images", _usage_dict(result.usage), key=f"{ctx.charge_key}#{image.image_id}",
                related=image.image_id, article=content.content_id, figures={"images": 1})
        image.update(actions=[ContentImage.storage_key.set(key), ContentImage.provider.set(result.usage.provider),
                              ContentImage.url.set(f"/v1/sites/{ctx.site_id}/images/{image.image_id}/file")])
        image.refresh()
        if image.status != "generated":
            transition(image, "status", "generated")
        rendered += 1
    return ItemOutcome({"images_rendered": rendered, "images_generated": len(images)})


# --- registration ------------------------------------------------------------------------

# Each stage claims the records it works on (services.claims): two jobs never process one.
register_stage(StageDef("cluster_keywords", "cluster_keywords", "cluster_keywords", _select_keywords,
                        _run_clustering, _estimate_clustering, "cluster keywords", record_kind="keyword",
                        records=lambda spec: list(spec.payload["keyword_ids"]),
                        narrow=lambda spec, records: {"keyword_ids": sorted(records)}))
register_stage(StageDef("generate_ideas", "generate_ideas", "generate_ideas", _select_clusters, _run_ideas,
                        _estimate_ideas, "generate ideas", record_kind="cluster"))
register_stage(StageDef("create_tasks", "create_tasks", None, _select_ideas, _run_tasks,
                        description="create tasks", record_kind="idea"))
register_stage(StageDef("generate_content", "generate_content", "generate_content", _select_tasks, _run_content,
                        _estimate_content, "write articles", record_kind="task"))
# Image prompts and images both claim the article: one job at a time adds or renders its images.
register_stage(StageDef("generate_image_prompts", "generate_image_prompts", "generate_image_prompts",
                        _select_content("draft"),
                        _run_image_prompts,
                        lambda a, s, items: credits.estimate_operation("generate_image_prompts", len(items),
                                                                       _model_name("text")),
                        "write image prompts", record_kind="content"))
register_stage(StageDef("generate_images", "generate_images", "generate_images", _select_content("draft"),
                        _run_images, _estimate_images, "render images", record_kind="content"))

STAGE_MODULE = {"cluster_keywords": "planner", "generate_ideas": "planner", "create_tasks": "writer",
                "generate_content": "writer", "generate_image_prompts": "writer", "generate_images": "writer"}
