"""Stage 6: render an article's pending images, each stored and charged once."""

from __future__ import annotations

from chalicelib.models.accounts import site_key
from chalicelib.models.writer import ContentImage
from chalicelib.services import ai_settings, credits, media, state_machines, writer
from chalicelib.services.pipeline.stage import ItemContext, ItemOutcome, ItemSkipped, ItemSpec, StageDef
from chalicelib.services.pipeline.stages import shared

OPERATION = "generate_images"


def estimate(account_id: str, site_id: str, items: list[ItemSpec]) -> dict[str, int]:
    per_article = int(ai_settings.effective_settings(account_id).max_images)
    return credits.estimate_operation(OPERATION, len(items) * per_article, shared.model_name("image"))


def run(ctx: ItemContext) -> ItemOutcome:
    skey = site_key(ctx.account_id, ctx.site_id)
    content = shared.item_record(ctx, writer.get_content, "content")
    images = shared.images_of(skey, content.content_id)
    pending = [i for i in images if i.status in ("pending", "failed")]
    if not pending:
        if int(ctx.item.credits or 0):  # an earlier delivery rendered (and charged) them, then died
            return ItemOutcome({"images_rendered": 0, "images_generated": len(images)})
        raise ItemSkipped("the article has no images waiting to be rendered")
    engine = shared.engine(ctx.account_id)
    rendered = 0
    for image in pending:
        # One charge per image, keyed by the image: a retry after a crash renders (and
        # pays for) only the images that are not stored yet. The charge counts the image
        # and its credits on the article's cost, in the same write.
        shared.require_balance(ctx, OPERATION, engine.image_route.model, own_key=engine.image_route.own_key)
        result = shared.ai_call(lambda image=image: engine.generate_images(image.prompt, n=1))
        picture = result.images[0]
        key = media.image_key(ctx.account_id, ctx.site_id, content.content_id, image.image_id,
                              "png" if picture.mime_type == "image/png" else "jpg")
        media.store(key, picture.data, picture.mime_type)
        shared.charge(ctx, OPERATION, shared.usage_dict(result.usage), key=f"{ctx.charge_key}#{image.image_id}",
                      related=image.image_id, article=content.content_id, figures={"images": 1})
        url = f"/v1/sites/{ctx.site_id}/images/{image.image_id}/file"
        # The same file serves as its thumbnail until WordPress makes its own sizes (publishing
        # replaces it with the media library's thumbnail).
        image.update(actions=[ContentImage.storage_key.set(key), ContentImage.provider.set(result.usage.provider),
                              ContentImage.url.set(url), ContentImage.thumbnail_url.set(url)])
        image.refresh()
        if image.status != "generated":
            state_machines.transition(image, "status", "generated")
        rendered += 1
    return ItemOutcome({"images_rendered": rendered, "images_generated": len(images)})


STAGE = StageDef(module="writer", ids_field="content_ids", select=shared.select_content("draft"), run=run,
                 estimate=estimate, description="render images", record_kind="content")
