"""Demo step: the articles' content scores, then internal links between them (the linker module).

The free plan's credits write one article, so an editor adds a short one by hand on the same keywords
(no credits: written through the content API, scored like any other). The linker is switched on for
the demo account, the site accepts the best two suggestions of each article automatically, and the
link stage runs on both: the step prints each article's score and the links it accepted.
"""

from __future__ import annotations

from typing import Any


def step_links_and_scores(demo: Any) -> str:
    from infra.demo import run_job

    site = f"/v1/sites/{demo.facts['site_id']}"
    content_ids = demo.facts["content_ids"]
    first = demo.http.get(f"{site}/content/{content_ids[0]}")
    keywords = first["keywords"] or [first["title"]]
    paragraphs = [f"Quick notes on {k}: what to check first, what to change, and what to leave alone." for k in
                  keywords[:4]]
    note = demo.http.post(f"{site}/content", {
        "sector_id": first["sector_id"], "title": f"{keywords[0].capitalize()}: quick notes",
        "body_html": "".join(f"<p>{p}</p>" for p in paragraphs)}, expect=201)
    content_ids = [*content_ids, note["content_id"]]
    demo.counts["article"] += 1
    demo.http.patch("/v1/account/modules", {"linker": True})
    demo.http.patch(f"{site}/links/settings", {"max_links": 3, "auto_accept": 2})
    job = run_job(demo, "link_content", item_ids=content_ids, require_done=False)
    titles, lines, accepted = {}, [], 0
    for content_id in content_ids:
        article = demo.http.get(f"{site}/content/{content_id}")
        titles[content_id] = article["title"]
        links = [s for s in demo.http.get(f"{site}/content/{content_id}/links")["items"] if s["status"] == "accepted"]
        accepted += len(links)
        lines.append((article, links))
    for article, links in lines:
        shown = "; ".join(f"“{s['anchor']}” -> {titles.get(s['target_id'], s['target_title'])!r}" for s in links)
        print(f"      score {article['score']:>3} ({article['score_band']}) {article['title'][:48]!r}: "
              f"{shown or 'no link accepted'}")
    report = demo.http.get(f"{site}/links/report")
    demo.counts["link"] += accepted
    return (f"{accepted} internal links accepted in {job['done']} articles (one written by hand; auto_accept 2); "
            f"{report['totals']['orphans']} orphans, {report['totals']['broken']} broken")
