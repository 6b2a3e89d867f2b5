"""What a site's generation follows: author profile and language, content type, strategy, industry.

Said once here, read by every text stage:
- the author profile (voice, tone, language, instructions): the task's, else the sector's, else
  the site's, else the account's default, else the platform's default (``effective_author``);
- the content type (length range and structure): the task's, else its idea's, else the default;
  the target length: the task's own, else the type's;
- the site's strategy (a global one, chosen per site) and the site's industry.
Choosing any of them is checked here too, so a bad id is a 422 naming its field, never a
generation that silently falls back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import NotFound, UnprocessableEntity
from chalicelib.models.accounts import GLOBAL_SCOPE, Sector, Site, site_key
from chalicelib.models.publisher import SiteIntegration
from chalicelib.models.system import AuthorProfile
from chalicelib.services import author_profiles, content_types, language, sites, system_config
from chalicelib.services.content_types import ContentType

BUILTIN = "builtin"


@dataclass(frozen=True)
class Author:
    """The profile a generation writes as, and where it came from."""

    profile: AuthorProfile | None
    source: str  # task, sector, site, account, global, builtin

    @property
    def language(self) -> str:
        return self.profile.language if self.profile is not None else "en"

    @property
    def tone(self) -> str:
        return self.profile.tone if self.profile is not None else "professional"

    def prompt_text(self) -> str:
        """The ``author`` prompt variable: who writes, in which tone and language."""
        text = author_profiles.author_text(self.profile)
        return f"{text}\nWrite everything in {language.language_name(self.language)}."

    def view(self) -> dict[str, Any]:
        """As a task shows it (``effective_author``)."""
        profile = self.profile
        return {"profile_id": profile.profile_id if profile else None,
                "scope": None if profile is None else ("global" if profile.scope == GLOBAL_SCOPE else "account"),
                "name": profile.name if profile else "Built-in writer", "tone": self.tone,
                "language": self.language, "source": self.source}


# --- choosing (validated) -----------------------------------------------------------------

def _profile(account_id: str, profile_id: str) -> AuthorProfile | None:
    found = {(p.scope, p.profile_id): p
             for p in AuthorProfile.batch_get([(account_id, profile_id), (GLOBAL_SCOPE, profile_id)])}
    for scope in (account_id, GLOBAL_SCOPE):
        profile = found.get((scope, profile_id))
        if profile is not None and profile.is_active:
            return profile
    return None


def check_profile(account_id: str, profile_id: str | None, field: str = "author_profile_id") -> str | None:
    """An author profile a site, sector or task may name: the account's or the platform's, active."""
    if profile_id is not None and _profile(account_id, profile_id) is None:
        raise UnprocessableEntity("There is no active author profile with this id in the account or the platform; "
                                  "see GET /v1/account/author-profiles.", code="unknown_author_profile",
                                  details=[{"field": field, "message": "unknown author profile"}])
    return profile_id


def task_author(account_id: str, profile_id: str) -> dict[str, Any]:
    """The ``effective_author`` of a task naming its own profile (checked: 422 if unknown)."""
    profile = _profile(account_id, profile_id)
    if profile is None:
        check_profile(account_id, profile_id)
    return Author(profile, "task").view()


def check_strategy(strategy_id: str | None, field: str = "strategy_id") -> str | None:
    if strategy_id is None:
        return None
    try:
        strategy = system_config.get_strategy(strategy_id)
    except NotFound:
        strategy = None
    if strategy is None or not strategy.is_active:
        raise UnprocessableEntity("There is no active strategy with this id; see GET /v1/strategies.",
                                  code="unknown_strategy", details=[{"field": field, "message": "unknown strategy"}])
    return strategy_id


def check_post_types(mapping: Mapping[str, str], synced: list[Any] | None) -> dict[str, str]:
    """Content type -> WordPress post type; each post type must be one the site's WordPress has
    (its synced structure; before a sync only post and page are known)."""
    known = {"post", "page"} if not synced else {str(t.get("slug")) for t in synced if isinstance(t, Mapping)}
    clean: dict[str, str] = {}
    for key, post_type in mapping.items():
        ctype = content_types.validate(key, f"post_types.{key}")
        if post_type not in known:
            raise UnprocessableEntity(f"The site's WordPress has no post type {post_type!r}; it has: "
                                      f"{', '.join(sorted(known))}.", code="unknown_post_type",
                                      details=[{"field": f"post_types.{key}", "message": "no such post type"}])
        clean[ctype] = post_type
    return clean


def post_type_for(site: Site, content_type: str | None) -> str:
    """The WordPress post type an article of this type is published as on this site."""
    ctype = content_types.get(content_type)
    return (site.post_types or {}).get(ctype.key) or ctype.wordpress_type


def check_site_changes(account_id: str, site_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """A site PATCH's generation fields, checked before anything is written."""
    if changes.get("author_profile_id") is not None:
        check_profile(account_id, changes["author_profile_id"])
    if changes.get("strategy_id") is not None:
        check_strategy(changes["strategy_id"])
    if changes.get("post_types") is not None:
        try:
            synced = SiteIntegration.get(site_key(account_id, site_id), "wordpress").post_types
        except SiteIntegration.DoesNotExist:
            synced = None
        changes["post_types"] = check_post_types(changes["post_types"], synced)
    return changes


