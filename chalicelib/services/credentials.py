"""A user's own credentials: confirm the e-mail address, reset a forgotten password, change it.

- Confirming: a link (7 days) mailed at registration and on request; spending it sets
  ``email_verified_at`` (if the address is still the one it was sent to).
- Reset: asked for by address, answered the same whether the address exists or not; a link
  that works once, for 30 minutes. Spending it sets the password and moves the user's
  ``session_generation``: every session (refresh and access tokens) ends, and so does every
  other reset link issued before it.
- Change: the current password is required; the generation moves too, so every other session
  ends, and the caller gets a new session in the answer.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.auth import passwords, tokens
from chalicelib.auth.context import Tenant
from chalicelib.errors import BadRequest, Conflict
from chalicelib.ids import new_id
from chalicelib.models.accounts import EmailLogin, User, UserToken
from chalicelib.models.conditions import conditional
from chalicelib.models.transactions import Transaction, optimistic
from chalicelib.services import audit, mail
from chalicelib.services.accounts import get_user
from chalicelib.services.identity import TokenPair, normalize_email, start_session
from chalicelib.services.one_time_links import ends, invalid, link, matches, new_secret, now_epoch
from chalicelib.timeutil import utcnow

VERIFY, RESET = "verify_email", "password_reset"
KIND = {VERIFY: "vfy", RESET: "rst"}
TTL = {VERIFY: timedelta(days=7), RESET: timedelta(minutes=30)}
PAGE = {VERIFY: "/verify-email", RESET: "/reset-password"}
# Audit log actions (services.audit): a password set by a reset link, or changed by its user.
PASSWORD_RESET, PASSWORD_CHANGED = "user.password_reset", "user.password_changed"
# One reset e-mail per address per minute: asking again sooner is answered the same, and sends nothing.
RESET_MAIL_INTERVAL_SECONDS = 60


def _name(user: User) -> str:
    return user.first_name or user.email.split("@", 1)[0]


def _issue(user: User, purpose: str) -> tuple[UserToken, str]:
    secret, token_hash = new_secret()
    valid_until, expires_epoch = ends(TTL[purpose])
    record = UserToken(user.account_id, new_id(), user_id=user.user_id, purpose=purpose, token_hash=token_hash,
                       valid_until=valid_until, generation=int(user.session_generation or 0), email=user.email,
                       expires_epoch=expires_epoch)
    record.save(condition=UserToken.token_id.does_not_exist())
    return record, tokens.format_one_time_token(KIND[purpose], user.account_id, record.token_id, secret)


def _mail(user: User, purpose: str) -> None:
    record, token = _issue(user, purpose)
    expires = f"{utcnow() + TTL[purpose]:%Y-%m-%d %H:%M} UTC"
    mail.enqueue(user.account_id, user.email, purpose,
                 {"name": _name(user), "link": link(PAGE[purpose], token), "expires": expires},
                 key=f"{purpose}:{record.token_id}")


def _redeemable(purpose: str, token: str) -> tuple[UserToken, str]:
    """The unspent, unexpired token record a link names, and its secret; else 400 invalid_token."""
    try:
        account_id, token_id, secret = tokens.parse_one_time_token(KIND[purpose], token)
        record = UserToken.get(account_id, token_id, consistent_read=True)
    except (tokens.InvalidToken, UserToken.DoesNotExist):
        raise invalid() from None
    if (record.purpose != purpose or not matches(secret, record.token_hash) or record.used_at is not None
            or record.valid_until <= now_epoch()):
        raise invalid()
    return record, secret


def _spend(tx: Transaction, record: UserToken) -> None:
    tx.update(record, [UserToken.used_at.set(utcnow())],
              condition=UserToken.used_at.does_not_exist() & (UserToken.token_hash == record.token_hash)
              & (UserToken.valid_until > now_epoch()), label="token")


# --- the e-mail address ---------------------------------------------------------------------

def send_verification(account_id: str, user_id: str) -> None:
    """Mail the user a link that confirms their address; 409 already_verified once it is."""
    user = get_user(account_id, user_id)
    if user.email_verified_at is not None:
        raise Conflict("Your e-mail address is confirmed already.", code="already_verified")
    _mail(user, VERIFY)


def confirm_email(token: str) -> User:
    record, _ = _redeemable(VERIFY, token)
    user = get_user(record.account_id, record.user_id)
    tx = Transaction("confirm e-mail")
    _spend(tx, record)
    tx.update(user, [User.email_verified_at.set(utcnow())], condition=User.email == record.email, label="user")
    with conditional(otherwise=invalid()):  # spent meanwhile, or the address changed since
        tx.commit()
    user.refresh()
    return user


# --- forgotten password -------------------------------------------------------------------------

def request_reset(email: str) -> None:
    """Mail a reset link to the address if a user signs in with it; the caller answers the same
    either way. Nothing is said about an unknown, inactive or just-asked-for address."""
    try:
        login = EmailLogin.get(normalize_email(email))
        user = User.get(login.account_id, login.user_id)
    except (EmailLogin.DoesNotExist, User.DoesNotExist):
        return
    if not user.is_active or user.account_inactive:
        return
    now = now_epoch()
    with conditional() as throttle:  # an inbox is not flooded by someone asking on a loop
        login.update(actions=[EmailLogin.reset_mail_after.set(now + RESET_MAIL_INTERVAL_SECONDS)],
                     condition=EmailLogin.reset_mail_after.does_not_exist() | (EmailLogin.reset_mail_after <= now))
    if throttle.held:
        _mail(user, RESET)


def reset_password(token: str, new_password: str) -> None:
    """Spend a reset link: the new password, every session ended, every older link void."""
    record, _ = _redeemable(RESET, token)
    user = get_user(record.account_id, record.user_id)
    if int(user.session_generation or 0) != int(record.generation) or not user.is_active:
        raise invalid()  # a later reset or change voided it, or the user was deactivated
    tx = Transaction("reset password")
    _spend(tx, record)
    tx.update(user, [User.password_hash.set(passwords.hash_password(new_password)),
                     User.session_generation.add(1)],
              condition=_generation_is(record.generation) & (User.is_active == True), label="user")  # noqa: E712
    # A reset also lifts a sign-in lockout: the owner of the address proved who they are.
    tx.update(EmailLogin(user.email), [EmailLogin.failed_attempts.set(0), EmailLogin.locked_until.remove()],
              condition=EmailLogin.user_id == user.user_id, label="login")
    with conditional(otherwise=invalid()):
        tx.commit()
    audit.record(user.account_id, PASSWORD_RESET, f"user:{user.user_id}", target=f"user:{user.user_id}")
    _mail_changed(user, int(record.generation) + 1)


# --- a signed-in user's password ------------------------------------------------------------

def change_password(tenant: Tenant, current_password: str, new_password: str) -> TokenPair:
    """Set a new password (the current one required); every other session ends, the caller gets
    a new one."""
    def attempt() -> int:
        user = User.get(tenant.account_id, tenant.user_id, consistent_read=True)
        if not passwords.verify_password(current_password, user.password_hash):
            raise BadRequest("The current password is wrong.", code="wrong_password")
        generation = int(user.session_generation or 0)
        tx = Transaction("change password")
        tx.update(user, [User.password_hash.set(passwords.hash_password(new_password)),
                         User.session_generation.add(1)], condition=_generation_is(generation), label="user")
        tx.commit()  # beaten by another change: read again (optimistic)
        return generation + 1

    generation = optimistic(attempt, what="user")
    audit.record(tenant.account_id, PASSWORD_CHANGED, tenant, target=f"user:{tenant.user_id}")
    user = get_user(tenant.account_id, tenant.user_id)
    _mail_changed(user, generation)
    return start_session(tenant.account_id, tenant.user_id, generation)


def _generation_is(generation: int) -> Any:
    if generation:
        return User.session_generation == generation
    return User.session_generation.does_not_exist() | (User.session_generation == 0)


def _mail_changed(user: User, generation: int) -> None:
    mail.enqueue(user.account_id, user.email, "password_changed",
                 {"name": _name(user), "when": f"{utcnow():%Y-%m-%d %H:%M} UTC"},
                 key=f"password_changed:{user.user_id}:{generation}")
