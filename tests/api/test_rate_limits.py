"""Per-account limits on the expensive routes: past the limit a 429 with Retry-After, per account."""

from __future__ import annotations

import pytest

from tests.api.planner_env import make_site, ok


@pytest.fixture
def limits(monkeypatch):
    """limits("jobs=2/3600"): the deployment's RATE_LIMITS for this test."""
    return lambda value: monkeypatch.setenv("RATE_LIMITS", value)


def _job(api, env, sector: int = 0):
    return api.post(f"{env.base}/jobs", {"stage": "cluster_keywords", "filter": {"sector_id": env.sectors[sector]}},
                    token=env.owner.token)


def _keywords(api, env, words: list[str], sector: int = 0):
    return api.post(f"{env.base}/keywords/import", {"sector_id": env.sectors[sector], "keywords": words},
                    token=env.owner.token)


def test_past_the_job_limit_the_account_is_answered_429_with_retry_after(api, register, limits):
    env = make_site(api, register())
    ok(_keywords(api, env, ["espresso grind size", "espresso tamping"]))
    limits("jobs=2/3600")
    for _ in range(2):
        job = ok(_job(api, env), 202)
        ok(api.post(f"{env.base}/jobs/{job['job_id']}/cancel", {}, token=env.owner.token))
    refused = _job(api, env)
    assert refused.status == 429 and refused.error_code == "rate_limited"
    retry_after = int(refused.headers["Retry-After"])
    assert 0 < retry_after <= 3600
    assert refused.json["error"]["details"] == {"bucket": "jobs", "limit": 2, "window_seconds": 3600}
    assert "try again in" in refused.json["error"]["message"]


def test_a_refused_or_invalid_request_costs_nothing_and_another_account_is_not_limited(api, register, limits):
    env, other = make_site(api, register()), make_site(api, register())
    for e in (env, other):
        ok(_keywords(api, e, ["pour-over ratio"]))
    limits("jobs=1/3600")
    assert api.post(f"{env.base}/jobs", {"stage": "no_such_stage"}, token=env.owner.token).status == 422
    ok(_job(api, env), 202)  # the invalid request above did not count
    assert _job(api, env).status == 429
    ok(_job(api, other), 202)


def test_the_window_ends_and_the_account_may_start_jobs_again(api, register, limits):
    from chalicelib import timeutil

    env = make_site(api, register())
    ok(_keywords(api, env, ["espresso grind size"]))
    ok(_keywords(api, env, ["v60 pour-over"], sector=1))
    limits("jobs=1/60")
    ok(_job(api, env), 202)
    refused = _job(api, env, sector=1)
    assert refused.status == 429
    timeutil.advance(int(refused.headers["Retry-After"]))
    try:
        ok(_job(api, env, sector=1), 202)
    finally:
        timeutil.reset()


def test_json_csv_and_seed_imports_share_one_limit(api, register, limits):
    env = make_site(api, register())
    limits("keyword_imports=2/3600")
    ok(_keywords(api, env, ["aeropress recipe"]))
    csv = api.request("POST", f"{env.base}/keywords/import.csv?sector_id={env.sectors[0]}",
                      body="keyword\nchemex filter\n", headers={"content-type": "text/csv"}, token=env.owner.token)
    ok(csv)
    refused = _keywords(api, env, ["moka pot"])
    assert refused.status == 429 and "Retry-After" in refused.headers
    seeds = api.post(f"{env.base}/keywords/from-seeds", {"sector_id": env.sectors[0]}, token=env.owner.token)
    assert seeds.status == 429


def test_starting_automation_runs_by_hand_is_limited(api, register, limits):
    owner = register()
    site = ok(api.post("/v1/sites", {"name": "Auto"}, token=owner.token), 201)
    base = f"/v1/sites/{site['site_id']}/automation/runs"
    ok(api.patch(f"/v1/sites/{site['site_id']}/automation/config", {  # a run the plan's credits cover
        "ideas_limit": 0, "content_limit": 0, "image_limit": 0}, token=owner.token))
    limits("automation_runs=1/3600")
    ok(api.post(base, {}, token=owner.token), 202)
    refused = api.post(base, {}, token=owner.token)
    assert refused.status == 429 and refused.error_code == "rate_limited"  # not 409 run_active: never reached


def test_off_turns_the_limits_off(api, register, limits):
    env = make_site(api, register())
    limits("off")
    for n in range(3):
        ok(_keywords(api, env, [f"grinder {n}"]))


def test_the_limited_operations_document_their_429():
    from chalicelib.api.openapi import build_openapi

    paths = build_openapi()["paths"]
    for path in ("/v1/sites/{site_id}/jobs", "/v1/sites/{site_id}/keywords/import",
                 "/v1/sites/{site_id}/keywords/import.csv", "/v1/sites/{site_id}/keywords/from-seeds",
                 "/v1/sites/{site_id}/automation/runs"):
        assert "429" in paths[path]["post"]["responses"], path
