"""The verified caller of a request. The account id comes from here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.auth.roles import Role


@dataclass(frozen=True)
class Tenant:
    account_id: str
    user_id: str  # for an API key: "api_key:<key id>" (who wrote a record, in created_by fields)
    role: Role
    session_id: str
    is_staff: bool = False
    # Set when the caller is an API key (services.api_keys): its id, what it may do, and the one
    # site it is limited to (None: every site of the account).
    api_key_id: str | None = None
    key_scopes: frozenset[str] = frozenset()
    key_site_id: str | None = None

    @property
    def is_api_key(self) -> bool:
        return self.api_key_id is not None
