"""Notifications' writes on both backends: an event counts once, a group gathers, the unread index,
the digest's sharded due index (Queries only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib import timeutil
from chalicelib.messages import AccountEvent
from chalicelib.models.notifications import Notification, NotificationGroup, WeeklyDigest, user_key
from chalicelib.services import event_names as ev
from chalicelib.services.notifications import digest, groups, inbox

AT = datetime(2026, 3, 2, 10, 7, tzinfo=UTC)


def _event(n: int, event: str = ev.CONTENT_FAILED, run_id: str = "run-1") -> AccountEvent:
    return AccountEvent(account_id="acc", event=event, key=f"{event}:k{n}", at=AT.isoformat(), site_id="s",
                        data={"run_id": run_id, "title": f"Article {n}", "reason": "refused"})


def test_a_notification_counts_each_event_once_and_a_new_one_makes_it_unread_again(ddb):
    for key in ("k1", "k1", "k2"):
        inbox.deliver("acc", "u1", "n-1", event=ev.CONTENT_FAILED, event_key=key, site_id="s", data={"title": key})
    n = Notification.get(user_key("acc", "u1"), "n-1")
    assert (n.event_count, n.event_keys, n.data) == (2, {"k1", "k2"}, {"title": "k2"})
    assert inbox.unread_count("acc", "u1") == 1 and inbox.unread_count("acc", "u2") == 0

    assert inbox.mark_read("acc", "u1", "n-1")["read"] is True
    assert inbox.unread_count("acc", "u1") == 0
    inbox.deliver("acc", "u1", "n-1", event=ev.CONTENT_FAILED, event_key="k2", site_id="s", data={})
    assert inbox.unread_count("acc", "u1") == 0  # the same event again: still read
    inbox.deliver("acc", "u1", "n-1", event=ev.CONTENT_FAILED, event_key="k3", site_id="s", data={})
    assert inbox.unread_count("acc", "u1") == 1  # news in it: unread again
    assert inbox.mark_all_read("acc", "u1") == 1 and inbox.unread_count("acc", "u1") == 0


def test_a_group_gathers_a_runs_events_in_one_window_once_each(ddb):
    window = groups.window_of(ev.CONTENT_FAILED, AT, {"run_id": "run-1"}, "s")
    assert (window.start, window.end) == (AT.replace(minute=0), AT.replace(minute=15))
    assert window == groups.window_of(ev.CONTENT_FAILED, AT + timedelta(minutes=5), {"run_id": "run-1"}, "s")
    assert window != groups.window_of(ev.CONTENT_FAILED, AT, {"run_id": "run-2"}, "s")
    counted = [groups.add(_event(n), window) for n in (1, 1, 2, 3, 2)]
    assert counted == [True, False, True, True, False]
    group = NotificationGroup.get("acc", window.group_id)
    assert (group.event_count, group.emailed, group.data["title"]) == (3, False, "Article 3")
    assert groups.due(window.end) == []  # its window is closing: events may still be on their way
    [due] = groups.due(window.end + groups.GRACE)
    assert due.group_id == window.group_id
    groups.mark_emailed(due)
    assert groups.due(window.end + groups.GRACE) == []


def test_the_digest_is_due_through_its_sharded_index_and_counts_each_article_once(ddb):
    timeutil.advance((AT - timeutil.utcnow()).total_seconds())
    for n in (1, 2, 2):
        digest.add(_event(n, ev.CONTENT_PUBLISHED))
    stored = WeeklyDigest.get("acc")
    due = datetime.fromtimestamp(stored.due_epoch, tz=UTC)
    assert (stored.event_count, due.weekday(), due.hour) == (2, 0, 8) and due > AT
    assert digest.due(due - timedelta(seconds=1)) == []
    assert [d.account_id for d in digest.due(due)] == ["acc"]
