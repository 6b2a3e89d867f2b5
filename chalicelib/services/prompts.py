"""Prompts at two scopes: the platform's (staff) and an account's own; and which one a call uses.

Every function takes the scope first: ``global`` for the platform's prompts, an account id for
that account's; ``industry_scope(id)`` for the platform's prompt for one industry. Resolution
order: a task's own override, then the account's prompt, then the site's industry's, then the
platform's, then the built-in default (``system_defaults.PROMPTS``), so a stage always has a
prompt even on an unseeded table. A stage's variables are fixed by the stage
(``chalicelib.ai.stages``); the platform's prompt of another type declares its own, and an
account may only write its version of a type that exists (a stage, or an active platform prompt).
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.ai.prompts import PromptError, PromptTemplate, check_template
from chalicelib.ai.stages import STAGES
from chalicelib.errors import NotFound, UnprocessableEntity
from chalicelib.models.accounts import GLOBAL_SCOPE
from chalicelib.models.pages import Page
from chalicelib.models.system import AIPrompt
from chalicelib.services import system_store
from chalicelib.services.system_defaults import builtin_prompt
from chalicelib.services.ttl_cache import TTLCache, clear_all

PROMPT_TYPE = re.compile(r"[a-z][a-z0-9_]{1,63}")
WHAT = "Prompt"

_platform = TTLCache("platform-prompts")


def _checked(text: str, variables: tuple[str, ...]) -> None:
    try:
        check_template(text, variables)
    except PromptError as exc:
        raise UnprocessableEntity(str(exc), code="invalid_prompt",
                                  details=[{"field": "prompt_value", "message": str(exc)}]) from None


def _platform_prompt(prompt_type: str) -> AIPrompt | None:
    """The platform's active prompt of a type (cached)."""
    def load() -> AIPrompt | None:
        try:
            item = AIPrompt.get(GLOBAL_SCOPE, prompt_type)
        except AIPrompt.DoesNotExist:
            return None
        return item if item.is_active else None

    return _platform.get_or_load(prompt_type, load)


def _platform_variables(prompt_type: str, given: list[str] | None) -> tuple[str, ...]:
    """What the platform's prompt of a type may use: its stage's variables, else those it declares."""
    if not PROMPT_TYPE.fullmatch(prompt_type):
        raise UnprocessableEntity("A prompt type is lower-case letters, digits and _ (2-64 characters).",
                                  details=[{"field": "prompt_type", "message": "invalid"}])
    stage = STAGES.get(prompt_type)
    if stage is None:
        return tuple(given or ())
    if given is not None and tuple(given) != stage.variables:
        raise UnprocessableEntity(f"The variables of {prompt_type!r} are fixed by its stage: "
                                  f"{', '.join(stage.variables)}.", code="invalid_prompt",
                                  details=[{"field": "variables", "message": "fixed by the stage"}])
    return stage.variables


def _account_variables(prompt_type: str) -> tuple[str, ...]:
    """What an account's version of a type may use: a stage's, or the platform's active prompt's."""
    if prompt_type in STAGES:
        return STAGES[prompt_type].variables
    item = _platform_prompt(prompt_type)
    if item is None:
        raise NotFound("Prompt type")
    return tuple(item.variables or ())


# --- records of a scope -------------------------------------------------------------------

def page(scope: str, *, limit: int, cursor: str | None) -> Page:
    return system_store.page(AIPrompt, scope, limit=limit, cursor=cursor)


def get(scope: str, prompt_type: str) -> AIPrompt:
    return system_store.get_or_404(AIPrompt, scope, prompt_type, WHAT)


def put(scope: str, prompt_type: str, *, prompt_value: str, variables: list[str] | None = None,
        description: str = "", is_active: bool = True, updated_by: str | None = None) -> AIPrompt:
    """Create or replace the scope's prompt of a type; its variables are checked against the type's."""
    declared = _platform_variables(prompt_type, variables) if scope == GLOBAL_SCOPE else \
        _account_variables(prompt_type)
    _checked(prompt_value, declared)
    item = AIPrompt(scope, prompt_type, prompt_value=prompt_value, variables=list(declared),
                    description=description, is_active=is_active, updated_by=updated_by)
    item.save()
    if scope == GLOBAL_SCOPE:
        clear_all()
    return item


def delete(scope: str, prompt_type: str) -> None:
    system_store.delete(AIPrompt, scope, prompt_type, WHAT)
    if scope == GLOBAL_SCOPE:
        clear_all()


# --- resolution ---------------------------------------------------------------------------

def industry_scope(industry_id: str) -> str:
    """The scope of the platform's prompts for one industry (a platform record: staff write it)."""
    return f"{GLOBAL_SCOPE}#industry#{industry_id}"


def check_override(text: str, prompt_type: str = "content_generation", field: str = "prompt_override") -> str:
    """A task's own prompt: it may use the stage's variables and no other (422 naming ``field``)."""
    try:
        check_template(text, STAGES[prompt_type].variables)
    except PromptError as exc:
        raise UnprocessableEntity(str(exc), code="invalid_prompt",
                                  details=[{"field": field, "message": str(exc)}]) from None
    return text


def resolve_prompt(account_id: str | None, prompt_type: str, override: str | None = None,
                   industry_id: str | None = None) -> PromptTemplate:
    """The template a call uses: task override -> account -> industry -> platform's -> built-in."""
    platform = _platform_prompt(prompt_type)
    variables = STAGES[prompt_type].variables if prompt_type in STAGES else \
        tuple(platform.variables or ()) if platform else ()
    candidates: list[tuple[str, Any]] = [("task", override)]
    scopes = [("account", account_id), ("industry", industry_scope(industry_id) if industry_id else None)]
    keys = [(scope, prompt_type) for _, scope in scopes if scope]
    found = {item.scope: item for item in AIPrompt.batch_get(keys)} if keys else {}
    for source, scope in scopes:
        item = found.get(scope) if scope else None
        candidates.append((source, item.prompt_value if item is not None and item.is_active else None))
    candidates.append(("global", platform.prompt_value if platform else None))
    candidates.append(("builtin", builtin_prompt(prompt_type)))
    for source, text in candidates:
        if text:
            template = PromptTemplate(prompt_type, text, variables, source)
            template.check()  # an override with an unknown variable fails here, clearly
            return template
    raise NotFound(WHAT)
