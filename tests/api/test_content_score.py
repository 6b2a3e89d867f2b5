"""The content score through the API: scored on create and on every edit, explained on GET, listed by band
and lowest first."""

from __future__ import annotations

from tests.api.planner_env import all_pages, create, make_site, ok

THIN = "<p>Some words about coffee.</p>"
RICH = ("<p>Home espresso is easy to learn. " + "Grind fresh beans and weigh each dose. " * 30 + "</p>"
        "<h2>Choosing an espresso grinder</h2><p>" + "A burr grinder gives even grounds. " * 60 + "</p>"
        "<h2>Milk frothing basics</h2><p>" + "Steam the milk until the jug is warm. " * 60 + "</p>"
        "<h2>FAQ</h2><h3>Is home espresso hard?</h3><p>" + "It takes a week of practice. " * 40 + "</p>"
        '<p>See <a href="https://example.org/study">a study</a>.</p><img src="/a.png" alt="A cup of espresso">')


def _task(api, env, **extra):
    return create(api, env, "tasks", {"sector_id": env.sectors[0], "title": "Home espresso",
                                      "primary_keyword": "home espresso",
                                      "secondary_keywords": ["espresso grinder", "milk frothing"], **extra})


def test_content_is_scored_on_create_and_rescored_on_every_edit(api, register):
    owner = register()
    env = make_site(api, owner)
    task = _task(api, env)
    thin = create(api, env, "content", {"task_id": task["task_id"], "title": "Coffee notes", "body_html": THIN})
    assert thin["keywords"] == ["home espresso", "espresso grinder", "milk frothing"]  # the task's, scored for
    assert isinstance(thin["score"], int) and thin["score_band"] == "low"
    path = f"{env.base}/content/{thin['content_id']}"
    got = ok(api.get(path, token=owner.token))
    assert got["score"] == thin["score"]
    factors = {f["factor"]: f for f in got["score_breakdown"]["factors"]}
    assert factors["keyword_in_title"]["value"] == 0 and "home espresso" in factors["keyword_in_title"]["advice"]
    assert got["score_breakdown"]["score"] == got["score"]

    better = ok(api.patch(path, {"title": "Home espresso: a beginner's guide", "body_html": RICH,
                                 "meta_title": "Home espresso for beginners: the complete guide",
                                 "meta_description": "Home espresso made simple: choose a grinder, froth milk and "
                                                     "keep your machine clean, in a plain guide for beginners."},
                         token=owner.token))
    assert better["score"] > thin["score"] + 30
    assert better["score_breakdown"]["score"] == better["score"]
    renamed = ok(api.patch(path, {"title": "Coffee notes"}, token=owner.token))  # a title alone rescores too
    assert renamed["score"] < better["score"]


def test_adding_an_image_with_alt_text_raises_the_score(api, register):
    owner = register()
    env = make_site(api, owner)
    task = _task(api, env)
    c = create(api, env, "content", {"task_id": task["task_id"], "title": "Home espresso", "body_html": THIN})
    create(api, env, "images", {"content_id": c["content_id"], "alt_text": "Espresso shot",
                                "url": "https://cdn.example.com/a.png"})
    after = ok(api.get(f"{env.base}/content/{c['content_id']}", token=owner.token))
    alt = next(f for f in after["score_breakdown"]["factors"] if f["factor"] == "image_alt")
    assert alt["value"] == 1 and after["score"] > c["score"]


def test_lists_filter_by_score_band_and_sort_lowest_first(api, register):
    owner = register()
    env = make_site(api, owner)
    task = _task(api, env)
    low = create(api, env, "content", {"task_id": task["task_id"], "title": "Notes", "body_html": THIN})
    high = create(api, env, "content", {
        "task_id": _task(api, env)["task_id"], "title": "Home espresso: a beginner's guide", "body_html": RICH,
        "meta_title": "Home espresso for beginners: the complete guide",
        "meta_description": "Home espresso made simple: choose a grinder, froth milk and keep your machine clean, "
                            "in a plain guide for beginners."})
    mid = create(api, env, "content", {"task_id": _task(api, env)["task_id"], "title": "Home espresso",
                                       "body_html": RICH})
    ordered = all_pages(api, f"{env.base}/content?sort_by_score=true", owner.token)
    assert [c["content_id"] for c in ordered] == [c["content_id"] for c in sorted([low, mid, high],
                                                                                  key=lambda c: c["score"])]
    assert [c["score"] for c in ordered] == sorted(c["score"] for c in ordered)
    lows = all_pages(api, f"{env.base}/content?score_band=low", owner.token)
    assert [c["content_id"] for c in lows] == [low["content_id"]]
    r = api.get(f"{env.base}/content?score_band=low&status=draft", token=owner.token)
    assert r.status == 422 and r.error_code == "unsupported_filter"
