"""Whom an account's news reaches: its active members, read with their contact fields only.

The notification functions may read these attributes of the users table and nothing else (no
password hash, no revoked sessions): their IAM policy allows a Query of ``users`` only with
``dynamodb:Attributes`` among ``CONTACT_ATTRIBUTES`` (infra/cloud/policies.py), so every read
here names them.
"""

from __future__ import annotations

from chalicelib.auth.roles import Role
from chalicelib.models.accounts import User

CONTACT_ATTRIBUTES: tuple[str, ...] = ("account_id", "user_id", "email", "role", "is_active")


def members(account_id: str, min_role: Role = Role.viewer) -> list[User]:
    """The account's active users of ``min_role`` or above (one Query, contact fields only)."""
    return [u for u in User.query(account_id, attributes_to_get=list(CONTACT_ATTRIBUTES))
            if u.is_active and Role(u.role).at_least(min_role)]
