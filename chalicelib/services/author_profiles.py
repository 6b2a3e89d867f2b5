"""Author profiles: the voice an article is written in. Global ones (staff) and an account's own.

``author_text`` turns a profile into the ``author`` variable of the content prompt; an
account's profile id is looked up in the account first, then among the global ones.
"""

from __future__ import annotations

from typing import Any

from chalicelib.ids import new_id
from chalicelib.models.accounts import GLOBAL_SCOPE
from chalicelib.models.system import AuthorProfile, GlobalAuthorProfile
from chalicelib.services import system_store

DEFAULT_PROFILE_ID = "professional"
WHAT = "Author profile"


def list_global() -> list[GlobalAuthorProfile]:
    return list(GlobalAuthorProfile.query(GLOBAL_SCOPE))


def get_global(profile_id: str) -> GlobalAuthorProfile:
    return system_store.get_or_404(GlobalAuthorProfile, GLOBAL_SCOPE, profile_id, WHAT)


def create_global(*, profile_id: str, updated_by: str | None = None, **fields: Any) -> GlobalAuthorProfile:
    return system_store.create(GlobalAuthorProfile(GLOBAL_SCOPE, profile_id, updated_by=updated_by, **fields), WHAT)


def update_global(profile_id: str, changes: dict[str, Any], *, updated_by: str | None = None) -> GlobalAuthorProfile:
    return system_store.update(get_global(profile_id), changes, updated_by=updated_by, what=WHAT)


def delete_global(profile_id: str) -> None:
    system_store.delete(GlobalAuthorProfile, GLOBAL_SCOPE, profile_id, WHAT)


def list_for_account(account_id: str) -> list[AuthorProfile]:
    return list(AuthorProfile.query(account_id))


def get_for_account(account_id: str, profile_id: str) -> AuthorProfile:
    return system_store.get_or_404(AuthorProfile, account_id, profile_id, WHAT)


def create_for_account(account_id: str, *, updated_by: str | None = None, **fields: Any) -> AuthorProfile:
    return system_store.create(AuthorProfile(account_id, new_id(), updated_by=updated_by, **fields), WHAT)


def update_for_account(account_id: str, profile_id: str, changes: dict[str, Any], *,
                       updated_by: str | None = None) -> AuthorProfile:
    return system_store.update(get_for_account(account_id, profile_id), changes, updated_by=updated_by, what=WHAT)


def delete_for_account(account_id: str, profile_id: str) -> None:
    system_store.delete(AuthorProfile, account_id, profile_id, WHAT)


def resolve(account_id: str, profile_id: str | None) -> AuthorProfile | GlobalAuthorProfile | None:
    """The account's profile with this id, else the global one, else the default global one."""
    if profile_id:
        try:
            profile = AuthorProfile.get(account_id, profile_id)
            if profile.is_active:
                return profile
        except AuthorProfile.DoesNotExist:
            pass
    for candidate in (profile_id, DEFAULT_PROFILE_ID):
        if candidate:
            try:
                profile = GlobalAuthorProfile.get(GLOBAL_SCOPE, candidate)
                if profile.is_active:
                    return profile
            except GlobalAuthorProfile.DoesNotExist:
                pass
    return None


def author_text(profile: AuthorProfile | GlobalAuthorProfile | None) -> str:
    """The ``author`` prompt variable."""
    if profile is None:
        return "A knowledgeable writer. Tone: professional. Language: en."
    parts = [f"{profile.name}." + (f" {profile.description}" if profile.description else ""),
             f"Tone: {profile.tone}. Language: {profile.language}."]
    if profile.instructions:
        parts.append(profile.instructions)
    return "\n".join(parts)

