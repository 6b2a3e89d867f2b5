"""Publisher routes: WordPress connections (fake WordPress), settings + re-planning, schedule / unschedule /
publish now / retry through the real publish worker, the calendar, signed webhooks, image files."""

from __future__ import annotations

import json
import secrets
import time
from datetime import datetime, timedelta

import boto3
import pytest

import app as app_module
from chalicelib.integrations.wordpress.errors import WPBadRequest, WPUnavailable
from chalicelib.integrations.wordpress.webhooks import signature_headers
from chalicelib.models.publisher import PublishCounter
from chalicelib.services import media
from chalicelib.services.publishing import slots
from chalicelib.services.publishing.reservations import LEAD_TIME
from chalicelib.timeutil import utcnow
from infra.local.clock import Clock
from infra.local.worker import WorkerLoop
from tests.api.fake_wordpress import PASSWORD, URL, USER, FakeWordPress
from tests.api.planner_env import make_site, ok

ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@pytest.fixture
def kms(aws, monkeypatch):
    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("SECRETS_KMS_KEY_ID", key_id)
    monkeypatch.setenv("PUBLIC_API_URL", "https://api.example.com")
    return key_id


@pytest.fixture
def wp(kms, monkeypatch) -> FakeWordPress:
    return FakeWordPress().install(monkeypatch)


@pytest.fixture
def env(api, register):
    owner = register()
    site = make_site(api, owner)
    ok(api.patch(f"/v1/sites/{site.site_id}", {"time_zone": "Europe/Berlin"}, token=owner.token))
    return site


@pytest.fixture
def loop(aws) -> WorkerLoop:
    return WorkerLoop(app_module, backoff=lambda n: 0)


def fire_tick() -> dict:
    """The publishing schedule's handler, called as EventBridge would (through the local clock)."""
    return Clock(app_module).fire("publishing")


def connect(api, env, **overrides):
    body = {"url": URL, "username": USER, "app_password": PASSWORD, **overrides}
    return api.post(f"{env.base}/integrations", body, token=env.owner.token)


def article(api, env, title: str = "Dial in espresso", *, approve: bool = True) -> dict:
    c = ok(api.post(f"{env.base}/content", {"sector_id": env.sectors[0], "title": title,
                                            "body_html": "<h2>One</h2><p>a b c</p><h2>Two</h2><p>d</p>",
                                            "meta_title": "Dial in", "meta_description": "m" * 120},
                    token=env.owner.token), 201)
    if approve:
        c = ok(api.patch(f"{env.base}/content/{c['content_id']}", {"status": "approved"}, token=env.owner.token))
    return c


def settings(api, env, **values):
    return api.put(f"{env.base}/publishing/settings", values, token=env.owner.token)


def content(api, env, content_id: str) -> dict:
    return ok(api.get(f"{env.base}/content/{content_id}", token=env.owner.token))


def expected_slots(time_zone: str, days: list[str], times: list[str], n: int) -> list[datetime]:
    it = slots.iter_slots(after=utcnow() + LEAD_TIME, time_zone=time_zone, publish_days=days, time_slots=times)
    return [next(it).at for _ in range(n)]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- integrations --------------------------------------------------------------------------

