"""Prompts: global (staff) and account versions, and which one a call uses.

Resolution order: a task's own override, then the account's prompt, then the global
prompt, then the built-in default (``system_defaults.PROMPTS``), so a stage always has a
prompt even on an unseeded table. A stage's variables are fixed by the stage
(``chalicelib.ai.stages``); a prompt for another type declares its own.
"""

from __future__ import annotations

from typing import Any

from chalicelib.ai.prompts import PromptError, PromptTemplate, check_template
from chalicelib.ai.stages import STAGES
from chalicelib.errors import NotFound, UnprocessableEntity
from chalicelib.models.accounts import GLOBAL_SCOPE
from chalicelib.models.system import AIPrompt, GlobalAIPrompt
from chalicelib.services import system_store
from chalicelib.services.system_defaults import builtin_prompt
from chalicelib.services.ttl_cache import TTLCache, clear_all

_global = TTLCache("global-prompts")


def declared_variables(prompt_type: str, given: list[str] | None = None) -> tuple[str, ...]:
    stage = STAGES.get(prompt_type)
    return stage.variables if stage else tuple(given or ())


def _checked(prompt_type: str, text: str, variables: tuple[str, ...]) -> None:
    try:
        check_template(text, variables)
    except PromptError as exc:
        raise UnprocessableEntity(str(exc), code="invalid_prompt",
                                  details=[{"field": "prompt_value", "message": str(exc)}]) from None


# --- global prompts (staff) ---------------------------------------------------------------

def list_global_prompts() -> list[GlobalAIPrompt]:
    return list(GlobalAIPrompt.query(GLOBAL_SCOPE))


def get_global_prompt(prompt_type: str) -> GlobalAIPrompt:
    return system_store.get_or_404(GlobalAIPrompt, GLOBAL_SCOPE, prompt_type, "Prompt")


def put_global_prompt(prompt_type: str, *, prompt_value: str, variables: list[str] | None = None,
                      description: str = "", is_active: bool = True,
                      updated_by: str | None = None) -> GlobalAIPrompt:
    declared = declared_variables(prompt_type, variables)
    if prompt_type in STAGES and variables is not None and tuple(variables) != declared:
        raise UnprocessableEntity(f"The variables of {prompt_type!r} are fixed by its stage: "
                                  f"{', '.join(declared)}.", code="invalid_prompt",
                                  details=[{"field": "variables", "message": "fixed by the stage"}])
    _checked(prompt_type, prompt_value, declared)
    item = GlobalAIPrompt(GLOBAL_SCOPE, prompt_type, prompt_value=prompt_value, variables=list(declared),
                          description=description, is_active=is_active, updated_by=updated_by)
    item.save()
    clear_all()
    return item


def delete_global_prompt(prompt_type: str) -> None:
    system_store.delete(GlobalAIPrompt, GLOBAL_SCOPE, prompt_type, "Prompt")
    clear_all()


def _active_global(prompt_type: str) -> GlobalAIPrompt | None:
    def load() -> GlobalAIPrompt | None:
        try:
            item = GlobalAIPrompt.get(GLOBAL_SCOPE, prompt_type)
        except GlobalAIPrompt.DoesNotExist:
            return None
        return item if item.is_active else None

    return _global.get_or_load(prompt_type, load)


# --- account prompts ----------------------------------------------------------------------

def _known_type(prompt_type: str) -> tuple[str, ...]:
    """The variables of a type an account may override: a stage, or an existing global prompt."""
    if prompt_type in STAGES:
        return STAGES[prompt_type].variables
    item = _active_global(prompt_type)
    if item is None:
        raise NotFound("Prompt type")
    return tuple(item.variables or ())


def list_account_prompts(account_id: str) -> list[AIPrompt]:
    return list(AIPrompt.query(account_id))


def put_account_prompt(account_id: str, prompt_type: str, *, prompt_value: str, is_active: bool = True,
                       updated_by: str | None = None) -> AIPrompt:
    variables = _known_type(prompt_type)
    _checked(prompt_type, prompt_value, variables)
    item = AIPrompt(account_id, prompt_type, prompt_value=prompt_value, variables=list(variables),
                    is_active=is_active, updated_by=updated_by)
    item.save()
    return item


def delete_account_prompt(account_id: str, prompt_type: str) -> None:
    system_store.delete(AIPrompt, account_id, prompt_type, "Prompt")


# --- resolution ---------------------------------------------------------------------------

def resolve_prompt(account_id: str | None, prompt_type: str, override: str | None = None) -> PromptTemplate:
    """The template a call uses: task override -> account prompt -> global -> built-in."""
    global_item = _active_global(prompt_type)
    variables = STAGES[prompt_type].variables if prompt_type in STAGES else \
        tuple(global_item.variables or ()) if global_item else ()
    candidates: list[tuple[str, Any]] = [("task", override)]
    if account_id:
        try:
            item = AIPrompt.get(account_id, prompt_type)
            candidates.append(("account", item.prompt_value if item.is_active else None))
        except AIPrompt.DoesNotExist:
            pass
    candidates.append(("global", global_item.prompt_value if global_item else None))
    candidates.append(("builtin", builtin_prompt(prompt_type)))
    for source, text in candidates:
        if text:
            template = PromptTemplate(prompt_type, text, variables, source)
            template.check()  # an override with an unknown variable fails here, clearly
            return template
    raise NotFound("Prompt")
