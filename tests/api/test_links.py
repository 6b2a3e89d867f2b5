"""Internal links through the API: suggested from the article's own sentences, accepted into the body once,
kept true when the target goes, counted in the site's report; the module switch gates it."""

from __future__ import annotations

import re

from tests.api.planner_env import create, make_site, ok

ESPRESSO = ("<p>Home espresso starts with a good grinder and fresh beans.</p>"
            "<h2>Grind size for espresso</h2><p>A fine grind slows the shot. Dial in the grind size slowly.</p>"
            "<p>Milk frothing needs cold milk and a clean steam wand. Purge the steam wand after frothing.</p>"
            "<p>Descaling the espresso machine every month keeps the boiler clean.</p>")
GRINDER = ("<p>A burr grinder gives an even grind size for espresso. Grind size matters more than the beans.</p>"
           "<p>Choose a grinder with fine steps for espresso grind size.</p>")
FROTHING = ("<p>Milk frothing makes microfoam for a latte. Cold milk froths best with a steam wand.</p>"
            "<p>Purge the steam wand after milk frothing.</p>")
DESCALING = ("<p>Descaling an espresso machine removes scale from the boiler. Descale the machine monthly.</p>"
             "<p>Use a descaling solution made for espresso machines.</p>")


def _site(api, register):
    owner = register()
    ok(api.patch("/v1/account/modules", {"linker": True}, token=owner.token))
    env = make_site(api, owner)
    return owner, env


def _article(api, env, title, body):
    return create(api, env, "content", {"sector_id": env.sectors[0], "title": title, "body_html": body})


def test_suggestions_take_anchors_from_the_articles_prose_and_accepting_inserts_the_link_once(api, register):
    owner, env = _site(api, register)
    t = owner.token
    source = _article(api, env, "Home espresso", ESPRESSO)
    grinder = _article(api, env, "Espresso grind size", GRINDER)
    froth = _article(api, env, "Milk frothing", FROTHING)
    descale = _article(api, env, "Descaling an espresso machine", DESCALING)
    base = f"{env.base}/content/{source['content_id']}/links"

    made = ok(api.post(f"{base}/suggest", {}, token=t))["items"]
    by_target = {s["target_id"]: s for s in made}
    assert set(by_target) == {grinder["content_id"], froth["content_id"], descale["content_id"]}
    for s in made:
        assert s["status"] == "suggested" and s["relevance"] > 0 and s["reason"]
        assert s["anchor"] in re.sub(r"<[^>]+>", " ", ESPRESSO)
        assert s["anchor"] not in "Grind size for espresso"  # never in a heading
    assert len({s["anchor"] for s in made}) == len(made)

    target = grinder["content_id"]
    for _ in range(3):  # a retried accept inserts the link once
        accepted = ok(api.post(f"{base}/{target}/accept", {}, token=t))
    assert accepted["status"] == "accepted" and accepted["href"] == "/espresso-grind-size/"
    body = ok(api.get(f"{env.base}/content/{source['content_id']}", token=t))
    assert body["body_html"].count(f'id="link-{target}"') == 1
    assert body["body_html"].count('class="internal-link"') == 1
    internal = next(f for f in body["score_breakdown"]["factors"] if f["factor"] == "internal_links")
    assert internal["value"] == 0.5  # one of the two it wants: the score saw the link

    again = ok(api.post(f"{base}/suggest", {}, token=t))["items"]  # the accepted link stays, not suggested twice
    assert [s["status"] for s in again if s["target_id"] == target] == ["accepted"]

    dismissed = ok(api.post(f"{base}/{froth['content_id']}/dismiss", {}, token=t))
    assert dismissed["status"] == "dismissed"
    r = api.post(f"{base}/{froth['content_id']}/accept", {}, token=t)
    assert r.status == 409 and r.error_code == "suggestion_closed"
    r = api.post(f"{base}/nonexistent/accept", {}, token=t)
    assert r.status == 404


def test_deleting_a_target_unwraps_the_links_to_it_and_the_report_counts_links(api, register):
    owner, env = _site(api, register)
    t = owner.token
    source = _article(api, env, "Home espresso", ESPRESSO)
    grinder = _article(api, env, "Espresso grind size", GRINDER)
    _article(api, env, "Milk frothing", FROTHING)
    base = f"{env.base}/content/{source['content_id']}/links"
    ok(api.post(f"{base}/suggest", {}, token=t))
    ok(api.post(f"{base}/{grinder['content_id']}/accept", {}, token=t))

    report = ok(api.get(f"{env.base}/links/report", token=t))
    rows = {r["content_id"]: r for r in report["articles"]}
    assert rows[source["content_id"]]["outbound"] == 1 and rows[grinder["content_id"]]["inbound"] == 1
    assert source["content_id"] in report["orphans"] and grinder["content_id"] not in report["orphans"]
    assert report["broken"] == [] and report["totals"]["links"] == 1

    ok(api.delete(f"{env.base}/content/{grinder['content_id']}", token=t))
    body = ok(api.get(f"{env.base}/content/{source['content_id']}", token=t))["body_html"]
    assert "internal-link" not in body and "good grinder" in body  # the anchor text stays
    links = ok(api.get(base, token=t))["items"]
    assert [s["status"] for s in links if s["target_id"] == grinder["content_id"]] == ["removed"]
    assert ok(api.get(f"{env.base}/links/report", token=t))["totals"]["links"] == 0


def test_auto_accept_accepts_the_best_suggestions(api, register):
    owner, env = _site(api, register)
    t = owner.token
    r = api.patch(f"{env.base}/links/settings", {"max_links": 2, "auto_accept": 3}, token=t)
    assert r.status == 422 and r.error_code == "invalid_settings"
    assert ok(api.patch(f"{env.base}/links/settings", {"max_links": 2, "auto_accept": 1}, token=t))["auto_accept"] == 1
    source = _article(api, env, "Home espresso", ESPRESSO)
    for title, body in (("Espresso grind size", GRINDER), ("Milk frothing", FROTHING),
                        ("Descaling an espresso machine", DESCALING)):
        _article(api, env, title, body)
    made = ok(api.post(f"{env.base}/content/{source['content_id']}/links/suggest", {}, token=t))["items"]
    assert len(made) == 2  # max_links
    assert [s["status"] for s in made] == ["accepted", "suggested"]  # the best one, accepted
    assert made[0]["accepted_by"] == "auto"


def test_the_linker_module_switch_gates_its_routes(api, register):
    owner = register()
    env = make_site(api, owner)
    r = api.get(f"{env.base}/links/report", token=owner.token)
    assert r.status == 403 and r.error_code == "module_disabled"
