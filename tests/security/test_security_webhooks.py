"""Webhooks under fire: forged, stale, replayed and cross-tenant WordPress deliveries are refused,
all alike (a caller learns nothing about which check failed), and change nothing.

Stripe's webhook tests (tests/api/test_stripe_webhooks.py) carry the ``security`` marker
themselves, so ``make test-security`` runs them with these.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import boto3
import pytest

import app as app_module
from chalicelib.integrations.wordpress.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, signature_headers
from infra.local.worker import WorkerLoop
from tests.api.fake_wordpress import PASSWORD, URL, USER, FakeWordPress
from tests.api.planner_env import make_site, ok
from tests.security import figures

pytestmark = pytest.mark.security


@pytest.fixture
def wp(aws, monkeypatch) -> FakeWordPress:
    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("SECRETS_KMS_KEY_ID", key_id)
    monkeypatch.setenv("PUBLIC_API_URL", "https://api.example.com")
    return FakeWordPress().install(monkeypatch)


def _published_article(api: Any, env: Any, title: str) -> dict[str, Any]:
    c = ok(api.post(f"{env.base}/content", {"sector_id": env.sectors[0], "title": title,
                                            "body_html": "<h2>One</h2><p>a b c</p>"}, token=env.owner.token), 201)
    ok(api.patch(f"{env.base}/content/{c['content_id']}", {"status": "approved"}, token=env.owner.token))
    ok(api.post(f"{env.base}/content/{c['content_id']}/publish", token=env.owner.token), 202)
    WorkerLoop(app_module, backoff=lambda n: 0).drain(max_seconds=60)
    published = ok(api.get(f"{env.base}/content/{c['content_id']}", token=env.owner.token))
    assert published["site_status"] == "published", published
    return published


def _event(content: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {"event": "trashed", "post_id": int(content["external_id"]), "content_id": content["content_id"],
            "status": "trash", "link": content["external_url"], "modified_gmt": "2030-01-01T00:00:00",
            "timestamp": int(time.time()), "nonce": secrets.token_hex(16), **changes}


def _post(api: Any, site_id: str, raw: bytes, headers: dict[str, str]) -> Any:
    return api.request("POST", f"/v1/webhooks/wordpress/{site_id}", body=raw, headers=headers)


def _signed(raw: bytes, secret: str, timestamp: int) -> dict[str, str]:
    return {k: v for k, v in signature_headers(raw, secret, timestamp).items() if k != "Content-Type"}


def test_forged_stale_replayed_and_cross_tenant_webhooks_change_nothing(api, register, wp):
    a_env = make_site(api, register("alpha"))
    ok(api.post(f"{a_env.base}/integrations", {"url": URL, "username": USER, "app_password": PASSWORD},
                token=a_env.owner.token), 201)
    a_secret = wp.companion_settings["secret"]
    a_content = _published_article(api, a_env, "Alpha article")

    b_env = make_site(api, register("bravo"))
    ok(api.post(f"{b_env.base}/integrations", {"url": URL, "username": USER, "app_password": PASSWORD},
                token=b_env.owner.token), 201)
    b_secret = wp.companion_settings["secret"]
    assert b_secret != a_secret
    b_content = ok(api.post(f"{b_env.base}/content", {"sector_id": b_env.sectors[0], "title": "Bravo article"},
                            token=b_env.owner.token), 201)

    def state() -> str:
        return json.dumps([ok(api.get(f"{a_env.base}/content/{a_content['content_id']}", token=a_env.owner.token)),
                           ok(api.get(f"{b_env.base}/content/{b_content['content_id']}", token=b_env.owner.token))],
                          sort_keys=True)

    before = state()
    now = int(time.time())
    event = _event(a_content)
    raw = json.dumps(event).encode()
    good = _signed(raw, a_secret, event["timestamp"])
    altered = json.dumps({**event, "event": "deleted"}).encode()
    stale = json.dumps({**event, "timestamp": now - 900}).encode()
    future = json.dumps({**event, "timestamp": now + 3600}).encode()
    b_victim = json.dumps({**event, "content_id": b_content["content_id"]}).encode()
    oversized = json.dumps({**event, "link": "x" * 70_000}).encode()
    forged: dict[str, tuple[str, bytes, dict[str, str]]] = {
        "unsigned": (a_env.site_id, raw, {}),
        "only a timestamp": (a_env.site_id, raw, {TIMESTAMP_HEADER: str(now)}),
        "signed with a guessed secret": (a_env.site_id, raw, _signed(raw, "not-the-secret-" * 3, now)),
        "signed with B's own plugin secret": (a_env.site_id, raw, _signed(raw, b_secret, now)),
        "body altered after signing": (a_env.site_id, altered, good),
        "signature without its prefix": (a_env.site_id, raw, {**good, SIGNATURE_HEADER: sign(raw, a_secret, now)[7:]}),
        "stale (15 minutes old)": (a_env.site_id, stale, _signed(stale, a_secret, now - 900)),
        "from the future (1 hour)": (a_env.site_id, future, _signed(future, a_secret, now + 3600)),
        "header and body timestamps differ": (a_env.site_id, raw, _signed(raw, a_secret, now - 5)),
        "A's delivery sent to B's site": (b_env.site_id, raw, good),
        "B's content through A's site, signed with B's secret": (a_env.site_id, b_victim,
                                                                 _signed(b_victim, b_secret, event["timestamp"])),
        "unknown site": ("no-such-site", raw, good),
        "a site id that is no id": ("..%2F..%2Fsites", raw, good),
        "oversized body, signed": (a_env.site_id, oversized, _signed(oversized, a_secret, event["timestamp"])),
    }
    answers = set()
    for kind, (site_id, body, headers) in forged.items():
        r = _post(api, site_id, body, headers)
        assert r.status in (401, 404), f"{kind}: {r.status} {r.json}"
        if r.status == 401:
            assert r.error_code == "invalid_signature", (kind, r.json)
            answers.add(r.json["error"]["message"])
        assert set(r.json) == {"error"} and r.headers.get("X-Request-Id"), (kind, r.json)
    assert len(answers) == 1, f"refusals must not tell which check failed: {answers}"
    assert state() == before, "a refused webhook changed something"

    # B's content named in a delivery that A's plugin signed: not A's, so not touched.
    named = json.dumps({**event, "content_id": b_content["content_id"], "nonce": secrets.token_hex(16)}).encode()
    r = _post(api, a_env.site_id, named, _signed(named, a_secret, event["timestamp"]))
    assert r.status == 200 and r.json["handled"] is False, r.json
    assert state() == before

    # The genuine delivery still works (no forged attempt consumed its nonce) -- once.
    r = _post(api, a_env.site_id, raw, good)
    assert r.status == 200 and r.json["handled"] is True, r.json
    after = state()
    assert after != before
    replays = [_post(api, a_env.site_id, raw, good) for _ in range(3)]
    replays.append(_post(api, a_env.site_id, raw, {k.lower(): v for k, v in good.items()}))
    for replay in replays:
        assert replay.status == 401 and replay.error_code == "invalid_signature", replay.json
    assert state() == after, "a replayed webhook changed something"
    figures.record("webhooks (WordPress)", forged=len(forged) + 1, replayed=len(replays), accepted=1)
