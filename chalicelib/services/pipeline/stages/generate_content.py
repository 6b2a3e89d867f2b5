"""Stage 4: write the article of a pending task (one per task), then mark the task completed."""

from __future__ import annotations

from typing import Any

from chalicelib.errors import NotFound
from chalicelib.ids import derived_id
from chalicelib.models.accounts import site_key
from chalicelib.models.site_records import join_key
from chalicelib.models.writer import Content, Task
from chalicelib.services import account_events, author_profiles, credits, event_names, planner, state_machines, writer
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


def _plan(ctx: ItemContext, task: Task, content_id: str) -> dict[str, Any]:
    other = _content_of_task(site_key(ctx.account_id, ctx.site_id), task.task_id)
    if other is not None and other.content_id != content_id:
        raise ItemSkipped("the task already has an article")
    engine = shared.engine(ctx.account_id)
    shared.require_balance(ctx, OPERATION, engine.text_route.model)
    idea = None
    if getattr(task, "idea_id", None):
        try:
            idea = planner.get_idea(ctx.account_id, ctx.site_id, task.idea_id)
        except NotFound:
            idea = None
    profile = author_profiles.resolve(ctx.account_id, None)
    outline = (idea.outline if idea else None) or [{"heading": task.title, "subheadings": []}]
    answer = shared.ai_call(lambda: engine.run_stage("content_generation", {
        "author": author_profiles.author_text(profile), "word_count": 1200, "title": task.title,
        "description": task.brief or (idea.description if idea else ""),
        "primary_keyword": task.primary_keyword or task.title,
        "secondary_keywords": list(task.secondary_keywords or []), "outline": outline}))
    article = answer.data
    return {"title": article.title, "html": article.html, "meta_title": article.meta_title,
            "meta_description": article.meta_description, "excerpt": article.excerpt,
            "usage": shared.usage_dict(answer.usage), "offline": answer.usage.offline}


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
            "cost": {"credits": spent, "input_tokens": usage["input_tokens"],
                     "output_tokens": usage["output_tokens"], "cached_tokens": usage["cached_tokens"],
                     "images": 0, "provider": usage["provider"], "model": usage["model"]},
        }, record_id=content_id)
    account_events.emit(ctx.account_id, event_names.CONTENT_GENERATED,
                        {"content_id": content_id, "task_id": task.task_id, "title": plan["title"],
                         "job_id": ctx.job.job_id, "run_id": ctx.job.run_id}, key=content_id, site_id=ctx.site_id)
    task.refresh()
    if task.status == "pending":
        state_machines.transition(task, "status", "in_progress")
    if task.status == "in_progress":
        state_machines.transition(task, "status", "completed")
    return ItemOutcome({"content_id": content_id, "offline": plan.get("offline", False)})


STAGE = StageDef(module="writer", ids_field="task_ids", select=select, run=run, estimate=estimate,
                 description="write articles", record_kind="task")
