"""/v1/admin/...: the platform's system records. Platform staff only (auth="staff").

Provider secrets are write-only here: a request may set or clear them, no response
carries more than their masked form ("••••abcd").
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field, SecretStr, StrictFloat, StrictInt

from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import Body, Deleted, ListQuery, Out, Page
from chalicelib.errors import UnprocessableEntity
from chalicelib.models.accounts import GLOBAL_SCOPE
from chalicelib.models.pages import paginate
from chalicelib.models.system import (
    AIModelConfig,
    CreditCostConfig,
    GlobalAIPrompt,
    GlobalAuthorProfile,
    GlobalStrategy,
    IntegrationProvider,
)
from chalicelib.services import ai_models, ai_settings, author_profiles, prompts, providers, system_config

bp = Blueprint(__name__)
PROVIDER_TAGS, MODEL_TAGS, SETTINGS_TAGS = ["admin: providers"], ["admin: AI models"], ["admin: settings"]
PROMPT_TAGS, PROFILE_TAGS, STRATEGY_TAGS = ["admin: prompts"], ["admin: author profiles"], ["admin: strategies"]

Slug = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$", description="Lower-case id: letters, digits, - and _")
PROMPT_TYPE = r"[a-z][a-z0-9_]{1,63}"
Endpoint = Field(None, max_length=500, pattern=r"^$|^https?://[^\s]+$")
Secret = Field(None, max_length=500, description="Write-only: responses show only '••••' and the last four characters.")
Language = Field(None, pattern=r"^[a-z]{2}(-[A-Z]{2})?$", description="e.g. en, de, pt-BR")


def changed_fields(body: BaseModel, *, nullable: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The fields the request set; null removes an optional field and is refused elsewhere."""
    changes = body.model_dump(exclude_unset=True)
    bad = [name for name, value in changes.items() if value is None and name not in nullable]
    if bad:
        raise UnprocessableEntity("These fields cannot be null: " + ", ".join(bad) + ".",
                                  details=[{"field": name, "message": "cannot be null"} for name in bad])
    return changes


# --- integration providers ------------------------------------------------------------------

class ProviderCreate(Body):
    provider_id: str = Slug
    display_name: str = Field(min_length=1, max_length=100)
    provider_type: Literal["ai", "payment", "email", "storage"]
    api_endpoint: str = Field("", max_length=500, pattern=r"^$|^https?://[^\s]+$")
    config: dict[str, Any] = Field(default_factory=dict)
    is_active: bool = True
    is_sandbox: bool = False
    api_key: SecretStr | None = Secret
    api_secret: SecretStr | None = Secret
    webhook_secret: SecretStr | None = Secret


class ProviderUpdate(Body):
    display_name: str | None = Field(None, min_length=1, max_length=100)
    provider_type: Literal["ai", "payment", "email", "storage"] | None = None
    api_endpoint: str | None = Endpoint
    config: dict[str, Any] | None = None
    is_active: bool | None = None
    is_sandbox: bool | None = None
    api_key: SecretStr | None = Field(None, max_length=500, description="A new key; null or \"\" removes it.")
    api_secret: SecretStr | None = Field(None, max_length=500, description="A new secret; null or \"\" removes it.")
    webhook_secret: SecretStr | None = Field(None, max_length=500,
                                             description="A new secret; null or \"\" removes it.")


class ProviderOut(Out):
    provider_id: str
    display_name: str
    provider_type: str
    api_endpoint: str
    config: dict[str, Any]
    is_active: bool
    is_sandbox: bool
    api_key: str | None = Field(description="Masked, e.g. '••••abcd'; null when none is set.")
    api_secret: str | None
    webhook_secret: str | None
    updated_by: str | None
    created_at: datetime
    updated_at: datetime


class ProviderListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider_type: Literal["ai", "payment", "email", "storage"] | None = None


def _provider_out(p: IntegrationProvider) -> ProviderOut:
    return ProviderOut(provider_id=p.provider_id, display_name=p.display_name, provider_type=p.provider_type,
                       api_endpoint=p.api_endpoint or "", config=p.config or {}, is_active=p.is_active,
                       is_sandbox=p.is_sandbox, updated_by=p.updated_by, created_at=p.created_at,
                       updated_at=p.updated_at, **providers.masked(p))


