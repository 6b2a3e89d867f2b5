"""Stage 3: turn an approved idea into a writing task (no AI); the idea is then used."""

from __future__ import annotations

from typing import Any

from chalicelib.errors import NotFound
from chalicelib.ids import derived_id
from chalicelib.models.planner import ContentIdea
from chalicelib.services import planner, writer
from chalicelib.services.pipeline.stage import ItemContext, ItemOutcome, ItemSkipped, ItemSpec, StageDef
from chalicelib.services.pipeline.stages import shared


def select(account_id: str, site_id: str, selection: dict[str, Any]) -> list[ItemSpec]:
    ideas = shared.pick(ContentIdea, account_id, site_id, selection, ids_field="idea_ids", label="Idea",
                        status="approved", default=100, maximum=1000)
    return [ItemSpec(i.idea_id, sector_id=i.sector_id) for i in ideas]


def _brief(idea: ContentIdea) -> str:
    lines = [idea.description.strip()] if idea.description else []
    for section in idea.outline or []:
        lines.append(f"## {section.get('heading', '')}")
        lines += [f"- {sub}" for sub in section.get("subheadings", [])]
    return "\n".join(lines)[:10000]


def run(ctx: ItemContext) -> ItemOutcome:
    idea = shared.item_record(ctx, planner.get_idea, "idea")
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
