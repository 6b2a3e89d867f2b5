"""People and mail storage on both backends: seats, invites, one-time links and the mail claim.

The conditions these rely on (``if_not_exists``, an absent counter read as 0, a four-write
transaction with labels) behave the same on moto and on DynamoDB Local.
"""

from __future__ import annotations

import threading

import pytest

from chalicelib import timeutil
from chalicelib.auth import tokens
from chalicelib.auth.context import Tenant
from chalicelib.auth.roles import Role
from chalicelib.errors import BadRequest, PaymentRequired, Unauthorized
from chalicelib.ids import new_id
from chalicelib.messages import MailMessage
from chalicelib.models.accounts import Account, Invite, User
from chalicelib.models.mail import MailDelivery
from chalicelib.models.transactions import Transaction
from chalicelib.services import identity, invites, seats
from chalicelib.services.mail import sending
from chalicelib.services.one_time_links import ends, new_secret
from chalicelib.services.plans import seed_builtin_plans


def _owner(email: str = "owner@example.com", plan: str = "free") -> Tenant:
    seed_builtin_plans()
    account, user, _ = identity.register(account_name="Acme", email=email, password="x" * 12)
    Account(account.account_id).update(actions=[Account.plan_id.set(plan)])
    return Tenant(account.account_id, user.user_id, Role.owner, "s")


def _invite(tenant: Tenant, email: str, *, taken: bool = True) -> tuple[Invite, str]:
    """A pending invite as services.invites makes it (without its e-mail), and its link."""
    secret, token_hash = new_secret()
    valid_until, expires_epoch = ends(invites.TTL)
    invite = Invite(tenant.account_id, new_id(), email=email, role="editor", token_hash=token_hash,
                    valid_until=valid_until, invited_by=tenant.user_id, expires_epoch=expires_epoch)
    account, plan = identity.account_and_plan(tenant.account_id)
    tx = Transaction("invite")
    seats.take(tx, account, plan, Account.pending_invites)
    tx.put(invite, label="invite")
    tx.commit()
    return invite, tokens.format_one_time_token("inv", tenant.account_id, invite.invite_id, secret)


def test_a_seat_taken_with_stale_counts_is_refused(ddb):
    tenant = _owner()
    account, plan = identity.account_and_plan(tenant.account_id)  # pending_invites absent: read as 0
    _invite(tenant, "first@example.com")
    tx = Transaction("late")
    seats.take(tx, account, plan, Account.user_count)
    with pytest.raises(Exception) as caught:
        tx.commit()
    assert getattr(caught.value, "labels", None) == frozenset({"account"})


def test_two_invites_racing_for_the_last_seat_take_it_once(ddb):
    tenant = _owner()  # free: the owner and one more
    outcomes: list[str] = []

    def invite(n: int) -> None:
        try:
            account, plan = identity.account_and_plan(tenant.account_id)
            tx = Transaction("invite")
            seats.take(tx, account, plan, Account.pending_invites)
            tx.commit()
            outcomes.append("taken")
        except PaymentRequired:
            outcomes.append("full")
        except Exception:
            outcomes.append("beaten")

    threads = [threading.Thread(target=invite, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("taken") == 1
    account = Account.get(tenant.account_id, consistent_read=True)
    assert (account.user_count, account.pending_invites) == (1, 1)


def test_accepting_hands_the_seat_to_the_user_once(ddb):
    tenant = _owner()
    _, link = _invite(tenant, "new@example.com")
    _, user, pair = invites.accept(link, password="y" * 12, first_name="Nia")
    assert identity.authenticate_bearer(pair.access_token).user_id == user.user_id
    account = Account.get(tenant.account_id, consistent_read=True)
    assert (account.user_count, account.pending_invites) == (2, 0)
    assert User.get(tenant.account_id, user.user_id).email_verified
    with pytest.raises(BadRequest):
        invites.accept(link, password="z" * 12)
    assert Account.get(tenant.account_id, consistent_read=True).user_count == 2


def test_expired_invites_give_their_seats_back_once(ddb):
    tenant = _owner(plan="starter")
    _invite(tenant, "a@example.com")
    _invite(tenant, "b@example.com")
    timeutil.advance(invites.TTL.total_seconds() + 1)
    assert seats.release_expired_invites(tenant.account_id) == 2
    assert seats.release_expired_invites(tenant.account_id) == 0
    assert Account.get(tenant.account_id, consistent_read=True).pending_invites == 0


def test_a_new_generation_ends_access_and_refresh_tokens(ddb):
    _, user, pair = identity.register(account_name="A", email="g@example.com", password="x" * 12)
    User(user.account_id, user.user_id).update(actions=[User.session_generation.add(1)])
    with pytest.raises(Unauthorized):
        identity.authenticate_bearer(pair.access_token)
    with pytest.raises(Unauthorized):
        identity.refresh(pair.refresh_token)
    fresh = identity.login("g@example.com", "x" * 12)
    assert identity.authenticate_bearer(fresh.access_token).user_id == user.user_id
    assert identity.refresh(fresh.refresh_token).access_token


def _message(key: str = "invite:1:1") -> MailMessage:
    return MailMessage(account_id="acc", key=key, to="a@example.com", template="password_reset",
                       data={"name": "A", "link": "http://x/reset?token=t"})


def test_the_mail_claim_lets_one_delivery_through_until_its_lease_ends(ddb):
    message = _message()
    assert sending.claim(message) is True
    assert sending.claim(message) is False  # another delivery, the lease live
    record = MailDelivery.get("acc", message.key)
    assert (record.status, record.attempts) == ("sending", 1) and record.created_at is not None
    timeutil.advance(sending.registry.queue("mail").function_timeout + 31)
    assert sending.claim(message) is True  # the first worker died: its lease is over
    record.update(actions=[MailDelivery.status.set("sent")])
    timeutil.advance(3600)
    assert sending.claim(message) is False
    assert MailDelivery.get("acc", message.key).attempts == 2


def test_a_dead_letter_fails_an_unsent_mail_and_never_a_sent_one(ddb):
    assert sending.fail_dead_letter(_message("a"), deliveries=5) == "failed"
    assert sending.claim(_message("a")) is False
    sending.claim(_message("b"))
    MailDelivery("acc", "b").update(actions=[MailDelivery.status.set("sent")])
    assert sending.fail_dead_letter(_message("b"), deliveries=5) == "already sent"
    assert MailDelivery.get("acc", "b").status == "sent"
