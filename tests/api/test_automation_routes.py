"""The automation config and run routes: validation, defaults, roles, errors (runs themselves: tests/workers)."""

from __future__ import annotations

import pytest


@pytest.fixture
def site(api, register):
    owner = register()
    site = api.post("/v1/sites", {"name": "Auto", "time_zone": "Europe/Berlin"}, token=owner.token).json
    return {"owner": owner, "base": f"/v1/sites/{site['site_id']}/automation"}


def test_a_new_site_has_the_default_config_with_its_estimate(api, site):
    r = api.get(f"{site['base']}/config", token=site["owner"].token)
    assert r.status == 200
    config = r.json
    assert (config["content_limit"], config["is_active"], config["next_run_at"]) == (5, False, None)
    assert config["estimate"]["content"] > 0 and config["active_run_id"] is None


def test_activating_a_weekly_schedule_computes_the_next_run_in_the_site_time_zone(api, site):
    r = api.patch(f"{site['base']}/config", {"is_active": True, "frequency": "weekly", "days_of_week": ["mon"],
                                            "run_time": "07:15"}, token=site["owner"].token)
    assert r.status == 200, r.json
    from datetime import datetime
    from zoneinfo import ZoneInfo

    local = datetime.fromisoformat(r.json["next_run_at"].replace("Z", "+00:00")).astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.weekday(), local.hour, local.minute) == (0, 7, 15)
    off = api.patch(f"{site['base']}/config", {"is_active": False}, token=site["owner"].token)
    assert off.json["next_run_at"] is None


@pytest.mark.parametrize("body, field", [
    ({"content_limit": -1}, "content_limit"),
    ({"run_time": "25:00"}, "run_time"),
    ({"frequency": "hourly"}, "frequency"),
    ({"days_of_week": ["someday"]}, "days_of_week"),
    ({"max_runtime": 5}, "max_runtime"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_config_values_are_422_naming_the_field(api, site, body, field):
    r = api.patch(f"{site['base']}/config", body, token=site["owner"].token)
    assert r.status == 422 and r.error_code == "validation_error"
    assert field in str(r.json["error"]["details"])


def test_a_weekly_schedule_without_days_is_refused(api, site):
    r = api.patch(f"{site['base']}/config", {"is_active": True, "frequency": "weekly"}, token=site["owner"].token)
    assert r.status == 422 and r.error_code == "days_required"


def test_unknown_runs_are_404_and_viewers_cannot_start_runs(api, site, add_member):
    assert api.get(f"{site['base']}/runs/01a214c0-89d6-7000-9bf3-2256e7e13ee7",
                   token=site["owner"].token).status == 404
    viewer = add_member(site["owner"], "viewer")
    assert api.post(f"{site['base']}/runs", {}, token=viewer.token).status == 403
    assert api.get(f"{site['base']}/runs", token=viewer.token).status == 200
