"""Reading an account and its users: a 404 when absent (another account's user is indistinguishable from none).

Below ``identity`` (sign-in, users, staff switches) and ``sites``, which both need these reads.
"""

from __future__ import annotations

from chalicelib.errors import NotFound
from chalicelib.models.accounts import Account, User


def get_account(account_id: str) -> Account:
    try:
        return Account.get(account_id)
    except Account.DoesNotExist:
        raise NotFound("Account") from None


def get_user(account_id: str, user_id: str) -> User:
    try:
        return User.get(account_id, user_id)
    except User.DoesNotExist:
        raise NotFound("User") from None