def _secret_values(body: BaseModel, fields_set: set[str]) -> dict[str, str | None]:
    return {f: (getattr(body, f).get_secret_value() if getattr(body, f) is not None else None)
            for f in providers.SECRET_FIELDS if f in fields_set}


@route(bp, "/v1/admin/providers", "GET", summary="List integration providers (secrets masked)",
       tags=PROVIDER_TAGS, query=ProviderListQuery, response=Page[ProviderOut], auth="staff")
def list_providers(req: Req) -> Page[ProviderOut]:
    items = providers.list_records(req.query.provider_type)
    return Page[ProviderOut](items=[_provider_out(p) for p in items])


@route(bp, "/v1/admin/providers", "POST", summary="Add an integration provider", tags=PROVIDER_TAGS,
       body=ProviderCreate, response=ProviderOut, status=201, auth="staff")
def create_provider(req: Req) -> ProviderOut:
    b: ProviderCreate = req.body
    fields = b.model_dump(exclude=set(providers.SECRET_FIELDS))
    provider = providers.create_provider(**fields, secret_values=_secret_values(b, b.model_fields_set),
                                         updated_by=req.tenant.user_id)
    return _provider_out(provider)


@route(bp, "/v1/admin/providers/{provider_id}", "GET", summary="Get an integration provider (secrets masked)",
       tags=PROVIDER_TAGS, response=ProviderOut, auth="staff")
def get_provider(req: Req, provider_id: str) -> ProviderOut:
    return _provider_out(providers.get_record(provider_id))


@route(bp, "/v1/admin/providers/{provider_id}", "PATCH",
       summary="Change an integration provider; set or clear its secrets", tags=PROVIDER_TAGS,
       body=ProviderUpdate, response=ProviderOut, auth="staff")
def update_provider(req: Req, provider_id: str) -> ProviderOut:
    b: ProviderUpdate = req.body
    secret_values = _secret_values(b, b.model_fields_set)
    changes = {k: v for k, v in changed_fields(b, nullable=frozenset(providers.SECRET_FIELDS)).items()
               if k not in providers.SECRET_FIELDS}
    return _provider_out(providers.update_provider(provider_id, changes, secret_values=secret_values,
                                                   updated_by=req.tenant.user_id))


@route(bp, "/v1/admin/providers/{provider_id}", "DELETE", summary="Delete an integration provider",
       tags=PROVIDER_TAGS, response=Deleted, auth="staff")
def delete_provider(req: Req, provider_id: str) -> Deleted:
    providers.delete_provider(provider_id)
    return Deleted(id=provider_id)


# --- AI models --------------------------------------------------------------------------------

Money = Field(None, ge=0, max_digits=12, decimal_places=6, description="USD per 1K tokens")


