"""Stage 5: write the image prompts of an article (its featured image first) as pending images."""

from __future__ import annotations

from typing import Any

from chalicelib.ids import derived_id
from chalicelib.models.accounts import site_key
from chalicelib.services import credits, generation, writer
from chalicelib.services.pipeline.stage import ItemContext, ItemOutcome, ItemSkipped, ItemSpec, StageDef
from chalicelib.services.pipeline.stages import shared

OPERATION = "generate_image_prompts"


def estimate(account_id: str, site_id: str, items: list[ItemSpec]) -> dict[str, int]:
    return credits.estimate_operation(OPERATION, len(items), shared.model_name("text"))


def _plan(ctx: ItemContext, content: Any) -> dict[str, Any]:
    if shared.images_of(site_key(ctx.account_id, ctx.site_id), content.content_id):
        raise ItemSkipped("the article already has images")
    chosen = generation.context(ctx.account_id, ctx.site_id, content.sector_id)
    engine = shared.engine(ctx.account_id, chosen.site.industry_id)
    shared.require_balance(ctx, OPERATION, engine.text_route.model, own_key=engine.text_route.own_key)
    settings = engine.settings
    answer = shared.ai_call(lambda: engine.run_stage("image_prompts", {
        "image_style": settings.image_style, "max_images": settings.max_images,
        # The article's language, as written (its author's, even if the site's changed since).
        "language": content.language or chosen.language, "title": content.title,
        # The article's HTML, headings kept: the prompts illustrate its sections.
        "content": content.body_html[:8000]}))
    prompts = sorted(answer.data.images, key=lambda p: p.position)[: settings.max_images]
    if prompts and not any(p.is_featured for p in prompts):
        prompts[0] = prompts[0].model_copy(update={"is_featured": True})
    return {"images": [{"image_id": derived_id(ctx.job.job_id, content.content_id, str(n)),
                        "prompt": p.prompt, "alt_text": (p.alt_text or content.title)[:255],
                        "caption": (p.caption or p.alt_text or content.title)[:500], "position": n,
                        "is_featured": bool(p.is_featured) and n == next(
                            i for i, q in enumerate(prompts) if q.is_featured)}
                       for n, p in enumerate(prompts)],
            "usage": shared.usage_dict(answer.usage)}


def run(ctx: ItemContext) -> ItemOutcome:
    content = shared.item_record(ctx, writer.get_content, "content", with_body=True)
    plan = shared.planned(ctx, lambda: _plan(ctx, content))
    usage = plan["usage"]
    shared.charge(ctx, OPERATION, usage, article=content.content_id,
                  figures={"input_tokens": usage["input_tokens"], "output_tokens": usage["output_tokens"]})
    made = 0
    for spec in plan["images"]:
        if shared.exists(writer.get_image, ctx.account_id, ctx.site_id, spec["image_id"]):
            continue
        writer.create_image(ctx.account_id, ctx.site_id, {
            "content_id": content.content_id, "prompt": spec["prompt"], "alt_text": spec["alt_text"],
            "caption": spec.get("caption", ""),
            "position": spec["position"], "is_featured": spec["is_featured"],
            "image_type": "featured" if spec["is_featured"] else "in_article"}, record_id=spec["image_id"])
        made += 1
    return ItemOutcome({"image_prompts": len(plan["images"]), "created": made})


# Image prompts and images both claim the article: one job at a time adds or renders its images.
STAGE = StageDef(module="writer", ids_field="content_ids", select=shared.select_content("draft"), run=run,
                 estimate=estimate, description="write image prompts", record_kind="content")