def test_connect_masks_the_password_and_syncs_the_structure(api, env, wp, add_member):
    r = connect(api, env)
    assert r.status == 201, r.json
    body = r.json
    assert PASSWORD not in r.raw.decode() and "app_password" not in body
    assert body["app_password_hint"] == "••••" + PASSWORD[-4:]
    assert body["connection_status"] == "connected" and body["sync_status"] == "completed"
    assert [c["name"] for c in body["categories"]] == ["Uncategorized"] and body["post_types"][0]["slug"] == "post"
    assert body["plugin_active"] and body["webhooks_enabled"]
    assert wp.companion_settings["site_id"] == env.site_id
    assert wp.companion_settings["product_url"] == "https://api.example.com"
    listed = ok(api.get(f"{env.base}/integrations", token=env.owner.token))["items"]
    assert [i["url"] for i in listed] == [URL] and PASSWORD not in json.dumps(listed)

    wp.terms["tags"]["espresso"] = 7
    synced = ok(api.post(f"{env.base}/integrations/sync", token=env.owner.token))
    assert [t["name"] for t in synced["tags"]] == ["espresso"]

    for role in ("viewer", "editor"):
        member = add_member(env.owner, role)
        r = api.post(f"{env.base}/integrations", {"url": URL, "username": USER, "app_password": PASSWORD},
                     token=member.token)
        assert r.status == 403 and r.error_code == "insufficient_role"
        assert api.delete(f"{env.base}/integrations", token=member.token).status == 403
    ok(api.delete(f"{env.base}/integrations", token=env.owner.token))
    assert ok(api.get(f"{env.base}/integrations", token=env.owner.token))["items"] == []
    assert api.post(f"{env.base}/integrations/sync", token=env.owner.token).status == 404


@pytest.mark.parametrize(("setup", "overrides", "code"), [
    (None, {"app_password": "wrong wrong wrong wrong"}, "wordpress_auth_failed"),
    (None, {"url": "https://elsewhere.example.com"}, "wordpress_not_found"),
    ("rest_disabled", {}, "wordpress_rest_disabled"),
    ("strips_auth", {}, "wordpress_auth_header_stripped"),
    (None, {"url": "http://169.254.169.254"}, "wordpress_url_not_allowed"),
    (None, {"url": "blog.example.com"}, "wordpress_url_invalid"),
])
def test_connection_errors_are_clear_and_store_nothing(api, env, wp, setup, overrides, code):
    if setup:
        setattr(wp, setup, True)
    r = connect(api, env, **overrides)
    assert r.status == 422 and r.error_code == code, r.json
    assert ok(api.get(f"{env.base}/integrations", token=env.owner.token))["items"] == []


def test_the_real_client_refuses_private_targets(api, env, kms):
    # no fake here: the SSRF guard of the real client answers before any request
    for url in ("http://10.1.2.3", "http://169.254.169.254/latest", "http://[::ffff:10.0.0.1]"):
        r = connect(api, env, url=url)
        assert r.status == 422 and r.error_code == "wordpress_url_not_allowed", (url, r.json)


# --- settings --------------------------------------------------------------------------------

def test_settings_defaults_and_validation(api, env, add_member):
    got = ok(api.get(f"{env.base}/publishing/settings", token=env.owner.token))
    assert got == {**got, "auto_approval_enabled": True, "auto_publish_enabled": True, "daily_publish_limit": 3,
                   "weekly_publish_limit": 15, "monthly_publish_limit": 50,
                   "publish_days": ["mon", "tue", "wed", "thu", "fri"],
                   "publish_time_slots": ["09:00", "14:00", "18:00"], "time_zone": "Europe/Berlin"}
    for bad in ({"daily_publish_limit": -1}, {"monthly_publish_limit": 1001}, {"publish_days": ["mon", "funday"]},
                {"publish_days": ["mon", "mon"]}, {"publish_time_slots": ["24:00"]},
                {"publish_time_slots": ["9:00"]}, {"publish_time_slots": ["09:00", "09:00"]},
                {"publish_time_slots": [f"{h:02d}:30" for h in range(24)] + ["00:00"]}, {"color": "red"}):
        r = settings(api, env, **bad)
        assert r.status == 422, (bad, r.json)
    r = settings(api, env, daily_publish_limit=20)  # weekly stays 15
    assert r.status == 422 and r.error_code == "inconsistent_limits"
    saved = ok(settings(api, env, publish_days=["sun", "mon"], publish_time_slots=["18:00", "07:30"],
                        daily_publish_limit=0))
    assert saved["publish_days"] == ["mon", "sun"] and saved["publish_time_slots"] == ["07:30", "18:00"]
    assert saved["replan"] == {"released": 0, "rescheduled": 0, "unslotted": 0, "moves": []}
    editor = add_member(env.owner, "editor")
    assert api.put(f"{env.base}/publishing/settings", {"daily_publish_limit": 1}, token=editor.token).status == 403
    viewer = add_member(env.owner, "viewer")
    assert ok(api.get(f"{env.base}/publishing/settings", token=viewer.token))["daily_publish_limit"] == 0


