"""Stage 3: turn an approved idea into a writing task (no AI); the idea is then used."""

from __future__ import annotations

from typing import Any

from chalicelib.errors import NotFound
from chalicelib.ids import derived_id
from chalicelib.models.accounts import site_key
from chalicelib.models.planner import ContentIdea
from chalicelib.services import planner, writer
from chalicelib.services.pipeline.stage import ItemContext, ItemFailed, ItemOutcome, ItemSkipped, ItemSpec, StageDef
from chalicelib.services.pipeline.stages import shared


def select(account_id: str, site_id: str, selection: dict[str, Any]) -> list[ItemSpec]:
    skey = site_key(account_id, site_id)
    ids = shared.ids_or_filter(selection, "idea_ids")
    limit = shared.limit(selection, 100, 1000, ids)
    if ids is not None:
        found = shared.chosen(ContentIdea, skey, ids, "Idea")
        ideas = [found[i] for i in ids if found[i].status == "approved"]
    else:
        ideas = shared.by_status(ContentIdea, skey, "approved", selection.get("sector_id"), limit)
    return [ItemSpec(i.idea_id, sector_id=i.sector_id) for i in ideas[:limit]]


def _brief(idea: ContentIdea) -> str:
    lines = [idea.description.strip()] if idea.description else []
    for section in idea.outline or []:
        lines.append(f"## {section.get('heading', '')}")
        lines += [f"- {sub}" for sub in section.get("subheadings", [])]
    return "\n".join(lines)[:10000]


def run(ctx: ItemContext) -> ItemOutcome:
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


STAGE = StageDef(module="writer", ids_field="idea_ids", select=select, run=run, description="create tasks",
                 record_kind="idea")
