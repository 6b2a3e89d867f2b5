"""Accounts, users, sessions: registration, login, token refresh and revocation."""

from __future__ import annotations

import hmac
import time
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from chalicelib import config
from chalicelib.auth import passwords, tokens
from chalicelib.auth.context import Tenant
from chalicelib.auth.roles import Role
from chalicelib.errors import (
    Conflict,
    Forbidden,
    TooManyRequests,
    Unauthorized,
)
from chalicelib.ids import new_id
from chalicelib.models.accounts import Account, EmailLogin, Plan, Session, Site, User
from chalicelib.models.conditions import conditional
from chalicelib.models.transactions import ConditionsFailed, Transaction, optimistic
from chalicelib.services import audit, caller, seats
from chalicelib.services.accounts import get_account, get_user
from chalicelib.services.caller import account_inactive as _account_inactive
from chalicelib.services.credits import start_first_period
from chalicelib.services.plans import DEFAULT_PLAN_ID, get_plan
from chalicelib.services.sites import resume_held_work
from chalicelib.timeutil import utcnow

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
# Expired revoked-session entries dropped by one logout (an update expression stays well under its limits).
MAX_PRUNED_PER_REVOKE = 50


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"


def normalize_email(email: str) -> str:
    return unicodedata.normalize("NFKC", email).strip().lower()


# --- sessions and tokens ---------------------------------------------------------------

def start_session(account_id: str, user_id: str, generation: int = 0) -> TokenPair:
    """A new session for the user; ``generation``: the user's session_generation now."""
    session_id = new_id()
    secret = tokens.new_refresh_secret()
    Session(
        account_id, session_id, user_id=user_id, token_hash=tokens.hash_refresh_secret(secret),
        expires_epoch=int(time.time()) + config.refresh_token_ttl_seconds(), generation=generation,
    ).save()
    return TokenPair(
        access_token=tokens.issue_access_token(account_id=account_id, user_id=user_id, session_id=session_id,
                                               generation=generation),
        refresh_token=tokens.format_refresh_token(account_id, session_id, secret),
        expires_in=config.access_token_ttl_seconds(),
    )


def authenticate_bearer(token: str) -> Tenant:
    """Verify an access token and load its user and account (services.caller: one round trip)."""
    return caller.load(token).tenant


def refresh(refresh_token: str) -> TokenPair:
    """Rotate a refresh token. A reused (already rotated) token ends its whole session."""
    invalid = Unauthorized("The refresh token is invalid or expired; sign in again.")
    try:
        account_id, session_id, secret = tokens.parse_refresh_token(refresh_token)
    except tokens.InvalidToken:
        raise invalid from None
    try:
        session = Session.get(account_id, session_id)
    except Session.DoesNotExist:
        raise invalid from None
    if session.status != "active" or session.expires_epoch < time.time():
        raise invalid
    presented = tokens.hash_refresh_secret(secret)
    if not hmac.compare_digest(presented, session.token_hash):
        # A stolen-and-used token shows up as an old secret: end the session for everyone.
        _revoke_session(account_id, session.user_id, session_id)
        raise invalid
    new_secret = tokens.new_refresh_secret()
    with conditional(otherwise=invalid):  # a concurrent refresh won the rotation
        session.update(actions=[Session.token_hash.set(tokens.hash_refresh_secret(new_secret))],
                       condition=(Session.token_hash == presented) & (Session.status == "active"))
    try:
        user = User.get(account_id, session.user_id)
    except User.DoesNotExist:
        raise invalid from None
    if not user.is_active or int(session.generation or 0) < int(user.session_generation or 0):
        raise invalid  # deactivated, or a password reset or change ended every session before it
    if user.account_inactive:
        raise _account_inactive()
    return TokenPair(
        access_token=tokens.issue_access_token(account_id=account_id, user_id=user.user_id, session_id=session_id,
                                               generation=int(session.generation or 0)),
        refresh_token=tokens.format_refresh_token(account_id, session_id, new_secret),
        expires_in=config.access_token_ttl_seconds(),
    )


def _revoke_session(account_id: str, user_id: str, session_id: str) -> None:
    # Either record may be gone already (an account deleted meanwhile): nothing left to revoke.
    with conditional():
        Session(account_id, session_id).update(actions=[Session.status.set("revoked")],
                                               condition=Session.session_id.exists())
    now = int(time.time())
    # An entry is needed only while an access token of that session could still be valid:
    # the expired ones go in the same update, so the user item (read by every request) stays small.
    try:
        revoked = User.get(account_id, user_id).revoked_sessions or {}
    except User.DoesNotExist:
        return
    stale = [sid for sid in revoked if sid != session_id and int(revoked[sid]) <= now][:MAX_PRUNED_PER_REVOKE]
    with conditional():
        User(account_id, user_id).update(
            actions=[User.revoked_sessions[session_id].set(now + config.access_token_ttl_seconds()),
                     *(User.revoked_sessions[sid].remove() for sid in stale)],
            condition=User.user_id.exists(),
        )