def test_changing_settings_replans_what_is_scheduled(api, env):
    ok(settings(api, env, publish_days=ALL_DAYS, publish_time_slots=["06:00", "12:00", "20:00"]))
    made = [article(api, env, f"A{n}") for n in range(3)]
    for c in made:
        ok(api.post(f"{env.base}/content/{c['content_id']}/schedule", token=env.owner.token))
    first = [at(content(api, env, c["content_id"])["scheduled_publish_at"]) for c in made]
    assert first == expected_slots("Europe/Berlin", ALL_DAYS, ["06:00", "12:00", "20:00"], 3)

    changed = ok(settings(api, env, daily_publish_limit=1, publish_time_slots=["08:15"]))
    assert changed["replan"]["released"] == 3 and changed["replan"]["rescheduled"] == 3
    now_at = [at(content(api, env, c["content_id"])["scheduled_publish_at"]) for c in made]
    assert now_at == expected_slots("Europe/Berlin", ALL_DAYS, ["08:15"], 3)  # one a day, in order
    assert [m["content_id"] for m in changed["replan"]["moves"]] == [c["content_id"] for c in made]

    # limits to zero: nothing fits, everything is back to "approved, not scheduled"
    changed = ok(settings(api, env, daily_publish_limit=0))
    assert changed["replan"]["unslotted"] == 3
    assert {content(api, env, c["content_id"])["site_status"] for c in made} == {"not_published"}
    calendar = ok(api.get(f"{env.base}/calendar", token=env.owner.token))
    assert all(u["used"] == 0 for u in calendar["usage"])


# --- scheduling ------------------------------------------------------------------------------

def test_schedule_unschedule_and_the_calendar(api, env, add_member):
    ok(settings(api, env, publish_days=ALL_DAYS, publish_time_slots=["09:00", "14:00"], daily_publish_limit=1,
                weekly_publish_limit=5, monthly_publish_limit=20))
    draft = article(api, env, "Draft", approve=False)
    r = api.post(f"{env.base}/content/{draft['content_id']}/schedule", token=env.owner.token)
    assert r.status == 409 and r.error_code == "content_not_approved"

    a, b = article(api, env, "A"), article(api, env, "B")
    sa = ok(api.post(f"{env.base}/content/{a['content_id']}/schedule", token=env.owner.token))
    sb = ok(api.post(f"{env.base}/content/{b['content_id']}/schedule", token=env.owner.token))
    assert sa["site_status"] == sb["site_status"] == "scheduled"
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    upcoming = expected_slots("Europe/Berlin", ALL_DAYS, ["09:00", "14:00"], 4)
    ta, tb = at(sa["scheduled_publish_at"]), at(sb["scheduled_publish_at"])
    assert ta == upcoming[0]
    assert tb == next(s for s in upcoming if s.astimezone(berlin).date() != ta.astimezone(berlin).date())
    again = ok(api.post(f"{env.base}/content/{a['content_id']}/schedule", token=env.owner.token))
    assert again["scheduled_publish_at"] == sa["scheduled_publish_at"]  # a repeat changes nothing

    viewer = add_member(env.owner, "viewer")
    start = (utcnow() - timedelta(days=1)).date().isoformat()
    cal = ok(api.get(f"{env.base}/calendar?from={start}&to={(utcnow() + timedelta(days=10)).date()}",
                     token=viewer.token))
    assert cal["time_zone"] == "Europe/Berlin"
    taken = {s["content_id"]: s for s in cal["slots"] if s["state"] != "free"}
    assert set(taken) == {a["content_id"], b["content_id"]} and taken[a["content_id"]]["title"] == "A"
    assert at(taken[a["content_id"]]["at"]) == ta
    assert datetime.fromisoformat(taken[a["content_id"]]["local_time"]) == ta.astimezone(berlin)
    assert {e["content_id"] for e in cal["entries"]} == {a["content_id"], b["content_id"]}
    days_used = {u["period"]: u for u in cal["usage"] if u["kind"] == "day" and u["used"]}
    assert len(days_used) == 2 and all(u["limit"] == 1 and u["remaining"] == 0 for u in days_used.values())
    assert api.post(f"{env.base}/content/{a['content_id']}/unschedule", token=viewer.token).status == 403

    un = ok(api.post(f"{env.base}/content/{a['content_id']}/unschedule", token=env.owner.token))
    assert un["site_status"] == "not_published" and un["scheduled_publish_at"] is None
    cal = ok(api.get(f"{env.base}/calendar?from={start}&to={(utcnow() + timedelta(days=10)).date()}",
                     token=env.owner.token))
    assert {e["content_id"] for e in cal["entries"]} == {b["content_id"]}
    assert sum(u["used"] for u in cal["usage"] if u["kind"] == "day") == 1
    # the freed first slot is given again
    again = ok(api.post(f"{env.base}/content/{a['content_id']}/schedule", token=env.owner.token))
    assert at(again["scheduled_publish_at"]) == ta

    for bad in ("from=2026-01-01&to=2026-06-01", "from=nonsense", "from=2026-02-01&to=2026-01-01"):
        r = api.get(f"{env.base}/calendar?{bad}", token=env.owner.token)
        assert r.status == 422, (bad, r.json)


