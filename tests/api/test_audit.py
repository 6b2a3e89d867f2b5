"""The audit log: security- and money-relevant actions, append-only, readable by owners and admins."""

from __future__ import annotations

import boto3
import pytest

from chalicelib.models.audit import AuditEntry
from chalicelib.services import audit, billing
from tests.api.fake_wordpress import PASSWORD, URL, USER, FakeWordPress
from tests.api.planner_env import make_site


def entries(api, member, **query) -> list[dict]:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    r = api.get(f"/v1/audit?{qs}", token=member.token)
    assert r.status == 200, r.json
    return r.json["items"]


def actions(api, member, **query) -> list[str]:
    return [e["action"] for e in entries(api, member, **query)]


def test_sign_ins_and_failed_sign_ins_are_recorded_newest_first(api, register):
    owner = register()
    assert api.post("/v1/auth/login", {"email": owner.email, "password": "wrong password!"}).status == 401
    assert api.post("/v1/auth/login", {"email": owner.email, "password": owner.password}).status == 200
    log = entries(api, owner)
    assert [e["action"] for e in log[:2]] == ["auth.sign_in", "auth.sign_in_failed"]
    failed = log[1]
    assert failed["actor"] == f"user:{owner.user_id}" and failed["details"]["reason"] == "wrong_password"
    assert "password" not in str(failed["details"]).replace("wrong_password", "")


def test_an_unknown_address_writes_no_entry_anywhere(api, register, dynamo_calls):
    owner = register()
    before = len(entries(api, owner))
    assert api.post("/v1/auth/login", {"email": "nobody@example.com", "password": "whatever pw"}).status == 401
    assert len(entries(api, owner)) == before


def test_the_filter_by_action_pages_newest_first(api, register):
    owner = register()
    for _ in range(3):
        api.post("/v1/auth/login", {"email": owner.email, "password": "not the password"})
    first = api.get("/v1/audit?action=auth.sign_in_failed&limit=2", token=owner.token).json
    assert [e["action"] for e in first["items"]] == ["auth.sign_in_failed"] * 2
    rest = api.get(f"/v1/audit?action=auth.sign_in_failed&limit=2&cursor={first['next_cursor']}",
                   token=owner.token).json
    ids = [e["entry_id"] for e in first["items"] + rest["items"]]
    assert len(ids) == 3 and ids == sorted(ids, reverse=True)
    assert api.get("/v1/audit?action=DROP TABLE", token=owner.token).status == 422


def test_role_changes_are_recorded_with_who_did_them(api, register, add_member):
    owner = register()
    editor = add_member(owner, "editor")
    assert api.patch(f"/v1/users/{editor.user_id}", {"role": "viewer"}, token=owner.token).status == 200
    [entry] = entries(api, owner, action="user.role_changed")
    assert entry["actor"] == f"user:{owner.user_id}" and entry["target"] == f"user:{editor.user_id}"
    assert entry["details"] == {"from": "editor", "to": "viewer"}


def test_only_owners_and_admins_read_it_and_only_their_own_account(api, register, add_member):
    owner, other = register(), register("other")
    admin, editor = add_member(owner, "admin"), add_member(owner, "editor")
    assert api.post("/v1/auth/login", {"email": other.email, "password": other.password}).status == 200
    assert api.get("/v1/audit", token=admin.token).status == 200
    r = api.get("/v1/audit", token=editor.token)
    assert r.status == 403 and r.error_code == "insufficient_role"
    theirs = {e["entry_id"] for e in entries(api, other)}
    ours = {e["entry_id"] for e in entries(api, owner)}
    assert ours and theirs and not ours & theirs
    cursor = api.get("/v1/audit?limit=1", token=owner.token).json["next_cursor"]
    assert api.get(f"/v1/audit?cursor={cursor}", token=other.token).error_code == "invalid_cursor"


def test_entries_cannot_be_overwritten_and_expire_after_the_retention(aws, monkeypatch):
    monkeypatch.setenv("AUDIT_RETENTION_DAYS", "30")
    entry = audit.record("acc-1", audit.SIGN_IN, "user:u1", details={"ip": "203.0.113.9"})
    assert entry.expires_epoch - int(entry.at.timestamp()) == 30 * 86400
    forged = AuditEntry("acc-1", entry.entry_id, action="auth.sign_in", action_key="x", actor="user:evil",
                        at=entry.at, expires_epoch=entry.expires_epoch)
    with pytest.raises(Exception) as raised:
        forged.save(condition=AuditEntry.entry_id.does_not_exist())
    assert "ConditionalCheckFailed" in str(raised.value)
    assert AuditEntry.get("acc-1", entry.entry_id).actor == "user:u1"


def test_the_audit_route_only_reads(app):
    from chalicelib.api.routing import ROUTES

    assert {(s.method, s.path) for s in ROUTES if s.path.startswith("/v1/audit")} == {("GET", "/v1/audit")}


def test_connecting_and_disconnecting_wordpress_is_recorded(api, register, monkeypatch):
    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("SECRETS_KMS_KEY_ID", key_id)
    FakeWordPress().install(monkeypatch)
    owner = register()
    site = make_site(api, owner)
    body = {"url": URL, "username": USER, "app_password": PASSWORD}
    assert api.post(f"{site.base}/integrations", body, token=owner.token).status == 201
    assert api.delete(f"{site.base}/integrations", token=owner.token).status == 200
    log = [e for e in entries(api, owner) if e["action"].startswith("integration.")]
    assert [e["action"] for e in log] == ["integration.disconnected", "integration.connected"]
    assert all(e["target"] == f"site:{site.site_id}" and e["actor"] == f"user:{owner.user_id}" for e in log)
    assert PASSWORD not in str(log)


def test_a_plan_change_from_stripe_is_recorded_once(api, register):
    owner = register(plan=None)
    state = billing.SubscriptionState(subscription_id="sub_audit0001", status="active", plan_id="starter",
                                      created=1_700_000_000)
    billing.apply_subscription(owner.account_id, state, ts=1_700_000_001, source="test")
    billing.apply_subscription(owner.account_id, state, ts=1_700_000_002, source="test")  # a redelivery
    [entry] = entries(api, owner, action="plan.changed")
    assert entry["actor"] == "stripe" and entry["details"]["to"] == "starter" and entry["details"]["from"] == "free"


def test_suspending_and_reactivating_an_account_is_recorded_as_staff(api, register, make_staff):
    staff, customer = make_staff(register("staff")), register("customer")
    path = f"/v1/admin/accounts/{customer.account_id}"
    assert api.patch(path, {"is_active": False}, token=staff.token).status == 200
    assert api.patch(path, {"is_active": True}, token=staff.token).status == 200
    log = [e for e in entries(api, customer) if e["action"].startswith("account.")]
    assert [e["action"] for e in log] == ["account.reactivated", "account.suspended"]
    assert all(e["actor"] == f"staff:{staff.user_id}" for e in log)
