"""Invites: an admin invites by e-mail, the invited person accepts through the mailed link and signs in.

Through the API, the mail queue's worker, moto's SES and the mailbox the worker writes (.eml files).
"""

from __future__ import annotations

from chalicelib import timeutil
from chalicelib.models.accounts import Account, Invite
from tests.conftest import set_plan

ACCEPT = "/accept-invite"
PASSWORD = "a long new password"


def _invite(api, owner, email: str, role: str = "editor", **extra):
    return api.post("/v1/users/invites", {"email": email, "role": role, **extra}, token=owner.token)


def _counts(account_id: str) -> tuple[int, int]:
    account = Account.get(account_id, consistent_read=True)
    return int(account.user_count), int(account.pending_invites or 0)


def test_invite_then_accept_then_sign_in(api, register, mail):
    owner = register()
    created = _invite(api, owner, "new.hire@example.com", first_name="Nia")
    assert created.status == 201, created.json
    invite = created.json
    assert (invite["status"], invite["role"], invite["sends"], invite["invited_by"]) == (
        "pending", "editor", 1, owner.user_id)
    assert "token" not in invite and "token_hash" not in invite

    message = mail.latest("new.hire@example.com")
    assert message["Subject"] == f"{owner.email} invited you to owner Inc on Content Engine"
    token = mail.token("new.hire@example.com", ACCEPT)
    preview = api.post("/v1/auth/invites/preview", {"token": token}).json
    assert (preview["email"], preview["account_name"], preview["role"], preview["first_name"]) == (
        "new.hire@example.com", "owner Inc", "editor", "Nia")

    accepted = api.post("/v1/auth/invites/accept", {"token": token, "password": PASSWORD, "last_name": "Okafor"})
    assert accepted.status == 201, accepted.json
    user = accepted.json["user"]
    assert (user["email"], user["role"], user["first_name"], user["last_name"], user["email_verified"]) == (
        "new.hire@example.com", "editor", "Nia", "Okafor", True)
    me = api.get("/v1/me", token=accepted.json["tokens"]["access_token"]).json
    assert me["account"]["account_id"] == owner.account_id and me["user"]["user_id"] == user["user_id"]

    login = api.post("/v1/auth/login", {"email": "new.hire@example.com", "password": PASSWORD})
    assert login.status == 200
    listed = api.get("/v1/users/invites", token=owner.token).json["items"]
    assert [(i["status"], i["accepted_user_id"]) for i in listed] == [("accepted", user["user_id"])]
    assert _counts(owner.account_id) == (2, 0)


def test_an_invite_link_works_once(api, register, mail):
    owner = register()
    _invite(api, owner, "once@example.com")
    token = mail.token("once@example.com", ACCEPT)
    assert api.post("/v1/auth/invites/accept", {"token": token, "password": PASSWORD}).status == 201
    again = api.post("/v1/auth/invites/accept", {"token": token, "password": "another password!"})
    assert (again.status, again.error_code) == (400, "invalid_token")
    assert api.post("/v1/auth/login", {"email": "once@example.com", "password": "another password!"}).status == 401
    assert _counts(owner.account_id) == (2, 0)


def test_an_expired_invite_cannot_be_accepted_and_frees_its_seat(api, register, mail):
    owner = register()
    _invite(api, owner, "late@example.com")
    token = mail.token("late@example.com", ACCEPT)
    timeutil.advance(7 * 24 * 3600 + 1)
    late = api.post("/v1/auth/invites/accept", {"token": token, "password": PASSWORD})
    assert (late.status, late.error_code) == (400, "invalid_token")
    assert api.post("/v1/auth/invites/preview", {"token": token}).status == 400
    [listed] = api.get("/v1/users/invites", token=owner.token).json["items"]
    assert listed["status"] == "expired"
    assert api.post("/v1/auth/login", {"email": "late@example.com", "password": PASSWORD}).status == 401


def test_resend_mails_a_new_link_and_the_old_one_stops_working(api, register, mail):
    owner = register()
    invite_id = _invite(api, owner, "twice@example.com").json["invite_id"]
    first = mail.token("twice@example.com", ACCEPT)
    resent = api.post(f"/v1/users/invites/{invite_id}/resend", token=owner.token)
    assert resent.status == 200 and resent.json["sends"] == 2
    second = mail.token("twice@example.com", ACCEPT)
    assert second != first and mail.count("twice@example.com") == 2
    assert api.post("/v1/auth/invites/accept", {"token": first, "password": PASSWORD}).status == 400
    assert api.post("/v1/auth/invites/accept", {"token": second, "password": PASSWORD}).status == 201


def test_revoke_ends_the_link_frees_the_seat_and_is_harmless_twice(api, register, mail):
    owner = register()
    invite_id = _invite(api, owner, "gone@example.com").json["invite_id"]
    token = mail.token("gone@example.com", ACCEPT)
    assert _counts(owner.account_id) == (1, 1)
    assert api.post(f"/v1/users/invites/{invite_id}/revoke", token=owner.token).json["status"] == "revoked"
    assert api.post(f"/v1/users/invites/{invite_id}/revoke", token=owner.token).json["status"] == "revoked"
    assert _counts(owner.account_id) == (1, 0)
    refused = api.post("/v1/auth/invites/accept", {"token": token, "password": PASSWORD})
    assert (refused.status, refused.error_code) == (400, "invalid_token")
    assert api.post(f"/v1/users/invites/{invite_id}/resend", token=owner.token).error_code == "invite_not_pending"