class ModelFields(Body):
    display_name: str | None = Field(None, min_length=1, max_length=200)
    # a provider id (a Slug): an empty one would reach DynamoDB as an empty key
    provider: str | None = Field(None, max_length=50, pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$")
    is_active: bool | None = None
    cost_per_1k_input: Decimal | None = Money
    cost_per_1k_output: Decimal | None = Money
    tokens_per_credit: int | None = Field(None, ge=1, le=10_000_000)
    credits_per_image: int | None = Field(None, ge=0, le=10_000)
    quality_tier: Literal["basic", "quality", "premium"] | None = None
    supported_sizes: list[str] | None = Field(None, max_length=20, description="e.g. [\"1024x1024\"]")
    max_tokens: int | None = Field(None, ge=1, le=10_000_000)
    context_window: int | None = Field(None, ge=1, le=100_000_000)
    capabilities: dict[str, Any] | None = None


class ModelCreate(ModelFields):
    model_name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,99}$", examples=["runware:97@1"])
    model_type: Literal["text", "image", "embedding"]
    display_name: str = Field(min_length=1, max_length=200)
    provider: str = Field(max_length=50, pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$")


class ModelOut(Out):
    model_name: str
    model_type: str
    provider: str
    display_name: str
    is_active: bool
    is_default: bool
    cost_per_1k_input: Decimal | None
    cost_per_1k_output: Decimal | None
    tokens_per_credit: int | None
    credits_per_image: int | None
    quality_tier: str | None
    supported_sizes: list[str]
    max_tokens: int | None
    context_window: int | None
    capabilities: dict[str, Any]
    updated_by: str | None
    created_at: datetime
    updated_at: datetime


class ModelListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model_type: Literal["text", "image", "embedding"] | None = None


def _model_out(m: AIModelConfig, defaults: dict[str, str]) -> ModelOut:
    data = {name: getattr(m, name) for name in ModelOut.model_fields if name != "is_default"}
    data["supported_sizes"] = list(m.supported_sizes or [])
    data["capabilities"] = m.capabilities or {}
    return ModelOut(**data, is_default=defaults.get(m.model_type) == m.model_name)


@route(bp, "/v1/admin/ai-models", "GET", summary="List AI models, their pricing and which are the defaults",
       tags=MODEL_TAGS, query=ModelListQuery, response=Page[ModelOut], auth="staff")
def list_models(req: Req) -> Page[ModelOut]:
    defaults = ai_models.current_defaults()
    return Page[ModelOut](items=[_model_out(m, defaults) for m in ai_models.list_models(req.query.model_type)])


@route(bp, "/v1/admin/ai-models", "POST", summary="Add an AI model", tags=MODEL_TAGS, body=ModelCreate,
       response=ModelOut, status=201, auth="staff")
def create_model(req: Req) -> ModelOut:
    fields = req.body.model_dump(exclude_none=True)
    fields.setdefault("is_active", True)
    model = ai_models.create_model(**fields, updated_by=req.tenant.user_id)
    return _model_out(model, ai_models.current_defaults())


@route(bp, "/v1/admin/ai-models/{model_name}", "GET", summary="Get an AI model", tags=MODEL_TAGS,
       response=ModelOut, auth="staff")
def get_model(req: Req, model_name: str) -> ModelOut:
    return _model_out(ai_models.get_model(model_name), ai_models.current_defaults())


@route(bp, "/v1/admin/ai-models/{model_name}", "PATCH",
       summary="Change an AI model (the default of its type cannot be switched off)", tags=MODEL_TAGS,
       body=ModelFields, response=ModelOut, auth="staff")
def update_model(req: Req, model_name: str) -> ModelOut:
    nullable = frozenset(ModelFields.model_fields) - {"display_name", "provider", "is_active"}
    changes = changed_fields(req.body, nullable=nullable)
    if "supported_sizes" in changes and changes["supported_sizes"] is None:
        changes["supported_sizes"] = []
    model = ai_models.update_model(model_name, changes, updated_by=req.tenant.user_id)
    return _model_out(model, ai_models.current_defaults())


@route(bp, "/v1/admin/ai-models/{model_name}", "DELETE",
       summary="Delete an AI model (not the default of its type)", tags=MODEL_TAGS, response=Deleted, auth="staff")
def delete_model(req: Req, model_name: str) -> Deleted:
    ai_models.delete_model(model_name)
    return Deleted(id=model_name)


@route(bp, "/v1/admin/ai-models/{model_name}/default", "POST",
       summary="Make this model the default of its type (text, image, embedding)", tags=MODEL_TAGS,
       response=ModelOut, auth="staff")
def set_default_model(req: Req, model_name: str) -> ModelOut:
    ai_models.set_default(model_name, updated_by=req.tenant.user_id)
    return _model_out(ai_models.get_model(model_name), ai_models.current_defaults())


# --- system AI settings, module switches ---------------------------------------------------

class SystemSettingsUpdate(Body):
    temperature: StrictFloat | StrictInt | None = Field(None, description="0.0 to 2.0")
    max_tokens: StrictInt | None = Field(None, description="1 to 32768")
    image_style: str | None = Field(None, description=", ".join(ai_settings.IMAGE_STYLES))
    image_quality: str | None = Field(None, description="standard or hd")
    max_images_per_article: StrictInt | None = Field(None, description="1 to 8")
    image_size: str | None = Field(None, description=", ".join(ai_settings.IMAGE_SIZES))


class SystemSettingsOut(Out):
    temperature: float
    max_tokens: int
    image_style: str
    image_quality: str
    max_images_per_article: int
    image_size: str
    updated_by: str | None
    updated_at: datetime | None


@route(bp, "/v1/admin/ai-settings", "GET", summary="The system AI defaults", tags=SETTINGS_TAGS,
       response=SystemSettingsOut, auth="staff")
def get_system_settings(req: Req) -> SystemSettingsOut:
    return SystemSettingsOut.model_validate(ai_settings.get_system_settings(fresh=True))


@route(bp, "/v1/admin/ai-settings", "PATCH", summary="Change the system AI defaults", tags=SETTINGS_TAGS,
       body=SystemSettingsUpdate, response=SystemSettingsOut, auth="staff")
def update_system_settings(req: Req) -> SystemSettingsOut:
    item = ai_settings.update_system_settings(changed_fields(req.body), updated_by=req.tenant.user_id)
    return SystemSettingsOut.model_validate(item)


class ModuleSettingsUpdate(Body):
    planner_enabled: bool | None = None
    writer_enabled: bool | None = None
    linker_enabled: bool | None = None
    optimizer_enabled: bool | None = None
    automation_enabled: bool | None = None
    integration_enabled: bool | None = None
    publisher_enabled: bool | None = None


class ModuleSettingsOut(Out):
    planner_enabled: bool
    writer_enabled: bool
    linker_enabled: bool
    optimizer_enabled: bool
    automation_enabled: bool
    integration_enabled: bool
    publisher_enabled: bool
    updated_at: datetime | None


@route(bp, "/v1/admin/module-settings", "GET", summary="Which modules the platform offers", tags=SETTINGS_TAGS,
       response=ModuleSettingsOut, auth="staff")
def get_module_settings(req: Req) -> ModuleSettingsOut:
    return ModuleSettingsOut.model_validate(system_config.get_module_settings(fresh=True))


@route(bp, "/v1/admin/module-settings", "PATCH", summary="Switch modules on or off for the whole platform",
       tags=SETTINGS_TAGS, body=ModuleSettingsUpdate, response=ModuleSettingsOut, auth="staff")
def update_module_settings(req: Req) -> ModuleSettingsOut:
    item = system_config.update_module_settings(changed_fields(req.body), updated_by=req.tenant.user_id)
    return ModuleSettingsOut.model_validate(item)


# --- credit costs -------------------------------------------------------------------------

class CreditCostPut(Body):
    display_name: str = Field(min_length=1, max_length=100)
    base_credits: int = Field(1, ge=0, le=100_000)
    is_active: bool = True
    description: str = Field("", max_length=2000)


class CreditCostOut(Out):
    operation_type: str
    display_name: str
    base_credits: int
    is_active: bool
    description: str
    updated_at: datetime


@route(bp, "/v1/admin/credit-costs", "GET", summary="List the credit cost of each operation",
       tags=SETTINGS_TAGS, query=ListQuery, response=Page[CreditCostOut], auth="staff")
def list_credit_costs(req: Req) -> Page[CreditCostOut]:
    page = paginate(lambda **kw: CreditCostConfig.query(GLOBAL_SCOPE, **kw), scope="admin:credit-costs",
                    limit=req.query.limit, cursor=req.query.cursor)
    return Page[CreditCostOut](items=[CreditCostOut.model_validate(c) for c in page.items],
                               next_cursor=page.next_cursor)


@route(bp, "/v1/admin/credit-costs/{operation_type}", "PUT", summary="Set the credit cost of an operation",
       tags=SETTINGS_TAGS, body=CreditCostPut, response=CreditCostOut, auth="staff")
def put_credit_cost(req: Req, operation_type: str) -> CreditCostOut:
    item = system_config.put_credit_cost(operation_type, **req.body.model_dump(), updated_by=req.tenant.user_id)
    return CreditCostOut.model_validate(item)


@route(bp, "/v1/admin/credit-costs/{operation_type}", "DELETE", summary="Delete an operation's credit cost",
       tags=SETTINGS_TAGS, response=Deleted, auth="staff")
def delete_credit_cost(req: Req, operation_type: str) -> Deleted:
    system_config.delete_credit_cost(operation_type)
    return Deleted(id=operation_type)


# --- global prompts -----------------------------------------------------------------------

class GlobalPromptPut(Body):
    prompt_value: str = Field(min_length=1, max_length=50_000,
                              description="Instructions first, {{ variable }} placeholders last.")
    variables: list[str] | None = Field(None, max_length=30,
                                        description="Only for prompt types that are not a pipeline stage.")
    description: str = Field("", max_length=2000)
    is_active: bool = True


class PromptOut(Out):
    prompt_type: str
    prompt_value: str
    variables: list[str]
    is_active: bool
    description: str = ""
    updated_by: str | None = None
    updated_at: datetime


def _prompt_type(value: str) -> str:
    if not re.fullmatch(PROMPT_TYPE, value):
        raise UnprocessableEntity("A prompt type is lower-case letters, digits and _ (2-64 characters).",
                                  details=[{"field": "prompt_type", "message": "invalid"}])
    return value


@route(bp, "/v1/admin/prompts", "GET", summary="List the global prompts", tags=PROMPT_TAGS, query=ListQuery,
       response=Page[PromptOut], auth="staff")
def list_global_prompts(req: Req) -> Page[PromptOut]:
    page = paginate(lambda **kw: GlobalAIPrompt.query(GLOBAL_SCOPE, **kw), scope="admin:prompts",
                    limit=req.query.limit, cursor=req.query.cursor)
    return Page[PromptOut](items=[PromptOut.model_validate(p) for p in page.items], next_cursor=page.next_cursor)


@route(bp, "/v1/admin/prompts/{prompt_type}", "GET", summary="Get a global prompt", tags=PROMPT_TAGS,
       response=PromptOut, auth="staff")
def get_global_prompt(req: Req, prompt_type: str) -> PromptOut:
    return PromptOut.model_validate(prompts.get_global_prompt(prompt_type))


@route(bp, "/v1/admin/prompts/{prompt_type}", "PUT",
       summary="Create or replace a global prompt (its variables are checked)", tags=PROMPT_TAGS,
       body=GlobalPromptPut, response=PromptOut, auth="staff")
def put_global_prompt(req: Req, prompt_type: str) -> PromptOut:
    item = prompts.put_global_prompt(_prompt_type(prompt_type), **req.body.model_dump(),
                                     updated_by=req.tenant.user_id)
    return PromptOut.model_validate(item)


@route(bp, "/v1/admin/prompts/{prompt_type}", "DELETE",
       summary="Delete a global prompt (a stage falls back to its built-in prompt)", tags=PROMPT_TAGS,
       response=Deleted, auth="staff")
def delete_global_prompt(req: Req, prompt_type: str) -> Deleted:
    prompts.delete_global_prompt(prompt_type)
    return Deleted(id=prompt_type)


# --- global author profiles ---------------------------------------------------------------

class ProfileUpdate(Body):
    name: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=2000)
    tone: str | None = Field(None, min_length=1, max_length=50, examples=["professional", "casual", "technical"])
    language: str | None = Language
    instructions: str | None = Field(None, max_length=5000)
    is_active: bool | None = None


