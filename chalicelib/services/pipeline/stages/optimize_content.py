"""The optimize stage: ask the AI to mend an article's weakest score factors; keep the result only if it
scores higher, with the article before as a restorable revision.

plan: score the article, ask for the improvement of its weakest factors, score the answer (all stored
on the item); charge ``optimization`` credits once (the item's business key); apply: the new article and
its revision in one transaction (a redelivery finds the revision and writes nothing twice).
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import Conflict
from chalicelib.ids import derived_id
from chalicelib.models.writer import Content
from chalicelib.services import credits, html, writer
from chalicelib.services.optimizer import revisions, scoring
from chalicelib.services.pipeline.stage import ItemContext, ItemFailed, ItemOutcome, ItemSkipped, ItemSpec, StageDef
from chalicelib.services.pipeline.stages import shared

OPERATION = "optimize_content"
WEAKEST = 6  # the factors the AI is asked to improve, most points lost first


def estimate(account_id: str, site_id: str, items: list[ItemSpec]) -> dict[str, int]:
    return credits.estimate_operation(OPERATION, len(items), shared.model_name("text"))


def weakest(breakdown: dict[str, Any], count: int = WEAKEST) -> list[dict[str, Any]]:
    lost = [f for f in breakdown["factors"] if f["applicable"] and f["weight"] > 0 and f["value"] < 1]
    lost.sort(key=lambda f: (-(f["weight"] * (1 - f["value"])), f["factor"]))
    penalties = [f for f in breakdown["factors"] if f["weight"] < 0 and f["value"] > 0]
    return (penalties + lost)[:count]


def _candidate(content: Content, answer: dict[str, str]) -> Content:
    """The article as the answer would make it (for scoring; never saved)."""
    fields = {k: getattr(content, k) for k in ("account_id", "site_id", "sector_id", "keywords", "external_url")}
    return Content(content.site_key, content.content_id, **fields, title=answer["title"],
                   meta_title=answer["meta_title"], meta_description=answer["meta_description"])


def request(content: Content, weak: list[dict[str, Any]]) -> dict[str, Any]:
    """The variables of the ``content_optimization`` call for the article and its weakest factors."""
    keywords = list(content.keywords or [])
    return {"content_type": getattr(content, "content_type", None) or "blog_article",
            "primary_keyword": keywords[0] if keywords else "", "secondary_keywords": keywords[1:],
            "advice": "\n".join(f"- {f['factor']}: {f['advice']}" for f in weak), "title": content.title,
            "meta_title": content.meta_title or "", "meta_description": content.meta_description or "",
            "html": content.body_html}


def judge(content: Content, data: Any, *, with_images: bool = True) -> tuple[dict[str, str], int]:
    """The article the answer proposes (sanitised) and its score."""
    result = {"title": data.title[:255], "meta_title": data.meta_title[:255],
              "meta_description": data.meta_description[:1000], "body_html": html.sanitize(data.html)}
    return result, scoring.score_of(_candidate(content, result), result["body_html"], with_images=with_images)["score"]


def _plan(ctx: ItemContext, content: Content) -> dict[str, Any]:
    before = scoring.score_of(content, content.body_html)
    weak = weakest(before)
    if not weak:
        raise ItemSkipped("every factor of the score is at full marks")
    engine = shared.engine(ctx.account_id)
    shared.require_balance(ctx, OPERATION, engine.text_route.model)
    answer = shared.ai_call(lambda: engine.run_stage("content_optimization", request(content, weak)))
    result, after = judge(content, answer.data)
    return {"before": before["score"], "after": after, "weak": [f["factor"] for f in weak],
            "article": result, "usage": shared.usage_dict(answer.usage)}


def run(ctx: ItemContext) -> ItemOutcome:
    if shared.stored_plan(ctx) is None:  # once planned (and charged), an item finishes what it paid for
        shared.require_module(ctx, "optimizer")
    content = shared.item_record(ctx, writer.get_content, "content", with_body=True)
    plan = shared.planned(ctx, lambda: _plan(ctx, content))
    usage = plan["usage"]
    shared.charge(ctx, OPERATION, usage, article=content.content_id,
                  figures={"input_tokens": usage["input_tokens"], "output_tokens": usage["output_tokens"]})
    outcome = {"score_before": plan["before"], "score_after": plan["after"], "factors": plan["weak"]}
    if plan["after"] <= plan["before"]:  # never keep a result that does not score higher
        return ItemOutcome({**outcome, "kept": False})
    revision_id = derived_id(ctx.job.job_id, ctx.item.item_id)
    try:
        written = revisions.replace_article(content, plan["article"], revision_id=revision_id, reason="optimize",
                                            score_before=plan["before"], score_after=plan["after"],
                                            job_id=ctx.job.job_id)
    except Conflict as exc:
        raise ItemFailed(exc.message, code="content_changed") from None
    writer.reindex_content(writer.get_content(ctx.account_id, ctx.site_id, content.content_id))
    return ItemOutcome({**outcome, "kept": True, "revision_id": revision_id, "written": written})


STAGE = StageDef(module="optimizer", ids_field="content_ids", select=shared.select_content("draft"), run=run,
                 estimate=estimate, description="optimize articles", record_kind="content")
