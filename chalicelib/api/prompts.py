"""/v1/admin/prompts (staff: the platform's prompts) and /v1/account/prompts (an account's own).

An account reads the prompt in effect for a type (its own, else the platform's, else the built-in)
and where it comes from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.api.routing import Req
from chalicelib.api.schemas import Body, Out
from chalicelib.api.scoped import ACCOUNT, STAFF, Op, ScopedResource, ScopeRoutes, declare
from chalicelib.services import prompts

bp = Blueprint(__name__)


class GlobalPromptPut(Body):
    prompt_value: str = Field(min_length=1, max_length=50_000,
                              description="Instructions first, {{ variable }} placeholders last.")
    variables: list[str] | None = Field(None, max_length=30,
                                        description="Only for prompt types that are not a pipeline stage.")
    description: str = Field("", max_length=2000)
    is_active: bool = True


class AccountPromptPut(Body):
    prompt_value: str = Field(min_length=1, max_length=50_000,
                              description="Instructions first, {{ variable }} placeholders last.")
    is_active: bool = True


class PromptOut(Out):
    prompt_type: str
    prompt_value: str
    variables: list[str]
    is_active: bool
    description: str = ""
    updated_by: str | None = None
    updated_at: datetime


class EffectivePromptOut(BaseModel):
    prompt_type: str
    prompt_value: str
    variables: list[str]
    source: Literal["account", "global", "builtin"]
    static_prefix_chars: int = Field(description="Length of the part every call shares (cached by providers).")


def effective_prompt(req: Req, scope: str, prompt_type: str) -> EffectivePromptOut:
    template = prompts.resolve_prompt(scope, prompt_type)
    return EffectivePromptOut(prompt_type=prompt_type, prompt_value=template.text, variables=list(template.variables),
                              source=template.source, static_prefix_chars=len(template.static_prefix()))


PROMPTS = ScopedResource("prompts", "prompt_type", "prompt", prompts, PromptOut, routes=(
    ScopeRoutes(STAFF, ["admin: prompts"], {
        "list": Op("List the global prompts"),
        "get": Op("Get a global prompt"),
        "put": Op("Create or replace a global prompt (its variables are checked)", body=GlobalPromptPut),
        "delete": Op("Delete a global prompt (a stage falls back to its built-in prompt)"),
    }),
    ScopeRoutes(ACCOUNT, ["account: prompts"], {
        "list": Op("The account's own prompts"),
        "get": Op("The prompt the account's calls use for this type (account, else global, else built-in)",
                  response=EffectivePromptOut, view=effective_prompt),
        "put": Op("Set the account's own version of a prompt", body=AccountPromptPut),
        "delete": Op("Remove the account's version (the global prompt applies)"),
    }),
))
declare(bp, PROMPTS, module=__name__)
