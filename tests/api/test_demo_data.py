"""The demo's keyword step (infra/demo_data.py) against the real routes."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

from infra.demo_data import demo_keywords, step_import_keywords
from tests.api.planner_env import make_site


class _Http:
    def __init__(self, api, token):
        self.api, self.token = api, token

    def post(self, path, body=None, expect=200):
        r = self.api.post(path, body, token=self.token)
        assert r.status == expect, r.json
        return r.json


def test_demo_keywords_are_realistic_and_import_cleanly(api, register):
    data = demo_keywords()
    assert set(data) == {"Espresso", "Pour-over"} and sum(len(v) for v in data.values()) >= 200
    assert all(r["search_volume"] > 0 and 0 <= r["difficulty"] <= 100 for v in data.values() for r in v)
    owner = register()
    env = make_site(api, owner, sectors=())
    demo = SimpleNamespace(http=_Http(api, owner.token), facts={"site_id": env.site_id}, counts=Counter())
    line = step_import_keywords(demo)
    assert demo.counts["keyword"] == 250 and "created 0, skipped 50" in line
