"""The link stage: suggest internal links for articles, and accept the best ones as the site's
``auto_accept`` says (no AI call, no credits). Suggesting and accepting are idempotent, so a
redelivered item changes nothing."""

from __future__ import annotations

from chalicelib.services import writer
from chalicelib.services.linker import service
from chalicelib.services.pipeline.stage import ItemContext, ItemOutcome, StageDef
from chalicelib.services.pipeline.stages import shared


def run(ctx: ItemContext) -> ItemOutcome:
    shared.require_module(ctx, "linker")
    content = shared.item_record(ctx, writer.get_content, "content")
    made = service.suggest(ctx.account_id, ctx.site_id, content.content_id)
    return ItemOutcome({"suggested": sum(1 for s in made if s.status == "suggested"),
                        "accepted": sum(1 for s in made if s.status == "accepted")})


STAGE = StageDef(module="linker", ids_field="content_ids", select=shared.select_content("draft"), run=run,
                 description="link articles", record_kind="content")
