"""Account events reach people: in-app and e-mail as each user chose, once, bursts grouped.

Real SQS, DynamoDB and SES (moto), the local worker loop calling the handlers app.py registers
for the ``account_events`` and ``mail`` queues; e-mails are read from the mailbox the mail
service writes (MAIL_OUTBOX_DIR).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib import messages, registry
from chalicelib.messages import AccountEvent
from chalicelib.services import account_events, credits
from chalicelib.services import event_names as ev
from tests.workers.notify_support import close_groups, drain, loop, mails

SAMPLE = {  # data as the emitters send it
    ev.RUN_COMPLETED: {"run_id": "run-1", "credits_spent": 12},
    ev.RUN_FAILED: {"run_id": "run-2", "error": "The run passed its max runtime of 3600 s."},
    ev.CONTENT_REVIEW: {"content_id": "c-1", "title": "Grinders compared"},
    ev.CONTENT_PUBLISHED: {"content_id": "c-2", "title": "Burr or blade", "url": "https://blog.example.com/burr"},
    ev.CONTENT_FAILED: {"task_id": "t-1", "reason": "The model refused.", "run_id": "run-3"},
    ev.PUBLISH_FAILED: {"content_id": "c-3", "title": "Espresso", "reason": "WPUnavailable: HTTP 503"},
    ev.INTEGRATION_BROKEN: {"content_id": "c-4", "title": "Moka", "reason": "WordPress did not receive the "
                                                                            "Authorization header"},
    ev.CREDITS_LOW: {"credit_type": "content", "available": 3, "threshold": 20},
    ev.PAYMENT_FAILED: {"invoice_id": "in_1"},
    ev.PLAN_RENEWED: {"plan_id": "growth", "invoice_id": "in_2"},
    ev.WEBHOOK_DISABLED: {"endpoint_id": "e-1", "url": "https://hooks.example.com", "failures": 5},
}


@pytest.fixture
def outbox(aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MAIL_OUTBOX_DIR", str(tmp_path / "mail"))
    return tmp_path / "mail"


@pytest.fixture
def team(api, register, add_member, outbox):
    owner = register("owner")
    return {"owner": owner, **{role: add_member(owner, role) for role in ("admin", "editor", "viewer")}}


def _inbox(api, member, **query) -> list[dict]:
    r = api.get("/v1/notifications?limit=100" + "".join(f"&{k}={v}" for k, v in query.items()), token=member.token)
    assert r.status == 200, r.json
    return r.json["items"]


def _everything_twice(account_id: str) -> None:
    """Each event emitted twice (a retried emitter) and its message delivered twice (SQS)."""
    for name, data in SAMPLE.items():
        account_events.emit(account_id, name, data, key="k1", site_id="site-1")
        account_events.emit(account_id, name, data, key="k1", site_id="site-1")
    duplicate = AccountEvent(account_id=account_id, event=ev.RUN_FAILED, key=f"{ev.RUN_FAILED}:k1",
                             at="2026-01-01T00:00:00+00:00", data=SAMPLE[ev.RUN_FAILED])
    messages.send(registry.queue("account_events"), [duplicate, duplicate])


def test_every_event_reaches_in_app_and_email_per_preference_once(api, team, outbox):
    owner, admin, editor, viewer = team["owner"], team["admin"], team["editor"], team["viewer"]
    r = api.patch("/v1/notifications/preferences", {"channels": dict.fromkeys(ev.NOTIFY_EVENTS, "email")},
                  token=admin.token)
    assert r.status == 200 and set(r.json["channels"].values()) == {"email"}
    quiet = {**dict.fromkeys(ev.NOTIFY_EVENTS, "none"), ev.RUN_FAILED: "both", ev.CONTENT_PUBLISHED: "in_app"}
    assert api.patch("/v1/notifications/preferences", {"channels": quiet}, token=editor.token).status == 200

    _everything_twice(owner.account_id)
    drain()
    close_groups()
    assert close_groups() == {"closed": 0, "emails": 0}  # each group e-mailed once

    def expected(member, role: str, channel_of) -> tuple[set[str], set[str]]:
        in_app, by_mail = set(), set()
        for name in ev.NOTIFY_EVENTS:
            if role not in ("owner", "admin") and ev.EVENTS[name].min_role.value == "admin":
                continue
            channel = channel_of(name)
            if channel in ("in_app", "both"):
                in_app.add(name)
            if channel in ("email", "both"):
                by_mail.add(name)
        return in_app, by_mail

    sent = mails(outbox)
    for role, member, channel_of in (
            ("owner", owner, lambda n: ev.EVENTS[n].default), ("admin", admin, lambda n: "email"),
            ("editor", editor, lambda n: quiet[n]), ("viewer", viewer, lambda n: ev.EVENTS[n].default)):
        in_app, by_mail = expected(member, role, channel_of)
        items = _inbox(api, member)
        assert sorted(i["event"] for i in items) == sorted(in_app), role  # each once
        assert all(i["count"] == 1 and not i["read"] for i in items), role
        subjects = sorted(subject for to, subject, _ in sent if to == member.email)
        assert subjects == sorted(f"Content Engine: {ev.EVENTS[n].title}" for n in by_mail), role
    broken = next(i for i in _inbox(api, owner) if i["event"] == ev.INTEGRATION_BROKEN)
    assert "Authorization header" in broken["message"] and broken["site_id"] == "site-1"
    assert sum(loop().pending().values()) == 0


def test_a_runs_forty_failures_are_one_notification_and_one_email(api, team, outbox):
    owner = team["owner"]
    for n in range(40):
        data = {"task_id": f"t-{n}", "reason": f"failure {n}", "run_id": "run-40"}
        account_events.emit(owner.account_id, ev.CONTENT_FAILED, data, key=f"job#t-{n}", site_id="s")
        if n % 10 == 0:  # some delivered twice
            account_events.emit(owner.account_id, ev.CONTENT_FAILED, data, key=f"job#t-{n}", site_id="s")
    account_events.emit(owner.account_id, ev.CONTENT_FAILED, {"task_id": "x", "reason": "other run", "run_id": "r2"},
                        key="job#x", site_id="s")
    drain()
    assert not [m for m in mails(outbox) if m[0] == owner.email]  # the e-mail waits for the window's end
    [first, second] = sorted(_inbox(api, owner), key=lambda i: i["count"])
    assert (first["count"], second["count"]) == (1, 40)
    assert second["message"].startswith("40 times: article failed.")

    assert close_groups()["closed"] == 2
    to_owner = [m for m in mails(outbox) if m[0] == owner.email]
    assert sorted(subject for _, subject, _ in to_owner) == [
        "Content Engine: Article failed", "Content Engine: Article failed (40)"]
    assert any("40 times" in text for _, _, text in to_owner)


def test_notifications_are_read_one_by_one_or_all_at_once(api, team):
    owner, editor = team["owner"], team["editor"]
    for n in range(3):
        account_events.emit(owner.account_id, ev.RUN_COMPLETED, {"run_id": f"r{n}"}, key=f"r{n}")
    drain()
    assert api.get("/v1/notifications/unread-count", token=owner.token).json == {"unread": 3}
    newest = _inbox(api, owner)
    assert [i["data"]["run_id"] for i in newest] == ["r2", "r1", "r0"]  # newest first

    r = api.post(f"/v1/notifications/{newest[0]['notification_id']}/read", token=owner.token)
    assert r.status == 200 and r.json["read"] is True
    assert api.get("/v1/notifications/unread-count", token=owner.token).json == {"unread": 2}
    assert [i["data"]["run_id"] for i in _inbox(api, owner, unread="true")] == ["r1", "r0"]
    # another user's notification is not found: each user reads their own
    assert api.post(f"/v1/notifications/{newest[1]['notification_id']}/read", token=editor.token).status == 404
    assert api.post("/v1/notifications/read-all", token=owner.token).json == {"marked": 2}
    assert api.get("/v1/notifications/unread-count", token=owner.token).json == {"unread": 0}
    assert api.get("/v1/notifications/unread-count", token=editor.token).json == {"unread": 3}
    page = api.get("/v1/notifications?limit=2", token=owner.token).json
    rest = api.get(f"/v1/notifications?limit=2&cursor={page['next_cursor']}", token=owner.token).json
    assert len(page["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None


def test_credits_low_is_sent_once_when_a_debit_crosses_the_accounts_threshold(api, team):
    owner, admin = team["owner"], team["admin"]
    assert api.patch("/v1/notifications/settings", {"credits_low_threshold": 50}, token=team["editor"].token
                     ).status == 403
    r = api.patch("/v1/notifications/settings", {"credits_low_threshold": 50}, token=admin.token)
    assert r.status == 200 and r.json["credits_low_threshold"] == 50
    credits.grant(owner.account_id, credit_type="content", amount=60, key="g", bucket="pack",
                  operation="pack_purchase")
    for n, amount in enumerate((5, 10, 5)):  # 55 (above), 45 (crosses 50), 40 (still below: no news)
        credits.charge(owner.account_id, operation="generate_content", amount=amount, key=f"debit-{n}")
    credits.charge(owner.account_id, operation="generate_content", amount=10, key="debit-1")  # a retried debit
    drain()
    low = [i for i in _inbox(api, owner) if i["event"] == ev.CREDITS_LOW]
    assert [(i["data"]["available"], i["data"]["threshold"]) for i in low] == [(45, 50)]
    assert [i["event"] for i in _inbox(api, team["editor"])] == []  # billing news is for admins and owners


def test_preferences_refuse_unknown_events_and_channels(api, team):
    owner = team["owner"]
    r = api.patch("/v1/notifications/preferences", {"channels": {"no.such": "email"}}, token=owner.token)
    assert r.status == 422 and r.json["error"]["details"][0]["field"] == "channels.no.such"
    r = api.patch("/v1/notifications/preferences", {"channels": {ev.RUN_FAILED: "pigeon"}}, token=owner.token)
    assert r.status == 422
    assert api.get("/v1/notifications/preferences", token=owner.token).json["channels"][ev.RUN_FAILED] == "both"
