"""The verified caller of a request. The account id comes from here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.auth.roles import Role


@dataclass(frozen=True)
class Tenant:
    account_id: str
    user_id: str
    role: Role
    session_id: str
    is_staff: bool = False
