"""Author profiles at two scopes: the platform's (staff, slug ids) and an account's own (UUIDv7 ids).

Every function takes the scope first: ``global`` or an account id. ``resolve`` picks the profile
a call uses (the account's, else the platform's of that id, else the platform's default) and
``author_text`` turns it into the ``author`` variable of the content prompt.
"""

from __future__ import annotations

from typing import Any

from chalicelib.ids import new_id
from chalicelib.models.accounts import GLOBAL_SCOPE
from chalicelib.models.pages import Page
from chalicelib.models.system import AuthorProfile
from chalicelib.services import system_store

DEFAULT_PROFILE_ID = "professional"
WHAT = "Author profile"


def page(scope: str, *, limit: int, cursor: str | None) -> Page:
    return system_store.page(AuthorProfile, scope, limit=limit, cursor=cursor)


def get(scope: str, profile_id: str) -> AuthorProfile:
    return system_store.get_or_404(AuthorProfile, scope, profile_id, WHAT)


def create(scope: str, *, profile_id: str | None = None, updated_by: str | None = None,
           **fields: Any) -> AuthorProfile:
    """A new profile; the platform names its own (a slug), an account's get a generated id."""
    item = AuthorProfile(scope, profile_id or new_id(), updated_by=updated_by, **fields)
    return system_store.create(item, WHAT)


def update(scope: str, profile_id: str, changes: dict[str, Any], *, updated_by: str | None = None) -> AuthorProfile:
    return system_store.update(get(scope, profile_id), changes, updated_by=updated_by, what=WHAT)


def delete(scope: str, profile_id: str) -> None:
    system_store.delete(AuthorProfile, scope, profile_id, WHAT)


def resolve(account_id: str, profile_id: str | None) -> AuthorProfile | None:
    """The account's active profile with this id, else the platform's, else the platform's default:
    every candidate in one BatchGetItem."""
    candidates = [(account_id, profile_id), (GLOBAL_SCOPE, profile_id), (GLOBAL_SCOPE, DEFAULT_PROFILE_ID)]
    keys = list(dict.fromkeys((scope, pid) for scope, pid in candidates if pid))
    found = {(p.scope, p.profile_id): p for p in AuthorProfile.batch_get(keys)}
    for key in keys:
        profile = found.get(key)
        if profile is not None and profile.is_active:
            return profile
    return None


def author_text(profile: AuthorProfile | None) -> str:
    """The ``author`` prompt variable."""
    if profile is None:
        return "A knowledgeable writer. Tone: professional. Language: en."
    parts = [f"{profile.name}." + (f" {profile.description}" if profile.description else ""),
             f"Tone: {profile.tone}. Language: {profile.language}."]
    if profile.instructions:
        parts.append(profile.instructions)
    return "\n".join(parts)