def test_a_chosen_time_counts_against_the_limits_and_patch_cannot_get_around_them(api, env):
    ok(settings(api, env, daily_publish_limit=1, weekly_publish_limit=1, monthly_publish_limit=10))
    a, b = article(api, env, "A"), article(api, env, "B")
    when = (utcnow() + timedelta(days=2)).replace(microsecond=0, second=7)
    r = api.post(f"{env.base}/content/{a['content_id']}/schedule", {"at": when.isoformat()}, token=env.owner.token)
    assert ok(r)["scheduled_publish_at"].startswith(when.strftime("%Y-%m-%dT%H:%M:%S"))
    # through the content PATCH route, the same limits hold
    r = api.patch(f"{env.base}/content/{b['content_id']}", {"site_status": "scheduled",
                                                            "scheduled_publish_at": when.isoformat()},
                  token=env.owner.token)
    assert r.status == 409 and r.error_code == "publish_limit_reached", r.json
    assert content(api, env, b["content_id"])["site_status"] == "not_published"
    r = api.post(f"{env.base}/content/{b['content_id']}/schedule",
                 {"at": (when + timedelta(hours=1)).isoformat()}, token=env.owner.token)
    assert r.status == 409 and r.error_code == "publish_limit_reached"
    # moving A keeps its counts: a move within the same week and month is allowed
    later = when + timedelta(hours=3)
    moved = ok(api.patch(f"{env.base}/content/{a['content_id']}", {"site_status": "scheduled",
                                                                    "scheduled_publish_at": later.isoformat()},
                         token=env.owner.token))
    assert moved["scheduled_publish_at"].startswith(later.strftime("%Y-%m-%dT%H:%M:%S"))
    r = api.post(f"{env.base}/content/{b['content_id']}/schedule",
                 {"at": (utcnow() - timedelta(hours=1)).isoformat()}, token=env.owner.token)
    assert r.status == 422 and r.error_code == "schedule_in_past"
    counters = {c.period: int(c.count) for c in PublishCounter.query(f"{env.owner.account_id}#{env.site_id}")}
    assert all(v <= 1 for k, v in counters.items() if not k.startswith("m#")) and sum(
        v for k, v in counters.items() if k.startswith("w#")) == 1


# --- publishing through the worker ---------------------------------------------------------

