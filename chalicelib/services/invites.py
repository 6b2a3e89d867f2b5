"""Invites: an admin asks someone to join the account by e-mail; they accept with a single-use link.

An invite holds one of the plan's seats from the moment it is sent (``services.seats``) until it
is accepted (the seat becomes the user's), revoked, or found expired. The link (7 days) is mailed
(``services.mail``, once per send: ``invite:<id>:<n>``); resending makes a new link and voids
the old one. Accepting sets the name and password, creates the user with the invited role, counts
the address as confirmed, and signs in. It joins an existing account, so the sign-up mode (open,
invite-only, closed: who may register a new account) does not apply to it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.auth import passwords, tokens
from chalicelib.auth.context import Tenant
from chalicelib.auth.roles import Role
from chalicelib.errors import Conflict, Forbidden, NotFound
from chalicelib.ids import new_id
from chalicelib.models.accounts import Account, EmailLogin, Invite, User
from chalicelib.models.conditions import conditional
from chalicelib.models.pages import Page, paginate
from chalicelib.models.transactions import ConditionsFailed, Transaction, optimistic
from chalicelib.services import audit, mail, seats
from chalicelib.services.accounts import get_account, get_user
from chalicelib.services.identity import TokenPair, account_and_plan, normalize_email, start_session
from chalicelib.services.one_time_links import ends, invalid, link, matches, new_secret, now_epoch
from chalicelib.timeutil import utcnow

TTL = timedelta(days=7)
KIND = "inv"
PAGE = "/accept-invite"
PENDING, ACCEPTED, REVOKED, EXPIRED = "pending", "accepted", "revoked", "expired"
# Audit log actions (services.audit): who invited whom, who joined, whose invite was withdrawn.
INVITE_SENT, INVITE_ACCEPTED, INVITE_REVOKED = "invite.sent", "invite.accepted", "invite.revoked"


def status_of(invite: Invite) -> str:
    """The status as a person sees it: a pending invite past its end is expired."""
    if invite.status == PENDING and invite.valid_until <= now_epoch():
        return EXPIRED
    return invite.status


def expires_at(invite: Invite) -> datetime:
    return datetime.fromtimestamp(int(invite.valid_until), tz=UTC)


def _check_role(tenant: Tenant, role: Role) -> None:
    if role == Role.owner:
        raise Forbidden("An account has one owner; invite them as admin instead.", code="owner_unique")
    if not tenant.role.at_least(role):
        raise Forbidden("You cannot give a role above your own.", code="insufficient_role")


def get(account_id: str, invite_id: str) -> Invite:
    try:
        return Invite.get(account_id, invite_id, consistent_read=True)
    except Invite.DoesNotExist:
        raise NotFound("Invite") from None


def list_page(account_id: str, *, limit: int, cursor: str | None) -> Page:
    """Newest first (ids are time-ordered)."""
    return paginate(lambda **kw: Invite.query(account_id, scan_index_forward=False, **kw),
                    scope=f"invites:{account_id}", limit=limit, cursor=cursor)


def create(tenant: Tenant, *, email: str, role: Role, first_name: str = "", last_name: str = "") -> Invite:
    """Invite ``email`` into the caller's account (402 when no seat is free, 409 when the address
    has an account already or a pending invite here)."""
    _check_role(tenant, role)
    email = normalize_email(email)
    if _login_exists(email):
        raise Conflict("This address already has an account; one address signs in to one account.",
                       code="email_taken")
    if any(status_of(i) == PENDING for i in Invite.query(tenant.account_id, filter_condition=Invite.email == email)):
        raise Conflict("This address has a pending invite; resend it instead.", code="invite_pending")
    secret, token_hash = new_secret()
    valid_until, expires_epoch = ends(TTL)
    invite = Invite(tenant.account_id, new_id(), email=email, role=role.value, first_name=first_name,
                    last_name=last_name, status=PENDING, token_hash=token_hash, valid_until=valid_until,
                    invited_by=tenant.user_id, sends=1, expires_epoch=expires_epoch)

    def attempt() -> None:
        account, plan = account_and_plan(tenant.account_id)
        tx = Transaction("invite")
        seats.take(tx, account, plan, Account.pending_invites)
        tx.put(invite, condition=Invite.invite_id.does_not_exist(), label="invite")
        tx.commit()

    optimistic(attempt, what="account")
    _send(tenant, invite, secret)
    _audit(tenant, INVITE_SENT, invite)
    return invite


def resend(tenant: Tenant, invite_id: str) -> Invite:
    """A new link (the old one stops working), mailed again, valid for another 7 days."""
    invite = get(tenant.account_id, invite_id)
    _check_role(tenant, Role(invite.role))
    if invite.status != PENDING:  # an expired invite whose seat was freed: invite again
        raise Conflict(f"This invite is {status_of(invite)}; send a new invite instead.", code="invite_not_pending")
    secret, token_hash = new_secret()
    valid_until, expires_epoch = ends(TTL)
    with conditional(otherwise=lambda: Conflict("This invite changed meanwhile; look again.",
                                                code="invite_not_pending")):
        invite.update(actions=[Invite.token_hash.set(token_hash), Invite.valid_until.set(valid_until),
                               Invite.expires_epoch.set(expires_epoch), Invite.sends.add(1)],
                      condition=(Invite.status == PENDING) & (Invite.sends == invite.sends))
    _send(tenant, invite, secret)
    _audit(tenant, INVITE_SENT, invite, resent=True)
    return invite


def revoke(tenant: Tenant, invite_id: str) -> Invite:
    """The link stops working and the seat is free again; revoking twice changes nothing."""
    invite = get(tenant.account_id, invite_id)
    _check_role(tenant, Role(invite.role))
    if invite.status == REVOKED:
        return invite
    if invite.status != PENDING:
        raise Conflict(f"This invite is {invite.status}; there is nothing to revoke.", code="invite_not_pending")
    tx = Transaction("revoke invite")
    tx.update(invite, [Invite.status.set(REVOKED)], condition=Invite.status == PENDING, label="invite")
    tx.update(Account(tenant.account_id), [Account.pending_invites.add(-1)], label="account")
    with conditional() as write:
        tx.commit()
    invite.refresh(consistent_read=True)
    if not write.held and invite.status != REVOKED:  # accepted (or expired) just before
        raise Conflict(f"This invite is {invite.status}; there is nothing to revoke.", code="invite_not_pending")
    if write.held:
        _audit(tenant, INVITE_REVOKED, invite)
    return invite


# --- the invited person (no account yet: public routes) -------------------------------------

def _redeemable(token: str) -> tuple[Invite, str]:
    try:
        account_id, invite_id, secret = tokens.parse_one_time_token(KIND, token)
        invite = Invite.get(account_id, invite_id, consistent_read=True)
    except (tokens.InvalidToken, Invite.DoesNotExist):
        raise invalid("invitation") from None
    if not matches(secret, invite.token_hash) or status_of(invite) != PENDING:
        raise invalid("invitation")
    return invite, secret


def preview(token: str) -> dict[str, Any]:
    """What the accept page shows: who invites whom, into which account, until when."""
    invite, _ = _redeemable(token)
    account = get_account(invite.account_id)
    try:
        inviter = get_user(invite.account_id, invite.invited_by)
        inviter_name = " ".join(p for p in (inviter.first_name, inviter.last_name) if p) or inviter.email
    except NotFound:
        inviter_name = account.name
    return {"email": invite.email, "account_name": account.name, "role": invite.role,
            "first_name": invite.first_name, "last_name": invite.last_name, "invited_by": inviter_name,
            "expires_at": expires_at(invite)}


def accept(token: str, *, password: str, first_name: str | None = None,
           last_name: str | None = None) -> tuple[Invite, User, TokenPair]:
    """Join the account: the user is created with the invited role and signed in."""
    invite, _ = _redeemable(token)
    now = now_epoch()
    user = User(invite.account_id, new_id(), email=invite.email, role=invite.role,
                first_name=invite.first_name if first_name is None else first_name,
                last_name=invite.last_name if last_name is None else last_name,
                password_hash=passwords.hash_password(password), email_verified_at=utcnow())
    tx = Transaction("accept invite")
    tx.update(invite, [Invite.status.set(ACCEPTED), Invite.accepted_user_id.set(user.user_id)],
              condition=(Invite.status == PENDING) & (Invite.token_hash == invite.token_hash)
              & (Invite.valid_until > now), label="invite")
    # The invite's seat becomes the user's: no plan check here, the seat was taken when it was sent.
    tx.update(Account(invite.account_id), [Account.pending_invites.add(-1), Account.user_count.add(1)],
              condition=Account.is_active == True, label="account")  # noqa: E712 - a DynamoDB condition
    tx.put(EmailLogin(invite.email, account_id=invite.account_id, user_id=user.user_id),
           condition=EmailLogin.email.does_not_exist(), label="login")
    tx.put(user, label="user")
    try:
        tx.commit()
    except ConditionsFailed as exc:
        if "invite" in exc.labels:
            raise invalid("invitation") from None
        if "account" in exc.labels:
            raise Forbidden("This account is deactivated; the invitation cannot be accepted now.",
                            code="account_inactive") from None
        raise Conflict("This address has an account already; sign in instead.", code="email_taken") from None
    invite.refresh(consistent_read=True)
    _audit(f"user:{user.user_id}", INVITE_ACCEPTED, invite, user_id=user.user_id)
    return invite, user, start_session(invite.account_id, user.user_id)


def _login_exists(email: str) -> bool:
    try:
        EmailLogin.get(email)
    except EmailLogin.DoesNotExist:
        return False
    return True


def _send(tenant: Tenant, invite: Invite, secret: str) -> None:
    account = get_account(tenant.account_id)
    inviter = get_user(tenant.account_id, tenant.user_id)
    token = tokens.format_one_time_token(KIND, invite.account_id, invite.invite_id, secret)
    mail.enqueue(invite.account_id, invite.email, "invite",
                 {"inviter": " ".join(p for p in (inviter.first_name, inviter.last_name) if p) or inviter.email,
                  "account_name": account.name, "role": invite.role, "link": link(PAGE, token),
                  "expires": f"{expires_at(invite):%Y-%m-%d %H:%M} UTC"},
                 key=f"invite:{invite.invite_id}:{int(invite.sends)}")


def _audit(actor: audit.Actor, action: str, invite: Invite, **details: Any) -> None:
    audit.record(invite.account_id, action, actor, target=f"invite:{invite.invite_id}",
                 details={"email": invite.email, "role": invite.role, **details})