def check_sector_changes(account_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    if changes.get("author_profile_id") is not None:
        check_profile(account_id, changes["author_profile_id"])
    return changes


# --- resolving ----------------------------------------------------------------------------

def effective_author(account_id: str, site: Site | None, sector: Sector | None = None,
                     task: Any = None) -> Author:
    """Task -> sector -> site -> account default -> global default: one BatchGetItem for the named
    ones, one Query of the account's profiles only when none of them names an active one."""
    named = [(source, getattr(record, "author_profile_id", None))
             for source, record in (("task", task), ("sector", sector), ("site", site))]
    named = [(source, pid) for source, pid in named if pid]
    keys = list(dict.fromkeys([k for _, pid in named for k in ((account_id, pid), (GLOBAL_SCOPE, pid))]
                              + [(GLOBAL_SCOPE, author_profiles.DEFAULT_PROFILE_ID)]))
    found = {(p.scope, p.profile_id): p for p in AuthorProfile.batch_get(keys)}
    for source, pid in named:
        for scope in (account_id, GLOBAL_SCOPE):
            profile = found.get((scope, pid))
            if profile is not None and profile.is_active:
                return Author(profile, source)
    default = next((p for p in AuthorProfile.query(account_id) if p.is_default and p.is_active), None)
    if default is not None:
        return Author(default, "account")
    platform = found.get((GLOBAL_SCOPE, author_profiles.DEFAULT_PROFILE_ID))
    if platform is not None and platform.is_active:
        return Author(platform, "global")
    return Author(None, BUILTIN)


def strategy_text(site: Site) -> str:
    if not site.strategy_id:
        return "None chosen: follow the brief."
    try:
        strategy = system_config.get_strategy(site.strategy_id)
    except NotFound:
        return "None chosen: follow the brief."
    if not strategy.is_active:
        return "None chosen: follow the brief."
    return "\n".join(part for part in (f"{strategy.name}.", strategy.description, strategy.instructions) if part)


def industry_text(site: Site) -> str:
    if not site.industry_id:
        return "Not set."
    try:
        industry = sites.get_industry(site.industry_id)
    except NotFound:
        return "Not set."
    return f"{industry.name}." + (f" {industry.description}" if industry.description else "")


@dataclass(frozen=True)
class Context:
    """Everything a text stage's prompt takes from the customer's settings."""

    site: Site
    author: Author
    content_type: ContentType
    target_words: int
    strategy: str
    industry: str
    prompt_override: str | None = None

    @property
    def language(self) -> str:
        return self.author.language

    def variables(self) -> dict[str, Any]:
        """The settings' prompt variables (each stage takes the ones it declares)."""
        return {"author": self.author.prompt_text(), "language": self.language, "strategy": self.strategy,
                "industry": self.industry, "content_type": self.content_type.label,
                "structure": self.content_type.structure(), "word_count": self.target_words,
                "content_types": content_types.choices()}


def context(account_id: str, site_id: str, sector_id: str | None, task: Any = None, *,
            content_type: str | None = None) -> Context:
    """The settings a stage works with, for a sector (ideas) or a task (content, images)."""
    site = sites.get_site(account_id, site_id)
    sector = sites.get_sector(account_id, site_id, sector_id) if sector_id else None
    ctype = content_types.get(getattr(task, "content_type", None) or content_type)
    target = int(getattr(task, "target_words", None) or ctype.target_words)
    return Context(site=site, author=effective_author(account_id, site, sector, task), content_type=ctype,
                   target_words=target, strategy=strategy_text(site), industry=industry_text(site),
                   prompt_override=getattr(task, "prompt_override", None) or None)