def test_publish_now_publishes_once_inside_the_limits(api, env, wp, loop, add_member):
    ok(connect(api, env), 201)
    ok(settings(api, env, daily_publish_limit=1, auto_publish_enabled=False))
    a, b = article(api, env, "A"), article(api, env, "B")
    editor = add_member(env.owner, "editor")
    r = api.post(f"{env.base}/content/{a['content_id']}/publish", token=editor.token)
    assert r.status == 202 and r.json["site_status"] == "scheduled", r.json
    r = api.post(f"{env.base}/content/{b['content_id']}/publish", token=editor.token)
    assert r.status == 409 and r.error_code == "publish_limit_reached"
    loop.drain(max_seconds=60)
    got = content(api, env, a["content_id"])
    assert got["site_status"] == "published" and got["status"] == "published"
    assert got["external_url"].startswith(URL) and got["external_id"]
    posts = wp.posts_with(a["content_id"])
    assert len(posts) == 1 and posts[0]["status"] == "publish" and posts[0]["title"] == "A"
    assert posts[0]["meta"]["_yoast_wpseo_title"] == "Dial in"
    assert wp.terms["categories"]["Espresso"] in posts[0]["categories"]
    records = ok(api.get(f"{env.base}/content/{a['content_id']}/publishing-records", token=editor.token))["items"]
    assert [(r["status"], r["action"]) for r in records] == [("published", "created")]
    # delivered again (the tick and publish-now both sent it): nothing new
    loop.drain(max_seconds=10)
    api.post(f"{env.base}/content/{a['content_id']}/publish", token=editor.token)
    loop.drain(max_seconds=10)
    assert len(wp.posts_with(a["content_id"])) == 1 and wp.calls["create_post"] == 1


def test_images_are_uploaded_once_and_placed(api, env, wp, loop):
    ok(connect(api, env), 201)
    c = article(api, env, "With images")
    from chalicelib.models.writer import ContentImage

    for position in (0, 1, 2):
        image = ok(api.post(f"{env.base}/images", {"content_id": c["content_id"], "position": position,
                                                   "is_featured": position == 0, "alt_text": f"alt {position}",
                                                   "url": "https://cdn.example.com/placeholder.png"},
                            token=env.owner.token), 201)
        assert image["status"] == "generated"
        key = media.image_key(env.owner.account_id, env.site_id, c["content_id"], image["image_id"])
        media.store(key, b"\x89PNG fake " + bytes([position]), "image/png")
        item = ContentImage.get(f"{env.owner.account_id}#{env.site_id}", image["image_id"])
        item.update(actions=[ContentImage.storage_key.set(key)])
    wp.fail("create_post", WPUnavailable("read timeout", outcome_unknown=True))
    ok(api.post(f"{env.base}/content/{c['content_id']}/publish", token=env.owner.token), 202)
    loop.drain(max_seconds=60)
    assert content(api, env, c["content_id"])["site_status"] == "published"
    assert len(wp.media) == 3 and wp.calls["upload_media"] == 3  # the retry reused the uploads
    post = wp.posts_with(c["content_id"])[0]
    featured = next(m for m, v in wp.media.items() if v["alt"] == "alt 0")
    assert post["featured_media"] == featured
    body = post["content"]
    assert body.index("</h2>") < body.index("alt 1") < body.index("<h2>Two") < body.index("alt 2")

    image_id = ok(api.get(f"{env.base}/images?content_id={c['content_id']}", token=env.owner.token))["items"][0]
    r = api.get(f"{env.base}/images/{image_id['image_id']}/file", token=env.owner.token)
    assert r.status == 302 and "Signature=" in r.headers["Location"]