class ProfileCreate(Body):
    name: str = Field(min_length=1, max_length=255)
    description: str = Field("", max_length=2000)
    tone: str = Field("professional", min_length=1, max_length=50)
    language: str = Field("en", pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    instructions: str = Field("", max_length=5000)
    is_active: bool = True


class GlobalProfileCreate(ProfileCreate):
    profile_id: str = Slug


class ProfileOut(Out):
    profile_id: str
    name: str
    description: str
    tone: str
    language: str
    instructions: str
    is_active: bool
    scope: str = "global"
    created_at: datetime
    updated_at: datetime


def global_profile_out(p: GlobalAuthorProfile) -> ProfileOut:
    return ProfileOut.model_validate(p).model_copy(update={"scope": "global"})


@route(bp, "/v1/admin/author-profiles", "GET", summary="List the global author profiles", tags=PROFILE_TAGS,
       query=ListQuery, response=Page[ProfileOut], auth="staff")
def list_global_profiles(req: Req) -> Page[ProfileOut]:
    page = paginate(lambda **kw: GlobalAuthorProfile.query(GLOBAL_SCOPE, **kw), scope="admin:author-profiles",
                    limit=req.query.limit, cursor=req.query.cursor)
    return Page[ProfileOut](items=[global_profile_out(p) for p in page.items], next_cursor=page.next_cursor)


@route(bp, "/v1/admin/author-profiles", "POST", summary="Add a global author profile", tags=PROFILE_TAGS,
       body=GlobalProfileCreate, response=ProfileOut, status=201, auth="staff")
def create_global_profile(req: Req) -> ProfileOut:
    return global_profile_out(author_profiles.create_global(**req.body.model_dump(), updated_by=req.tenant.user_id))


@route(bp, "/v1/admin/author-profiles/{profile_id}", "GET", summary="Get a global author profile",
       tags=PROFILE_TAGS, response=ProfileOut, auth="staff")
def get_global_profile(req: Req, profile_id: str) -> ProfileOut:
    return global_profile_out(author_profiles.get_global(profile_id))


@route(bp, "/v1/admin/author-profiles/{profile_id}", "PATCH", summary="Change a global author profile",
       tags=PROFILE_TAGS, body=ProfileUpdate, response=ProfileOut, auth="staff")
def update_global_profile(req: Req, profile_id: str) -> ProfileOut:
    item = author_profiles.update_global(profile_id, changed_fields(req.body), updated_by=req.tenant.user_id)
    return global_profile_out(item)


@route(bp, "/v1/admin/author-profiles/{profile_id}", "DELETE", summary="Delete a global author profile",
       tags=PROFILE_TAGS, response=Deleted, auth="staff")
def delete_global_profile(req: Req, profile_id: str) -> Deleted:
    author_profiles.delete_global(profile_id)
    return Deleted(id=profile_id)


# --- global strategies --------------------------------------------------------------------

class StrategyCreate(Body):
    strategy_id: str = Slug
    name: str = Field(min_length=1, max_length=255)
    description: str = Field("", max_length=5000)
    instructions: str = Field("", max_length=20_000)
    config: dict[str, Any] = Field(default_factory=dict)
    is_active: bool = True


class StrategyUpdate(Body):
    name: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=5000)
    instructions: str | None = Field(None, max_length=20_000)
    config: dict[str, Any] | None = None
    is_active: bool | None = None