def test_pending_invites_count_against_the_plans_users(api, register, mail):
    owner = register(plan="free")  # max_users 2: the owner and one more
    first = _invite(api, owner, "seat@example.com")
    assert first.status == 201
    over = _invite(api, owner, "noseat@example.com")
    assert (over.status, over.error_code) == (402, "plan_limit_reached")
    direct = api.post("/v1/users", {"email": "direct@example.com", "password": PASSWORD}, token=owner.token)
    assert (direct.status, direct.error_code) == (402, "plan_limit_reached")
    # the pending invite's seat becomes its user's on acceptance: still one seat, no new one needed
    token = mail.token("seat@example.com", ACCEPT)
    assert api.post("/v1/auth/invites/accept", {"token": token, "password": PASSWORD}).status == 201
    assert _counts(owner.account_id) == (2, 0)
    assert _invite(api, owner, "noseat@example.com").status == 402
    set_plan(owner.account_id, "starter")
    assert _invite(api, owner, "noseat@example.com").status == 201


def test_an_expired_invite_gives_its_seat_back_when_one_is_needed(api, register, mail):
    owner = register(plan="free")
    invite_id = _invite(api, owner, "stale@example.com").json["invite_id"]
    timeutil.advance(7 * 24 * 3600 + 1)
    assert _invite(api, owner, "fresh@example.com").status == 201
    assert Invite.get(owner.account_id, invite_id).status == "expired"
    assert _counts(owner.account_id) == (1, 1)


def test_who_may_invite_and_whom(api, register, add_member, mail):
    owner = register()
    editor = add_member(owner, "editor")
    admin = add_member(owner, "admin")
    assert _invite(api, editor, "x@example.com").status == 403
    assert _invite(api, admin, "x@example.com", role="owner").error_code == "owner_unique"
    assert _invite(api, admin, admin.email).error_code == "email_taken"
    assert _invite(api, admin, "x@example.com", role="admin").status == 201
    assert _invite(api, owner, "X@Example.com").error_code == "invite_pending"
    assert api.get("/v1/users/invites", token=editor.token).status == 200  # seen, as the users are
    assert api.post(f"/v1/users/invites/{listed_id(api, owner)}/revoke", token=editor.token).status == 403


def listed_id(api, owner) -> str:
    return api.get("/v1/users/invites", token=owner.token).json["items"][0]["invite_id"]


def test_a_bad_or_foreign_token_is_refused_alike(api, register, mail):
    owner = register()
    _invite(api, owner, "mine@example.com")
    token = mail.token("mine@example.com", ACCEPT)
    account, invite_id, secret = token.removeprefix("inv_").split(".")
    other = register("other")
    forged = [f"inv_{other.account_id}.{invite_id}.{secret}", f"inv_{account}.{invite_id}.{'A' * 43}",
              f"rst_{account}.{invite_id}.{secret}", "inv_nope", "x" * 400]
    for bad in forged:
        refused = api.post("/v1/auth/invites/accept", {"token": bad, "password": PASSWORD})
        assert (refused.status, refused.error_code) == (400, "invalid_token"), bad
    assert _counts(owner.account_id) == (1, 1)


def test_another_accounts_invite_is_a_404(api, register, mail):
    owner, other = register(), register("other")
    invite_id = _invite(api, owner, "private@example.com").json["invite_id"]
    for method, path in (("get", f"/v1/users/invites/{invite_id}"), ("post", f"/v1/users/invites/{invite_id}/resend"),
                         ("post", f"/v1/users/invites/{invite_id}/revoke")):
        assert getattr(api, method)(path, token=other.token).status == 404
    assert api.get("/v1/users/invites", token=other.token).json["items"] == []


def test_invites_sent_accepted_and_revoked_are_in_the_audit_log(api, register, mail):
    owner = register()
    kept = _invite(api, owner, "joins@example.com").json["invite_id"]
    dropped = _invite(api, owner, "dropped@example.com").json["invite_id"]
    api.post(f"/v1/users/invites/{dropped}/revoke", token=owner.token)
    api.post(f"/v1/users/invites/{dropped}/revoke", token=owner.token)  # nothing more to record
    token = mail.token("joins@example.com", ACCEPT)
    user_id = api.post("/v1/auth/invites/accept", {"token": token, "password": PASSWORD}).json["user"]["user_id"]

    def log(action: str) -> list[tuple[str, str | None]]:
        items = api.get(f"/v1/audit?action={action}", token=owner.token).json["items"]
        return [(e["actor"], e["target"]) for e in items]

    assert sorted(log("invite.sent")) == sorted([(f"user:{owner.user_id}", f"invite:{kept}"),
                                                 (f"user:{owner.user_id}", f"invite:{dropped}")])
    assert log("invite.revoked") == [(f"user:{owner.user_id}", f"invite:{dropped}")]
    assert log("invite.accepted") == [(f"user:{user_id}", f"invite:{kept}")]
    text = api.get("/v1/audit", token=owner.token).raw.decode()
    assert token not in text and token.rsplit(".", 1)[1] not in text
