"""The demo's publishing step (infra/demo_publish.py) through the API, with and without a WordPress."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

import app as app_module
from infra.demo_publish import step_publish
from infra.local.worker import WorkerLoop
from tests.api.fake_wordpress import PASSWORD, URL, USER, FakeWordPress
from tests.api.planner_env import make_site, ok


class StepError(Exception):
    pass


class Http:
    """demo.http's interface over the test client."""

    def __init__(self, api: Any, token: str) -> None:
        self.api, self.token = api, token

    def call(self, method: str, path: str, body: Any = None, *, expect: int | tuple[int, ...] = 200) -> Any:
        r = self.api.request(method, path, json_body=body, token=self.token)
        if r.status not in ((expect,) if isinstance(expect, int) else expect):
            raise StepError(f"{method} {path}: {r.status} {r.json}")
        return r.json

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.call("POST", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.call("PATCH", path, body, **kw)


@dataclass
class DemoShim:
    http: Http
    loop: WorkerLoop
    facts: dict[str, Any] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)

    def wait_until(self, what: str, check: Callable[[], Any], *, timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.loop.drain(max_seconds=timeout)  # the stack's workers run in the background; here, now
            result = check()
            if result:
                return result
        raise StepError(f"timed out waiting for {what}")


@pytest.fixture
def demo(api, register, aws, monkeypatch):
    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("SECRETS_KMS_KEY_ID", key_id)
    for name in ("WP_URL", "WP_USERNAME", "WP_APP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    owner = register()
    site = make_site(api, owner)
    ids = [ok(api.post(f"{site.base}/content", {"sector_id": site.sectors[0], "title": f"Article {n}",
                                                "body_html": "<h2>A</h2><p>text</p>"}, token=owner.token), 201)
           ["content_id"] for n in range(3)]
    shim = DemoShim(Http(api, owner.token), WorkerLoop(app_module, backoff=lambda n: 0))
    shim.facts.update(site_id=site.site_id, content_ids=ids)
    return shim


def test_without_wordpress_it_schedules_and_says_how_to_connect(demo):
    line = step_publish(demo)
    assert "3 article(s) scheduled" in line and "WP_URL, WP_USERNAME and WP_APP_PASSWORD" in line, line
    assert demo.counts["scheduled article"] == 3
    site = f"/v1/sites/{demo.facts['site_id']}"
    states = {demo.http.get(f"{site}/content/{c}")["site_status"] for c in demo.facts["content_ids"]}
    assert states == {"scheduled"}


def test_with_wordpress_it_connects_and_publishes(demo, monkeypatch):
    wp = FakeWordPress().install(monkeypatch)
    monkeypatch.setenv("WP_URL", URL)
    monkeypatch.setenv("WP_USERNAME", USER)
    monkeypatch.setenv("WP_APP_PASSWORD", PASSWORD)
    line = step_publish(demo)
    assert f"connected {URL}" in line and "published 'Article 0'" in line and "2 more scheduled" in line, line
    assert len(wp.posts_with(demo.facts["content_ids"][0])) == 1
    assert demo.counts["published post"] == 1


def test_half_a_configuration_is_an_error(demo, monkeypatch):
    monkeypatch.setenv("WP_URL", URL)
    with pytest.raises(Exception, match="WP_USERNAME"):
        step_publish(demo)