def logout(tenant: Tenant) -> None:
    _revoke_session(tenant.account_id, tenant.user_id, tenant.session_id)


# --- registration and login ------------------------------------------------------------

def register(*, account_name: str, email: str, password: str, first_name: str = "",
             last_name: str = "") -> tuple[Account, User, TokenPair]:
    email = normalize_email(email)
    account_id, user_id = new_id(), new_id()
    account = Account(account_id, name=account_name, plan_id=DEFAULT_PLAN_ID, owner_user_id=user_id,
                      user_count=1, site_count=0)
    user = User(account_id, user_id, email=email, first_name=first_name, last_name=last_name,
                role=Role.owner.value, password_hash=passwords.hash_password(password))
    tx = Transaction("register")
    tx.put(EmailLogin(email, account_id=account_id, user_id=user_id), condition=EmailLogin.email.does_not_exist(),
           label="login")
    tx.put(account, condition=Account.account_id.does_not_exist(), label="account")
    tx.put(user, label="user")
    with conditional(otherwise=Conflict("An account with this e-mail already exists; sign in instead.",
                                        code="email_taken")):
        tx.commit()
    start_first_period(account_id, get_plan(DEFAULT_PLAN_ID))
    return account, user, start_session(account_id, user_id)


def login(email: str, password: str, *, ip: str | None = None) -> TokenPair:
    """Sign in. Each sign-in, and each failed one of a known address, is in the account's audit log."""
    email = normalize_email(email)
    failed = Unauthorized("The e-mail or password is wrong.", code="invalid_credentials")
    try:
        entry = EmailLogin.get(email)
    except EmailLogin.DoesNotExist:
        passwords.verify_password(password, passwords.dummy_hash())
        raise failed from None
    now = utcnow()
    if entry.locked_until and entry.locked_until > now:
        retry = int((entry.locked_until - now).total_seconds()) + 1
        audit.record(entry.account_id, audit.SIGN_IN_FAILED, f"user:{entry.user_id}", target=f"user:{entry.user_id}",
                     details={"reason": "locked", "ip": ip})
        raise TooManyRequests(f"Too many failed sign-ins; try again in {retry} seconds.",
                              retry_after=retry)
    try:
        user = User.get(entry.account_id, entry.user_id)
    except User.DoesNotExist:
        raise failed from None
    if not passwords.verify_password(password, user.password_hash):
        attempts = (entry.failed_attempts or 0) + 1
        if attempts >= MAX_FAILED_LOGINS:
            entry.update(actions=[EmailLogin.locked_until.set(now + LOCKOUT), EmailLogin.failed_attempts.set(0)])
        else:
            entry.update(actions=[EmailLogin.failed_attempts.add(1)])
        audit.record(user.account_id, audit.SIGN_IN_FAILED, f"user:{user.user_id}", target=f"user:{user.user_id}",
                     details={"reason": "wrong_password", "locked": attempts >= MAX_FAILED_LOGINS, "ip": ip})
        raise failed
    if not user.is_active:
        raise Forbidden("This user has been deactivated; ask an admin of your account.",
                        code="user_inactive")
    if user.account_inactive or not get_account(user.account_id).is_active:
        raise _account_inactive()
    if entry.failed_attempts or entry.locked_until:
        entry.update(actions=[EmailLogin.failed_attempts.set(0), EmailLogin.locked_until.remove()])
    pair = start_session(user.account_id, user.user_id, int(user.session_generation or 0))
    audit.record(user.account_id, audit.SIGN_IN, f"user:{user.user_id}", target=f"user:{user.user_id}",
                 details={"ip": ip})
    return pair


# --- users of an account ----------------------------------------------------------------

def create_user(tenant: Tenant, *, email: str, password: str, role: Role, first_name: str = "",
                last_name: str = "") -> User:
    if role == Role.owner:
        raise Forbidden("An account has one owner; create the user as admin instead.", code="owner_unique")
    if not tenant.role.at_least(role):
        raise Forbidden("You cannot give a role above your own.", code="insufficient_role")
    email = normalize_email(email)
    user = User(tenant.account_id, new_id(), email=email, first_name=first_name, last_name=last_name,
                role=role.value, password_hash=passwords.hash_password(password))

    def attempt() -> User:
        account, plan = account_and_plan(tenant.account_id)
        tx = Transaction("create user")
        # is_active (in the seat's condition): a user added while the account is being
        # deactivated would miss its flag
        seats.take(tx, account, plan, Account.user_count)
        tx.put(EmailLogin(email, account_id=tenant.account_id, user_id=user.user_id),
               condition=EmailLogin.email.does_not_exist(), label="login")
        tx.put(user, label="user")
        try:
            tx.commit()
        except ConditionsFailed as exc:
            if "login" in exc.labels:
                raise Conflict("A user with this e-mail already exists.", code="email_taken") from None
            raise  # the counts moved, or the account was deactivated: read again
        return user

    return optimistic(attempt, what="account")


