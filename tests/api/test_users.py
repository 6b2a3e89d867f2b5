"""Users of an account: who may add them, plan limits, roles, deactivation."""

from __future__ import annotations

from tests.conftest import set_plan


def test_admin_creates_users_and_lists_them(api, register, add_member):
    owner = register()
    editor = add_member(owner, "editor")
    r = api.get("/v1/users", token=owner.token)
    assert r.status == 200
    assert {u["user_id"] for u in r.json["items"]} == {owner.user_id, editor.user_id}
    assert all("password_hash" not in u for u in r.json["items"])


def test_editors_and_viewers_cannot_create_users(api, register, add_member):
    owner = register()
    for role in ("editor", "viewer"):
        member = add_member(owner, role)
        r = api.post("/v1/users", {"email": f"x-{role}@example.com", "password": "long enough pw"},
                     token=member.token)
        assert r.status == 403 and r.error_code == "insufficient_role"


def test_plan_user_limit_is_a_402(api, register):
    owner = register(plan="free")  # max_users = 2, the owner is one
    ok = api.post("/v1/users", {"email": "second@example.com", "password": "long enough pw"}, token=owner.token)
    assert ok.status == 201
    over = api.post("/v1/users", {"email": "third@example.com", "password": "long enough pw"}, token=owner.token)
    assert over.status == 402 and over.error_code == "plan_limit_reached"
    assert over.json["error"]["details"] == {"limit": "max_users", "max": 2}


def test_role_change_rules(api, register, add_member):
    owner = register()
    admin = add_member(owner, "admin")
    editor = add_member(owner, "editor")
    r = api.patch(f"/v1/users/{editor.user_id}", {"role": "viewer"}, token=admin.token)
    assert r.status == 200 and r.json["role"] == "viewer"
    assert api.patch(f"/v1/users/{owner.user_id}", {"role": "admin"}, token=admin.token).status == 403
    assert api.patch(f"/v1/users/{editor.user_id}", {"role": "owner"}, token=owner.token).status == 403
    assert api.patch(f"/v1/users/{admin.user_id}", {"role": "editor"}, token=admin.token).status == 403  # self
    assert api.patch(f"/v1/users/{editor.user_id}", {"role": "superuser"}, token=owner.token).status == 422
    # the role is read per request: the demoted user is a viewer from now on
    assert api.post("/v1/users", {"email": "y@example.com", "password": "long enough pw"},
                    token=editor.token).status == 403


def test_deactivated_users_lose_access_at_once(api, register, add_member):
    owner = register()
    editor = add_member(owner, "editor")
    r = api.post(f"/v1/users/{editor.user_id}/deactivate", token=owner.token)
    assert r.status == 200 and r.json["is_active"] is False
    assert api.get("/v1/me", token=editor.token).status == 401
    login = api.post("/v1/auth/login", {"email": editor.email, "password": editor.password})
    assert login.status == 403 and login.error_code == "user_inactive"
    assert api.post(f"/v1/users/{owner.user_id}/deactivate", token=owner.token).status == 403


def test_deactivating_frees_a_place_under_the_plan(api, register, add_member):
    owner = register(plan=None)
    set_plan(owner.account_id, "free")
    member = add_member(owner, "viewer")
    api.post(f"/v1/users/{member.user_id}/deactivate", token=owner.token)
    again = api.post(f"/v1/users/{member.user_id}/deactivate", token=owner.token)
    assert again.status == 200  # idempotent, and counted once
    ok = api.post("/v1/users", {"email": "replacement@example.com", "password": "long enough pw"},
                  token=owner.token)
    assert ok.status == 201