class StrategyOut(Out):
    strategy_id: str
    name: str
    description: str
    instructions: str
    config: dict[str, Any]
    is_active: bool
    created_at: datetime
    updated_at: datetime


@route(bp, "/v1/admin/strategies", "GET", summary="List the global content strategies", tags=STRATEGY_TAGS,
       query=ListQuery, response=Page[StrategyOut], auth="staff")
def list_strategies(req: Req) -> Page[StrategyOut]:
    page = paginate(lambda **kw: GlobalStrategy.query(GLOBAL_SCOPE, **kw), scope="admin:strategies",
                    limit=req.query.limit, cursor=req.query.cursor)
    return Page[StrategyOut](items=[StrategyOut.model_validate(s) for s in page.items],
                             next_cursor=page.next_cursor)


@route(bp, "/v1/admin/strategies", "POST", summary="Add a content strategy", tags=STRATEGY_TAGS,
       body=StrategyCreate, response=StrategyOut, status=201, auth="staff")
def create_strategy(req: Req) -> StrategyOut:
    item = system_config.create_strategy(**req.body.model_dump(), updated_by=req.tenant.user_id)
    return StrategyOut.model_validate(item)


@route(bp, "/v1/admin/strategies/{strategy_id}", "GET", summary="Get a content strategy", tags=STRATEGY_TAGS,
       response=StrategyOut, auth="staff")
def get_strategy(req: Req, strategy_id: str) -> StrategyOut:
    return StrategyOut.model_validate(system_config.get_strategy(strategy_id))


@route(bp, "/v1/admin/strategies/{strategy_id}", "PATCH", summary="Change a content strategy",
       tags=STRATEGY_TAGS, body=StrategyUpdate, response=StrategyOut, auth="staff")
def update_strategy(req: Req, strategy_id: str) -> StrategyOut:
    item = system_config.update_strategy(strategy_id, changed_fields(req.body), updated_by=req.tenant.user_id)
    return StrategyOut.model_validate(item)


@route(bp, "/v1/admin/strategies/{strategy_id}", "DELETE", summary="Delete a content strategy",
       tags=STRATEGY_TAGS, response=Deleted, auth="staff")
def delete_strategy(req: Req, strategy_id: str) -> Deleted:
    system_config.delete_strategy(strategy_id)
    return Deleted(id=strategy_id)