@pytest.mark.parametrize("scenario", ["answer_lost", "crash_before_store", "failed_then_retried"])
def test_no_retry_ever_makes_a_second_post(api, env, wp, loop, scenario):
    from chalicelib.models.writer import Content
    from chalicelib.services.publishing import post as publish_post
    from chalicelib.services.publishing import worker

    ok(connect(api, env), 201)
    c = article(api, env, f"Scenario {scenario}")
    cid = c["content_id"]
    if scenario == "answer_lost":  # WordPress made the post, the answer never arrived
        wp.after("create_post", lambda post: (_ for _ in ()).throw(WPUnavailable("read timeout", outcome_unknown=True)))
    elif scenario == "crash_before_store":  # the worker died between WordPress's answer and our write
        class Crash(Exception):
            pass

        original = publish_post._remember_post
        calls = {"n": 0}

        def crash_once(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 1:
                raise Crash("killed")
            return original(*args, **kwargs)

        import unittest.mock

        patcher = unittest.mock.patch.object(publish_post, "_remember_post", crash_once)
        patcher.start()
    else:  # a permanent error after the post was made: failed, then retried by a person
        wp.after("create_post", lambda post: (_ for _ in ()).throw(WPBadRequest("invalid parameter")))
    ok(api.post(f"{env.base}/content/{cid}/publish", token=env.owner.token), 202)
    loop.drain(max_seconds=60)
    state = content(api, env, cid)
    if scenario == "crash_before_store":
        patcher.stop()
        assert state["site_status"] == "publishing"  # the lease of the dead worker holds it
        assert worker.enqueue_due() == 0  # ... until it expires
        item = Content.get(f"{env.owner.account_id}#{env.site_id}", cid)
        item.update(actions=[Content.publish_lease_until.set(utcnow() - timedelta(seconds=1))])
        fired = fire_tick()
        assert fired["enqueued"] == 1
        loop.drain(max_seconds=60)
    elif scenario == "failed_then_retried":
        assert state["site_status"] == "failed" and "invalid parameter" in state["publish_error"]
        r = api.post(f"{env.base}/content/{cid}/publish/retry", token=env.owner.token)
        assert r.status == 202, r.json
        loop.drain(max_seconds=60)
    state = content(api, env, cid)
    assert state["site_status"] == "published", state
    assert len(wp.posts_with(cid)) == 1 and wp.calls["create_post"] == 1
    records = ok(api.get(f"{env.base}/content/{cid}/publishing-records", token=env.owner.token))["items"]
    assert records[0]["status"] == "published" and records[0]["action"] == "recovered"
    assert len(records) == 2 and records[1]["status"] == "failed"


def test_a_failed_publish_keeps_the_reason_and_its_slot(api, env, wp, loop):
    ok(connect(api, env), 201)
    ok(settings(api, env, daily_publish_limit=1))
    c = article(api, env)
    wp.fail("create_post", *[WPUnavailable("down") for _ in range(10)])
    ok(api.post(f"{env.base}/content/{c['content_id']}/publish", token=env.owner.token), 202)
    loop.drain(max_seconds=60)
    got = content(api, env, c["content_id"])
    assert got["site_status"] == "failed" and "down" in got["publish_error"]
    records = ok(api.get(f"{env.base}/content/{c['content_id']}/publishing-records", token=env.owner.token))["items"]
    assert len(records) == 5 and all(r["status"] == "failed" for r in records)  # max receives
    other = article(api, env, "Other")
    r = api.post(f"{env.base}/content/{other['content_id']}/publish", token=env.owner.token)
    assert r.status == 409 and r.error_code == "publish_limit_reached"  # the failed one still counts
    r = api.post(f"{env.base}/content/{other['content_id']}/publish/retry", token=env.owner.token)
    assert r.status == 409
    wp._failures.clear()
    ok(api.post(f"{env.base}/content/{c['content_id']}/publish/retry", token=env.owner.token), 202)
    loop.drain(max_seconds=60)
    assert content(api, env, c["content_id"])["site_status"] == "published"


def test_without_a_connection_a_publish_fails_clearly(api, env, loop, kms):
    c = article(api, env)
    ok(api.post(f"{env.base}/content/{c['content_id']}/publish", token=env.owner.token), 202)
    loop.drain(max_seconds=30)
    got = content(api, env, c["content_id"])
    assert got["site_status"] == "failed" and "WordPress connection" in got["publish_error"]


# --- automatic slotting: approval hook and the tick ------------------------------------------

def test_approval_slots_content_when_auto_publish_and_wordpress_are_on(api, env, wp, register):
    c = article(api, env, "Before connecting")
    assert c["site_status"] == "not_published"  # nowhere to publish yet: nothing is slotted
    ok(connect(api, env), 201)
    c2 = article(api, env, "After connecting")
    assert c2["site_status"] == "scheduled" and c2["scheduled_publish_at"]
    ok(settings(api, env, auto_publish_enabled=False))
    assert article(api, env, "Auto publish off")["site_status"] == "not_published"
    ok(settings(api, env, auto_publish_enabled=True))

    # the tick slots the rest, across sites and accounts, from the global ready index
    other_owner = register("other")
    other = make_site(api, other_owner)
    ok(api.post(f"{other.base}/integrations", {"url": URL, "username": USER, "app_password": PASSWORD},
                token=other_owner.token), 201)
    ok(api.put(f"{other.base}/publishing/settings", {"auto_publish_enabled": False}, token=other_owner.token))
    oc = article(api, other, "Other site")
    ok(api.put(f"{other.base}/publishing/settings", {"auto_publish_enabled": True}, token=other_owner.token))
    result = fire_tick()
    assert result["slotted"]["scheduled"] == 3, result
    assert content(api, env, c["content_id"])["site_status"] == "scheduled"
    assert content(api, other, oc["content_id"])["site_status"] == "scheduled"
    assert fire_tick()["slotted"]["scheduled"] == 0


def test_the_tick_queues_what_is_due(api, env, wp, loop):
    from chalicelib.timeutil import advance, reset

    ok(connect(api, env), 201)
    ok(settings(api, env, publish_days=ALL_DAYS))
    c = article(api, env, "Due soon")
    when = at(c["scheduled_publish_at"])
    assert fire_tick()["enqueued"] == 0
    try:
        advance((when - utcnow()).total_seconds() + 1)
        assert fire_tick()["enqueued"] == 1
        loop.drain(max_seconds=60)
    finally:
        reset()
    got = content(api, env, c["content_id"])
    assert got["site_status"] == "published"
    assert wp.posts_with(c["content_id"])[0]["date_gmt"] == when
    cal = ok(api.get(f"{env.base}/calendar?from={(when - timedelta(days=1)).date()}", token=env.owner.token))
    assert [s["state"] for s in cal["slots"] if s["content_id"] == c["content_id"]] == ["published"]


# --- webhooks --------------------------------------------------------------------------------

def _deliver(api, site_id: str, body: dict, secret: str, *, timestamp: int | None = None,
             headers: dict | None = None):
    raw = json.dumps(body).encode()
    signed = signature_headers(raw, secret, body["timestamp"] if timestamp is None else timestamp)
    hdrs = headers if headers is not None else {k: v for k, v in signed.items() if k != "Content-Type"}
    return api.request("POST", f"/v1/webhooks/wordpress/{site_id}", body=raw, headers=hdrs), raw, hdrs


def test_webhooks_are_verified_and_mirror_the_post(api, env, wp, loop):
    ok(connect(api, env), 201)
    c = article(api, env)
    ok(api.post(f"{env.base}/content/{c['content_id']}/publish", token=env.owner.token), 202)
    loop.drain(max_seconds=60)
    published = content(api, env, c["content_id"])
    assert published["site_status"] == "published"
    secret = wp.companion_settings["secret"]
    now = int(time.time())
    event = {"event": "trashed", "post_id": int(published["external_id"]), "content_id": c["content_id"],
             "status": "trash", "link": published["external_url"], "modified_gmt": "2030-01-01T00:00:00",
             "timestamp": now, "nonce": secrets.token_hex(16)}

    rejected = [
        _deliver(api, env.site_id, event, secret, headers={})[0],  # unsigned
        _deliver(api, env.site_id, event, "not-the-secret-" * 3)[0],  # wrongly signed
        _deliver(api, env.site_id, {**event, "timestamp": now - 900}, secret, timestamp=now - 900)[0],  # stale
        _deliver(api, env.site_id, {**event, "timestamp": now + 1}, secret, timestamp=now)[0],  # body != header
        _deliver(api, "no-such-site", event, secret)[0],
    ]
    for r in rejected:
        assert r.status == 401 and r.error_code == "invalid_signature", r.json
    assert content(api, env, c["content_id"]) == published  # nothing changed

    r, raw, headers = _deliver(api, env.site_id, event, secret)
    assert r.status == 200 and r.json["handled"] is True and r.json["site_status"] == "not_published", r.json
    trashed = content(api, env, c["content_id"])
    assert trashed["site_status"] == "not_published" and "trashed" in trashed["publish_error"]
    replay = api.request("POST", f"/v1/webhooks/wordpress/{env.site_id}", body=raw, headers=headers)
    assert replay.status == 401 and replay.error_code == "invalid_signature"

    restored = {**event, "event": "updated", "status": "publish", "link": f"{URL}/moved/",
                "modified_gmt": "2030-01-02T00:00:00", "nonce": secrets.token_hex(16)}
    r, _, _ = _deliver(api, env.site_id, restored, secret)
    assert r.status == 200 and r.json["site_status"] == "published"
    assert content(api, env, c["content_id"])["external_url"] == f"{URL}/moved/"
    stale = {**restored, "event": "updated", "status": "draft", "modified_gmt": "2029-01-01T00:00:00",
             "nonce": secrets.token_hex(16)}
    r, _, _ = _deliver(api, env.site_id, stale, secret)
    assert r.status == 200 and r.json == {**r.json, "handled": False, "reason": "stale"}
    ping = {"event": "ping", "post_id": 0, "content_id": "", "status": "", "link": "", "modified_gmt": None,
            "timestamp": int(time.time()), "nonce": secrets.token_hex(16)}
    assert _deliver(api, env.site_id, ping, secret)[0].json["handled"] is True
    other = {**event, "post_id": 999999, "nonce": secrets.token_hex(16)}
    r, _, _ = _deliver(api, env.site_id, other, secret)
    assert r.json["handled"] is False and r.json["reason"] == "another post"


def test_disconnecting_stops_webhooks(api, env, wp):
    ok(connect(api, env), 201)
    secret = wp.companion_settings["secret"]
    ok(api.delete(f"{env.base}/integrations", token=env.owner.token))
    ping = {"event": "ping", "post_id": 0, "content_id": "", "status": "", "link": "", "modified_gmt": None,
            "timestamp": int(time.time()), "nonce": secrets.token_hex(16)}
    assert _deliver(api, env.site_id, ping, secret)[0].status == 401


# --- tenancy ---------------------------------------------------------------------------------

def test_another_account_gets_404_everywhere(api, env, wp, register):
    ok(connect(api, env), 201)
    c = article(api, env)
    intruder = register("intruder")
    paths = [("GET", "integrations"), ("POST", "integrations/sync"), ("DELETE", "integrations"),
             ("GET", "publishing/settings"), ("PUT", "publishing/settings"), ("GET", "calendar"),
             ("POST", f"content/{c['content_id']}/schedule"), ("POST", f"content/{c['content_id']}/unschedule"),
             ("POST", f"content/{c['content_id']}/publish"), ("POST", f"content/{c['content_id']}/publish/retry"),
             ("GET", f"content/{c['content_id']}/publishing-records")]
    for method, path in paths:
        r = api.request(method, f"{env.base}/{path}", json_body={}, token=intruder.token)
        assert r.status == 404, (method, path, r.status, r.json)
    r = api.post(f"{env.base}/integrations", {"url": URL, "username": USER, "app_password": PASSWORD},
                 token=intruder.token)
    assert r.status == 404
    # and in the intruder's own site, the victim's content id is unknown
    own = make_site(api, intruder)
    r = api.post(f"{own.base}/content/{c['content_id']}/publish", token=intruder.token)
    assert r.status == 404
    assert ok(api.get(f"{env.base}/integrations", token=env.owner.token))["items"]  # untouched
    assert content(api, env, c["content_id"])["site_status"] == "scheduled"
