"""The content score of the demo's articles before and after the optimize stage.

Articles: the demo's keywords (``infra.demo_data``), four at a time (a primary and three secondary, as
a cluster's idea has them), written by the offline provider's ``content_generation`` answer, as the
demo's articles are. Each is scored (``optimizer.score``), then goes through the optimize stage's own
steps (``stages.optimize_content``: its weakest factors, the request, the offline provider's
``content_optimization`` answer, ``judge``) and its keep rule: a result is kept only if it scores
higher, so no article ends lower.

Standalone: ``PYTHONPATH=. .venv/bin/python -m infra.bench.optimize``.
"""

from __future__ import annotations

import random
import statistics
from collections import Counter
from typing import Any

from chalicelib.ai.providers import offline_optimizer, offline_provider
from chalicelib.ai.stages import OptimizedArticle
from chalicelib.models.writer import Content
from chalicelib.services import html
from chalicelib.services.optimizer import scoring
from chalicelib.services.pipeline.stages import optimize_content
from infra.demo_data import demo_keywords

ARTICLES = 24
KEYWORDS_PER_ARTICLE = 4


def demo_articles(count: int = ARTICLES) -> list[Content]:
    out = []
    for sector, rows in sorted(demo_keywords().items()):
        words = [r["keyword"] for r in rows]
        for n in range(count // 2):
            group = words[n * KEYWORDS_PER_ARTICLE:(n + 1) * KEYWORDS_PER_ARTICLE]
            variables = {"author": "", "word_count": 1200, "title": group[0].capitalize(), "description": "",
                         "primary_keyword": group[0], "secondary_keywords": group[1:], "outline": []}
            article = offline_provider._STAGE_BUILDERS["content_generation"](variables, random.Random(n))
            content = Content(f"bench#{sector}", f"{sector}-{n}", account_id="bench", site_id=sector, sector_id=sector,
                              title=article["title"], meta_title=article["meta_title"],
                              meta_description=article["meta_description"], keywords=group)
            content.body_html = html.sanitize(article["html"])
            out.append(content)
    return out


def _band(score: int) -> str:
    return f"{score // 10 * 10}-{score // 10 * 10 + 9}"


def run() -> dict[str, Any]:
    before, after, kept = [], [], 0
    for content in demo_articles():
        rating = scoring.score_of(content, content.body_html, with_images=False)
        weak = optimize_content.weakest(rating)
        answer = OptimizedArticle(**offline_optimizer.optimize(optimize_content.request(content, weak)))
        _, proposed = optimize_content.judge(content, answer, with_images=False)
        final = proposed if proposed > rating["score"] else rating["score"]  # the stage's keep rule
        kept += final != rating["score"]
        before.append(rating["score"])
        after.append(final)
    rows = [{"when": label, "articles": len(values), "mean": round(statistics.mean(values), 1),
             "min": min(values), "median": statistics.median(values), "max": max(values),
             "distribution": dict(sorted(Counter(_band(v) for v in values).items()))}
            for label, values in (("before optimize", before), ("after optimize", after))]
    lower = sum(1 for b, a in zip(before, after, strict=True) if a < b)
    return {"title": "Content score of the demo's articles before and after the optimize stage (offline provider)",
            "rows": rows, "kept": kept, "lower": lower,
            "notes": [f"{kept} of {len(before)} results kept (higher score); articles scored lower after: {lower}"]}


if __name__ == "__main__":
    from infra.bench.__main__ import format_table

    result = run()
    print(result["title"])
    print(format_table(result["rows"]))
    print(result["notes"][0])
