"""/v1/admin/ai-models: the models the engine may use, their pricing, and the default of each type."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import Body, Deleted, Out, Page, changes
from chalicelib.models.system import AIModelConfig
from chalicelib.services import ai_models

bp = Blueprint(__name__)
TAGS = ["admin: AI models"]

Money = Field(None, ge=0, max_digits=12, decimal_places=6, description="USD per 1K tokens")
ModelType = Literal["text", "image", "embedding"]


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
    model_type: ModelType
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
    model_type: ModelType | None = None


# Fields a PATCH may set to null (they are optional on the model); the others are required.
NULLABLE = frozenset(ModelFields.model_fields) - {"display_name", "provider", "is_active"}


def _out(m: AIModelConfig, defaults: dict[str, str] | None = None) -> ModelOut:
    defaults = ai_models.current_defaults() if defaults is None else defaults
    data = {name: getattr(m, name) for name in ModelOut.model_fields if name != "is_default"}
    data["supported_sizes"] = list(m.supported_sizes or [])
    data["capabilities"] = m.capabilities or {}
    return ModelOut(**data, is_default=defaults.get(m.model_type) == m.model_name)


@route(bp, "/v1/admin/ai-models", "GET", summary="List AI models, their pricing and which are the defaults",
       tags=TAGS, query=ModelListQuery, response=Page[ModelOut], auth="staff")
def list_models(req: Req) -> Page[ModelOut]:
    defaults = ai_models.current_defaults()
    return Page[ModelOut](items=[_out(m, defaults) for m in ai_models.list_models(req.query.model_type)])


@route(bp, "/v1/admin/ai-models", "POST", summary="Add an AI model", tags=TAGS, body=ModelCreate,
       response=ModelOut, status=201, auth="staff")
def create_model(req: Req) -> ModelOut:
    fields = req.body.model_dump(exclude_none=True)
    fields.setdefault("is_active", True)
    return _out(ai_models.create_model(**fields, updated_by=req.tenant.user_id))


@route(bp, "/v1/admin/ai-models/{model_name}", "GET", summary="Get an AI model", tags=TAGS,
       response=ModelOut, auth="staff")
def get_model(req: Req, model_name: str) -> ModelOut:
    return _out(ai_models.get_model(model_name))


@route(bp, "/v1/admin/ai-models/{model_name}", "PATCH",
       summary="Change an AI model (the default of its type cannot be switched off)", tags=TAGS,
       body=ModelFields, response=ModelOut, auth="staff")
def update_model(req: Req, model_name: str) -> ModelOut:
    fields = changes(req.body, nullable=NULLABLE, refuse_null=True)
    if "supported_sizes" in fields and fields["supported_sizes"] is None:
        fields["supported_sizes"] = []
    return _out(ai_models.update_model(model_name, fields, updated_by=req.tenant.user_id))


@route(bp, "/v1/admin/ai-models/{model_name}", "DELETE",
       summary="Delete an AI model (not the default of its type)", tags=TAGS, response=Deleted, auth="staff")
def delete_model(req: Req, model_name: str) -> Deleted:
    ai_models.delete_model(model_name)
    return Deleted(id=model_name)


@route(bp, "/v1/admin/ai-models/{model_name}/default", "POST",
       summary="Make this model the default of its type (text, image, embedding)", tags=TAGS,
       response=ModelOut, auth="staff")
def set_default_model(req: Req, model_name: str) -> ModelOut:
    ai_models.set_default(model_name, updated_by=req.tenant.user_id)
    return _out(ai_models.get_model(model_name))
