"""Every planner/writer route: another account gets 404, a viewer cannot write (403), a
disabled module answers 403 module_disabled -- checked route by route from the route table."""

from __future__ import annotations

import re

import pytest

import chalicelib.api.planner
import chalicelib.api.writer  # noqa: F401 - registers the routes
from chalicelib.api.routing import ROUTES
from tests.api.planner_env import make_site, ok, seed_records

pytestmark = pytest.mark.security  # make test-security

SITE_ROUTES = [s for s in ROUTES if s.path.startswith("/v1/sites/{site_id}/") and s.module in ("planner", "writer")]


def _fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], path)


STATUS_FOR = {"keywords": "archived", "ideas": "approved", "tasks": "in_progress", "content": "review",
              "images": "generated"}


def valid_body(spec, ids: dict[str, str]) -> dict:
    """A body that passes validation, so the answer shows what the route does with the ids."""
    parts = spec.path.split("/")
    resource, last = parts[4], parts[-1]
    sector = ids["sector_id"]
    if last == "bulk-status":
        key = {"keywords": "keyword_id", "ideas": "idea_id", "tasks": "task_id", "content": "content_id",
               "images": "image_id"}[resource]
        return {"ids": [ids[key]], "status": STATUS_FOR[resource]}
    if last == "bulk-delete":
        return {"ids": [ids[resource.rstrip("s") + "_id" if resource != "content" else "content_id"]]}
    if last in ("keywords", "remove") and resource == "clusters":
        return {"keyword_ids": [ids["keyword_id"]]}
    if last == "import":
        return {"sector_id": sector, "keywords": ["x"]}
    if last == "from-seeds":
        return {"sector_id": sector}
    if spec.method == "POST":
        return {"keywords": {"keyword": "new one", "sector_id": sector},
                "clusters": {"sector_id": sector, "name": "n"},
                "ideas": {"sector_id": sector, "title": "t"},
                "tasks": {"sector_id": sector, "title": "t"},
                "content": {"sector_id": sector, "title": "t"},
                "images": {"content_id": ids["content_id"], "prompt": "p"}}[resource]
    if spec.method == "PATCH":
        return {"keywords": {"search_volume": 5}, "clusters": {"name": "n"}, "ideas": {"title": "t"},
                "tasks": {"title": "t"}, "content": {"title": "t"}, "images": {"alt_text": "a"}}[resource]
    return {}


def _call(api, spec, path, token, ids):
    if "application/json" in spec.content_types:
        body = valid_body(spec, ids) if spec.method != "GET" else None
        return api.request(spec.method, path, json_body=body, token=token)
    return api.request(spec.method, path, body=b"keyword\nx\n", token=token, headers={"content-type": "text/csv"})


def test_the_route_table_covers_every_resource():
    paths = {s.path for s in SITE_ROUTES}
    for resource in ("keywords", "clusters", "ideas", "tasks", "content", "images"):
        assert f"/v1/sites/{{site_id}}/{resource}" in paths
        assert any(p.startswith(f"/v1/sites/{{site_id}}/{resource}/{{") for p in paths)
    assert len(SITE_ROUTES) >= 40


def test_another_account_gets_404_on_every_route(api, register):
    owner, stranger = register("owner"), register("stranger")
    env = make_site(api, owner)
    ids = {"site_id": env.site_id, **seed_records(api, env)}
    for spec in SITE_ROUTES:
        r = _call(api, spec, _fill(spec.path, ids), stranger.token, ids)
        assert r.status == 404, (spec.method, spec.path, r.status, r.json)
    # and nothing was changed: the owner still sees every record
    for what, key in (("keywords", "keyword_id"), ("clusters", "cluster_id"), ("ideas", "idea_id"),
                      ("tasks", "task_id"), ("content", "content_id"), ("images", "image_id")):
        ok(api.get(f"{env.base}/{what}/{ids[key]}", token=owner.token))


def test_a_viewer_reads_but_cannot_write(api, register, add_member):
    owner = register()
    viewer = add_member(owner, "viewer")
    env = make_site(api, owner)
    ids = {"site_id": env.site_id, **seed_records(api, env)}
    for spec in SITE_ROUTES:
        r = _call(api, spec, _fill(spec.path, ids), viewer.token, ids)
        if spec.writes:
            assert r.status == 403 and r.error_code == "insufficient_role", (spec.method, spec.path, r.json)
        elif spec.path.endswith("/file"):
            # the seeded image has not been rendered: no file yet, said plainly (not a 403)
            assert r.status == 404 and r.json["error"]["message"] == "Image file not found.", r.json
        else:
            assert r.status == 200, (spec.method, spec.path, r.json)


@pytest.mark.parametrize("module", ["planner", "writer"])
def test_a_disabled_module_answers_403_on_each_of_its_routes(api, register, module):
    owner = register()
    env = make_site(api, owner)
    ids = {"site_id": env.site_id, **seed_records(api, env)}
    ok(api.patch("/v1/account/modules", {module: False}, token=owner.token))
    for spec in SITE_ROUTES:
        r = _call(api, spec, _fill(spec.path, ids), owner.token, ids)
        if spec.module == module:
            assert r.status == 403 and r.error_code == "module_disabled", (spec.method, spec.path, r.json)
            assert r.json["error"]["details"]["module"] == module
        else:
            assert r.status != 403, (spec.method, spec.path, r.json)