def account_and_plan(account_id: str) -> tuple[Account, Plan]:
    """The account (read consistently) and its plan, for taking a seat; expired invites give theirs
    back first when no seat is free. 403 account_inactive."""
    account = Account.get(account_id, consistent_read=True)
    if not account.is_active:
        raise _account_inactive()
    plan = get_plan(account.plan_id)
    if seats.free(account, plan) <= 0 and seats.release_expired_invites(account_id):
        account = Account.get(account_id, consistent_read=True)
    return account, plan


def list_users(account_id: str, **page_kwargs):
    return User.query(account_id, **page_kwargs)


def change_role(tenant: Tenant, user_id: str, role: Role) -> User:
    user = get_user(tenant.account_id, user_id)
    if user.role == Role.owner.value or role == Role.owner:
        raise Forbidden("The owner's role cannot be changed, nor given.", code="owner_unique")
    if user.user_id == tenant.user_id:
        raise Forbidden("You cannot change your own role.", code="self_change")
    if not tenant.role.at_least(role) or not tenant.role.at_least(Role(user.role)):
        raise Forbidden("You cannot manage a role above your own.", code="insufficient_role")
    before = user.role
    user.update(actions=[User.role.set(role.value)])
    if before != role.value:
        audit.record(tenant.account_id, audit.ROLE_CHANGED, tenant, target=f"user:{user_id}",
                     details={"from": before, "to": role.value})
    return user


def deactivate_user(tenant: Tenant, user_id: str) -> User:
    user = get_user(tenant.account_id, user_id)
    if user.role == Role.owner.value:
        raise Forbidden("The owner cannot be deactivated.", code="owner_unique")
    if user.user_id == tenant.user_id:
        raise Forbidden("You cannot deactivate yourself.", code="self_change")
    if not tenant.role.at_least(Role(user.role)):
        raise Forbidden("You cannot manage a role above your own.", code="insufficient_role")
    if not user.is_active:
        return user
    tx = Transaction("deactivate user")
    tx.update(user, [User.is_active.set(False)],
              condition=User.is_active == True, label="user")  # noqa: E712 - a DynamoDB condition, not a test
    tx.update(Account(tenant.account_id), [Account.user_count.add(-1)], label="account")
    with conditional():  # deactivated meanwhile by another request: counted once
        tx.commit()
    user.refresh()
    return user


# --- accounts (platform staff) ----------------------------------------------------------------

def set_account_active(account_id: str, active: bool, *, by: Tenant | None = None,
                       reason: str | None = None) -> Account:
    """Deactivate or reactivate an account.

    Deactivated: nobody of it signs in or calls the API (403 ``account_inactive``, also with
    tokens issued before: each user carries a copy of the flag, read by the one GetItem every
    request makes), and no work of its sites runs (workers, ticks and automation hold it).
    Reactivated: the held work goes on. Repeating either is harmless (it finishes a half-done one).
    """
    if by is not None and by.account_id == account_id and not active:
        raise Forbidden("You cannot deactivate your own account.", code="self_change")
    account = get_account(account_id)
    was_active = account.is_active is not False
    account.update(actions=[Account.is_active.set(active)], condition=Account.account_id.exists())
    if was_active != active:
        audit.record(account_id, audit.ACCOUNT_REACTIVATED if active else audit.ACCOUNT_SUSPENDED,
                     by if by is not None else audit.SYSTEM, target=f"account:{account_id}",
                     details={"reason": reason})
    flag = User.account_inactive.remove() if active else User.account_inactive.set(True)
    for user in User.query(account_id):
        with conditional():  # a user deleted meanwhile
            user.update(actions=[flag], condition=User.user_id.exists())
    if active:
        for site in Site.query(account_id):
            if site.deleting_since is None:
                resume_held_work(account_id, site.site_id)
    return account


def update_profile(tenant: Tenant, *, first_name: str | None = None, last_name: str | None = None) -> User:
    """The caller's own names (a field left out is kept)."""
    actions = [attr.set(value) for attr, value in ((User.first_name, first_name), (User.last_name, last_name))
               if value is not None]
    user = get_user(tenant.account_id, tenant.user_id)
    if actions:
        user.update(actions=actions, condition=User.user_id.exists())
    return user
