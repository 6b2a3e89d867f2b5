"""One round trip before the work: a site route reads its caller, account, module switches and
site in one BatchGetItem, then does its own work (tests/api: counted on moto; figures for every
route class: ``make bench``, infra/bench/routes.py)."""

from __future__ import annotations

from tests.api.planner_env import make_site, ok


def test_list_get_and_create_of_a_site_record_take_two_round_trips(api, register, dynamo_calls):
    owner = register()
    env = make_site(api, owner)
    base, token = env.base, owner.token
    kw = ok(api.post(f"{base}/keywords", {"keyword": "espresso", "sector_id": env.sectors[0]}, token=token), 201)

    dynamo_calls.reset()
    ok(api.get(f"{base}/keywords?sector_id={env.sectors[0]}", token=token))
    assert dict(dynamo_calls.counts) == {"BatchGetItem": 1, "Query": 1}

    dynamo_calls.reset()
    ok(api.get(f"{base}/keywords/{kw['keyword_id']}", token=token))
    assert dict(dynamo_calls.counts) == {"BatchGetItem": 1, "GetItem": 1}

    # the sector is checked inside the create's transaction, not read before it
    for what, body in (("keywords", {"keyword": "ristretto"}), ("clusters", {"name": "Shots"}),
                       ("ideas", {"title": "Dial in"}), ("tasks", {"title": "Write"}), ("content", {"title": "Art"})):
        dynamo_calls.reset()
        ok(api.post(f"{base}/{what}", {**body, "sector_id": env.sectors[0]}, token=token), 201)
        assert dict(dynamo_calls.counts) == {"BatchGetItem": 1, "TransactWriteItems": 1}, what


def test_a_refused_caller_costs_one_round_trip_and_is_refused_at_once(api, register, add_member, dynamo_calls):
    owner = register()
    env = make_site(api, owner)
    editor = add_member(owner, "editor")
    ok(api.get(f"{env.base}/keywords", token=editor.token))
    ok(api.patch(f"/v1/users/{editor.user_id}", {"role": "viewer"}, token=owner.token))
    dynamo_calls.reset()
    r = api.post(f"{env.base}/keywords", {"keyword": "x", "sector_id": env.sectors[0]}, token=editor.token)
    assert r.status == 403 and r.error_code == "insufficient_role"  # the role of the next request
    assert dict(dynamo_calls.counts) == {"BatchGetItem": 1}
    ok(api.post(f"/v1/users/{editor.user_id}/deactivate", token=owner.token))
    assert api.get(f"{env.base}/keywords", token=editor.token).status == 401
