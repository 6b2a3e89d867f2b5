"""Helpers for the planner/writer API tests: an account with a site and two sectors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.bench import moto_patch

# moto copies whole tables per transaction item; this keeps bulk imports linear in tests.
moto_patch.apply()


@dataclass
class SiteEnv:
    owner: Any
    site_id: str
    sectors: list[str]

    @property
    def base(self) -> str:
        return f"/v1/sites/{self.site_id}"


def make_site(api: Any, owner: Any, *, sectors: tuple[str, ...] = ("Espresso", "Pour-over"),
              industry_id: str | None = None) -> SiteEnv:
    body: dict[str, Any] = {"name": "Home Barista", "domain": "homebarista.example"}
    if industry_id:
        body["industry_id"] = industry_id
    r = api.post("/v1/sites", body, token=owner.token)
    assert r.status == 201, r.json
    site_id = r.json["site_id"]
    sector_ids = []
    for name in sectors:
        r = api.post(f"/v1/sites/{site_id}/sectors", {"name": name}, token=owner.token)
        assert r.status == 201, r.json
        sector_ids.append(r.json["sector_id"])
    return SiteEnv(owner, site_id, sector_ids)


def all_pages(api: Any, path: str, token: str, limit: int = 2) -> list[dict]:
    """Every item of a list, following next_cursor with a small page size."""
    sep = "&" if "?" in path else "?"
    items: list[dict] = []
    cursor = None
    for _ in range(1000):
        url = f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        r = api.get(url, token=token)
        assert r.status == 200, r.json
        items += r.json["items"]
        cursor = r.json["next_cursor"]
        if not cursor:
            return items
    raise AssertionError("pagination did not end")


def ok(resp: Any, status: int = 200) -> Any:
    assert resp.status == status, (resp.status, resp.json)
    return resp.json


def create(api: Any, env: SiteEnv, what: str, body: dict, token: str | None = None) -> dict:
    return ok(api.post(f"{env.base}/{what}", body, token=token or env.owner.token), 201)


def seed_records(api: Any, env: SiteEnv) -> dict[str, str]:
    """One record of each kind, linked: keyword in cluster, idea of cluster, task of idea, content, image."""
    token = env.owner.token
    kw = create(api, env, "keywords", {"keyword": "best burr grinder", "sector_id": env.sectors[0]})
    cluster = create(api, env, "clusters", {"sector_id": env.sectors[0], "name": "Grinders"})
    ok(api.post(f"{env.base}/clusters/{cluster['cluster_id']}/keywords", {"keyword_ids": [kw["keyword_id"]]},
                token=token))
    idea = create(api, env, "ideas", {"cluster_id": cluster["cluster_id"], "title": "The best burr grinders"})
    task = create(api, env, "tasks", {"idea_id": idea["idea_id"], "title": "Write: burr grinders"})
    content = create(api, env, "content", {"task_id": task["task_id"], "title": "Burr grinders",
                                           "body_html": "<p>Grind fresh.</p>"})
    image = create(api, env, "images", {"content_id": content["content_id"], "prompt": "a burr grinder"})
    return {"keyword_id": kw["keyword_id"], "cluster_id": cluster["cluster_id"], "idea_id": idea["idea_id"],
            "task_id": task["task_id"], "content_id": content["content_id"], "image_id": image["image_id"],
            "sector_id": env.sectors[0]}
