"""Module switches: defaults, who may change them, and what a switched-off module answers."""

from __future__ import annotations

from tests.api.planner_env import make_site, ok

DEFAULTS = {"planner": True, "writer": True, "linker": False, "optimizer": False, "automation": True,
            "integration": True, "publisher": True}


def test_defaults_and_admin_changes(api, register, add_member):
    owner = register()
    editor, viewer = add_member(owner, "editor"), add_member(owner, "viewer")
    assert ok(api.get("/v1/account/modules", token=viewer.token)) == DEFAULTS
    r = api.patch("/v1/account/modules", {"planner": False}, token=editor.token)
    assert r.status == 403 and r.error_code == "insufficient_role"
    changed = ok(api.patch("/v1/account/modules", {"planner": False, "linker": True}, token=owner.token))
    assert changed == {**DEFAULTS, "planner": False, "linker": True}
    assert ok(api.get("/v1/account/modules", token=viewer.token)) == changed
    r = api.patch("/v1/account/modules", {"nonsense": True}, token=owner.token)
    assert r.status == 422


def test_a_disabled_module_is_403_module_disabled_for_everyone_and_only_its_account(api, register):
    owner, other = register(), register()
    env, other_env = make_site(api, owner), make_site(api, other)
    ok(api.patch("/v1/account/modules", {"planner": False}, token=owner.token))
    r = api.get(f"{env.base}/keywords", token=owner.token)
    assert r.status == 403 and r.error_code == "module_disabled"
    assert r.json["error"]["details"] == {"module": "planner"}
    ok(api.get(f"{env.base}/tasks", token=owner.token))  # the writer is still on
    ok(api.get(f"{other_env.base}/keywords", token=other.token))  # other accounts are not affected
    ok(api.patch("/v1/account/modules", {"planner": True}, token=owner.token))
    ok(api.get(f"{env.base}/keywords", token=owner.token))


def test_the_platform_switches_are_where_every_account_starts_and_an_accounts_own_switch_wins(
        api, register, make_staff):
    staff = make_staff(register("staff"))
    follows, keeps_own = register(), register()
    env, own_env = make_site(api, follows), make_site(api, keeps_own)
    ok(api.patch("/v1/account/modules", {"planner": True}, token=keeps_own.token))

    r = api.patch("/v1/admin/module-settings", {"planner_enabled": False, "linker_enabled": True}, token=staff.token)
    assert r.status == 200 and (r.json["planner_enabled"], r.json["linker_enabled"]) == (False, True)
    assert ok(api.get("/v1/account/modules", token=follows.token)) == {**DEFAULTS, "planner": False, "linker": True}
    r = api.get(f"{env.base}/keywords", token=follows.token)
    assert r.status == 403 and r.error_code == "module_disabled"
    ok(api.get(f"{own_env.base}/keywords", token=keeps_own.token))  # its own switch, not the platform's
    assert ok(api.get("/v1/account/modules", token=keeps_own.token))["linker"] is True  # it set no linker switch

    ok(api.patch("/v1/account/modules", {"planner": True}, token=follows.token))
    ok(api.get(f"{env.base}/keywords", token=follows.token))
    ok(api.patch("/v1/admin/module-settings", {"planner_enabled": True, "linker_enabled": False}, token=staff.token))
    assert ok(api.get("/v1/account/modules", token=keeps_own.token)) == DEFAULTS


def test_every_route_of_a_module_answers_403_when_it_is_off(api, register):
    """Route-generated: the module check comes before the path's records, so any ids do."""
    import re

    from chalicelib.api.routing import ROUTES

    prefixes = {"/keywords": "planner", "/clusters": "planner", "/ideas": "planner", "/seed-keywords": "planner",
                "/tasks": "writer", "/images": "writer", "/automation/": "automation", "/integrations": "publisher",
                "/publishing/": "publisher", "/calendar": "publisher", "/schedule": "publisher"}
    for spec in ROUTES:
        for part, module in prefixes.items():
            if spec.path.startswith("/v1/sites/{site_id}") and part in spec.path:
                assert spec.module == module, (spec.method, spec.path, spec.module)
    owner = register()
    ok(api.patch("/v1/account/modules", dict.fromkeys(DEFAULTS, False), token=owner.token))
    for spec in ROUTES:
        if spec.module and spec.auth == "user":
            path = re.sub(r"{(\w+)}", "x", spec.path)
            r = api.request(spec.method, path, json_body={} if spec.method != "GET" else None, token=owner.token,
                            headers={"content-type": spec.content_types[0]})
            assert r.status == 403 and r.error_code == "module_disabled", (spec.method, spec.path, r.json)
