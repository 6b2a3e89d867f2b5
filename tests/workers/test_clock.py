"""The local clock: EventBridge's scheduled-event shape, on demand and on a timer."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import worker_test_app as test_app

from chalicelib.registry import SCHEDULES, schedule
from infra.local.clock import Clock


@pytest.fixture(autouse=True)
def _fresh():
    test_app.reset()


def test_binds_only_registered_schedules():
    clock = Clock(test_app)
    assert list(clock.bindings) == ["publishing"]
    assert {s.key for s in clock.unhandled} == {s.key for s in SCHEDULES} - {"publishing"}
    assert clock.bindings["publishing"].interval_seconds == schedule("publishing").rate_minutes * 60


def test_fire_sends_an_eventbridge_scheduled_event():
    result = Clock(test_app).fire("publishing")

    assert len(test_app.ticks) == 1
    event = test_app.ticks[0]
    assert result == {"ticked": event["id"]}
    assert set(event) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources",
                          "detail"}
    assert event["version"] == "0"
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert re.fullmatch(r"\d{12}", event["account"])
    assert event["region"] == "us-east-1"
    assert event["detail"] == {}
    uuid.UUID(event["id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    when = datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - when) < timedelta(seconds=5)
    assert event["resources"] == [
        f"arn:aws:events:us-east-1:{event['account']}:rule/worker-test-app-dev-tick_publishing"]


def test_each_fire_is_a_distinct_event():
    clock = Clock(test_app.app)  # the app object works as well as the module
    clock.fire_all()
    clock.fire_all()
    assert len({e["id"] for e in test_app.ticks}) == 2
    assert clock.bindings["publishing"].fired == 2


def test_unregistered_schedule_cannot_be_fired():
    with pytest.raises(KeyError):
        Clock(test_app).fire("automation")


def test_timer_fires_at_the_sped_up_rate():
    speed = schedule("publishing").rate_minutes * 60 / 0.1  # every 0.1 s
    clock = Clock(test_app, speed=speed)
    assert clock.bindings["publishing"].interval_seconds == pytest.approx(0.1)
    clock.start()
    try:
        assert clock.running
        deadline = time.monotonic() + 5
        while len(test_app.ticks) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        clock.stop()
    assert not clock.running
    assert len(test_app.ticks) >= 3
    count = len(test_app.ticks)
    time.sleep(0.3)
    assert len(test_app.ticks) == count  # stopped means stopped


def test_clock_does_not_fire_before_one_interval():
    clock = Clock(test_app, speed=1.0)
    clock.start()
    time.sleep(0.2)
    clock.stop()
    assert test_app.ticks == []


def test_speed_must_be_positive():
    with pytest.raises(ValueError):
        Clock(test_app, speed=0)
