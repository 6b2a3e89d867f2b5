"""Stage 4: write the article of a pending task (one per task), then mark the task completed."""

from __future__ import annotations

from typing import Any

from chalicelib.errors import NotFound
from chalicelib.ids import derived_id
from chalicelib.models.accounts import site_key
from chalicelib.models.planner import Keyword
from chalicelib.models.site_records import join_key
from chalicelib.models.writer import Content, Task
from chalicelib.services import approval, content_types, credits, generation, html, planner, seo, state_machines, writer
from chalicelib.services.pipeline.stage import ItemContext, ItemOutcome, ItemSkipped, ItemSpec, StageDef
from chalicelib.services.pipeline.stages import shared

OPERATION = "generate_content"


def select(account_id: str, site_id: str, selection: dict[str, Any]) -> list[ItemSpec]:
    tasks = shared.pick(Task, account_id, site_id, selection, ids_field="task_ids", label="Task", status="pending",
                        default=20, maximum=500)
    return [ItemSpec(t.task_id, sector_id=t.sector_id) for t in tasks]


def estimate(account_id: str, site_id: str, items: list[ItemSpec]) -> dict[str, int]:
    return credits.estimate_operation(OPERATION, len(items), shared.model_name("text"))


def _content_of_task(skey: str, task_id: str) -> Content | None:
    return next(iter(Content.by_task.query(join_key(skey, task_id), limit=1)), None)


_SETTINGS = ("author", "language", "strategy", "industry", "content_type", "structure", "word_count")


def _problems(answer: Any, settings: generation.Context, has_target: bool) -> list[str]:
    body = answer.data.html
    return content_types.check(body, html.word_count(body), settings.content_type,
                               target=settings.target_words if has_target else None)


def _plan(ctx: ItemContext, task: Task, content_id: str) -> dict[str, Any]:
    other = _content_of_task(site_key(ctx.account_id, ctx.site_id), task.task_id)
    if other is not None and other.content_id != content_id:
        raise ItemSkipped("the task already has an article")
    settings = generation.context(ctx.account_id, ctx.site_id, task.sector_id, task)
    engine = shared.engine(ctx.account_id, settings.site.industry_id)
    shared.require_balance(ctx, OPERATION, engine.text_route.model, own_key=engine.text_route.own_key)
    idea = None
    if getattr(task, "idea_id", None):
        try:
            idea = planner.get_idea(ctx.account_id, ctx.site_id, task.idea_id)
        except NotFound:
            idea = None
    outline = (idea.outline if idea else None) or [{"heading": task.title, "subheadings": []}]
    chosen = settings.variables()
    variables = {**{name: chosen[name] for name in _SETTINGS}, "title": task.title,
                 "description": task.brief or (idea.description if idea else ""),
                 "primary_keyword": task.primary_keyword or task.title,
                 "secondary_keywords": list(task.secondary_keywords or []), "outline": outline}

    def write(values: dict[str, Any]) -> Any:
        return shared.ai_call(lambda: engine.run_stage("content_generation", values,
                                                       prompt_override=settings.prompt_override))

    has_target = bool(getattr(task, "target_words", None))
    answer = write(variables)
    usage = shared.usage_dict(answer.usage)
    problems = _problems(answer, settings, has_target)
    regenerated = False
    if problems:
        # Once more, asking for the length the first answer missed by (the model under- or overshot).
        words = max(1, html.word_count(answer.data.html))
        ask = int(settings.target_words * min(2.0, max(0.5, settings.target_words / words)))
        second = write({**variables, "word_count": ask})
        usage = shared.add_usage(usage, second.usage)
        regenerated = True
        again = _problems(second, settings, has_target)
        if len(again) <= len(problems):
            answer, problems = second, again
    article = answer.data
    keywords = [k for k in [task.primary_keyword, *(task.secondary_keywords or [])] if k]
    faq = [q.model_dump() for q in article.faq]
    return {"title": article.title, "html": article.html, "excerpt": article.excerpt,
            **seo.seo_fields(title=article.title, meta_title=article.meta_title,
                             meta_description=article.meta_description, excerpt=article.excerpt,
                             proposed_slug=article.slug, language=settings.language,
                             author=settings.author.view()["name"], keywords=keywords[:10], faq=faq),
            "content_type": settings.content_type.key, "language": settings.language,
            "warnings": problems, "regenerated": regenerated, "effective_author": settings.author.view(),
            "usage": usage, "offline": answer.usage.offline}


def run(ctx: ItemContext) -> ItemOutcome:
    task = shared.item_record(ctx, writer.get_task, "task")
    content_id = derived_id(ctx.job.job_id, task.task_id)
    plan = shared.planned(ctx, lambda: _plan(ctx, task, content_id))

    spent = shared.charge(ctx, OPERATION, plan["usage"], related=content_id)
    try:
        writer.get_content(ctx.account_id, ctx.site_id, content_id)
    except NotFound:
        keywords = [k for k in [task.primary_keyword, *(task.secondary_keywords or [])] if k]
        usage = plan["usage"]
        writer.create_content(ctx.account_id, ctx.site_id, {
            "task_id": task.task_id, "title": plan["title"], "body_html": plan["html"],
            "excerpt": plan["excerpt"], "meta_title": plan["meta_title"],
            "meta_description": plan["meta_description"], "keywords": keywords[:20],
            "content_type": plan.get("content_type"), "slug": plan.get("slug"), "faq": plan.get("faq"),
            "json_ld": plan.get("json_ld"), "language": plan.get("language"),
            "quality_warnings": plan.get("warnings") or [],
            "cost": {"credits": spent, "input_tokens": usage["input_tokens"],
                     "output_tokens": usage["output_tokens"], "cached_tokens": usage["cached_tokens"],
                     "images": 0, "provider": usage["provider"], "model": usage["model"]},
        }, record_id=content_id)
    _mark_used(ctx, task)
    if plan.get("effective_author") and task.effective_author != plan["effective_author"]:
        task.update(actions=[Task.effective_author.set(plan["effective_author"])])
    task.refresh()
    if task.status == "pending":
        state_machines.transition(task, "status", "in_progress")
    if task.status == "in_progress":
        state_machines.transition(task, "status", "completed")
    approval.after_generation(ctx.job, content_id)
    return ItemOutcome({"content_id": content_id, "offline": plan.get("offline", False),
                        "regenerated": plan.get("regenerated", False), "warnings": plan.get("warnings") or []})


def _mark_used(ctx: ItemContext, task: Task) -> None:
    """The keywords of the task's idea are used once their article exists (idempotent)."""
    if not task.idea_id:
        return
    try:
        idea = planner.get_idea(ctx.account_id, ctx.site_id, task.idea_id)
    except NotFound:
        return
    found = shared.batch_get(Keyword, site_key(ctx.account_id, ctx.site_id), idea.keyword_ids or [])
    for keyword in found.values():
        if keyword.status == "clustered":
            planner.set_keyword_status(keyword, "used")


STAGE = StageDef(module="writer", ids_field="task_ids", select=select, run=run, estimate=estimate,
                 description="write articles", record_kind="task")
