"""What a customer chooses for their generation: /v1/content-types and /v1/strategies (read),
/v1/account/ai-keys (their own OpenAI / Runware keys and models), and the platform's prompts
per industry (/v1/admin/industries/{industry_id}/prompts/{prompt_type}, staff)."""

from __future__ import annotations

from datetime import datetime

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import Body, Deleted, ListQuery, Out, Page
from chalicelib.auth.roles import Role
from chalicelib.services import content_types, own_keys, prompts, sites, system_config

bp = Blueprint(__name__)
TAGS, KEY_TAGS, STAFF_TAGS = ["generation"], ["account: AI keys"], ["admin: prompts"]


class ContentTypeOut(BaseModel):
    key: str
    label: str
    min_words: int
    max_words: int
    min_headings: int
    lists: bool
    table: bool
    faq: bool
    wordpress_type: str = Field(description="The post type it is published as unless the site maps it")


class ContentTypesOut(BaseModel):
    items: list[ContentTypeOut]


@route(bp, "/v1/content-types", "GET", summary="The content types, their length ranges and structure", tags=TAGS,
       response=ContentTypesOut)
def list_content_types(req: Req) -> ContentTypesOut:
    return ContentTypesOut(items=[ContentTypeOut(**vars(t)) for t in content_types.CONTENT_TYPES.values()])


class StrategyChoiceOut(Out):
    strategy_id: str
    name: str
    description: str
    instructions: str


@route(bp, "/v1/strategies", "GET", summary="The platform's content strategies a site can choose", tags=TAGS,
       query=ListQuery, response=Page[StrategyChoiceOut])
def list_strategies(req: Req) -> Page[StrategyChoiceOut]:
    page = system_config.page_strategies(limit=req.query.limit, cursor=req.query.cursor)
    return Page[StrategyChoiceOut](items=[StrategyChoiceOut.model_validate(s) for s in page.items if s.is_active],
                             next_cursor=page.next_cursor)


# --- own keys -----------------------------------------------------------------------------

class KeyPut(Body):
    api_key: str = Field(min_length=8, max_length=500, description="Checked with one real call before it is stored")
    text_model: str | None = Field(None, max_length=100, description="A text model of this provider (AI models)")
    image_model: str | None = Field(None, max_length=100, description="An image model of this provider")


class KeyOut(BaseModel):
    provider_id: str
    api_key_hint: str = Field(description="The key is never shown: a mask and its last characters")
    models: dict[str, str]
    updated_at: datetime | None = None


class KeysOut(BaseModel):
    items: list[KeyOut]


@route(bp, "/v1/account/ai-keys", "GET", summary="The account's own AI keys (hints only)", tags=KEY_TAGS,
       response=KeysOut, role=Role.admin)
def list_keys(req: Req) -> KeysOut:
    return KeysOut(items=[KeyOut(**own_keys.view(k)) for k in own_keys.list_keys(req.account_id)])


@route(bp, "/v1/account/ai-keys/{provider_id}", "PUT", summary="Bring your own OpenAI or Runware key (checked with "
       "a real call; 422 with the provider's reason when refused)", tags=KEY_TAGS, body=KeyPut, response=KeyOut,
       role=Role.admin)
def put_key(req: Req, provider_id: str) -> KeyOut:
    body: KeyPut = req.body
    record = own_keys.put(req.account_id, provider_id, api_key=body.api_key,
                          models={"text": body.text_model, "image": body.image_model}, updated_by=req.tenant.user_id)
    return KeyOut(**own_keys.view(record))


@route(bp, "/v1/account/ai-keys/{provider_id}", "DELETE", summary="Remove an own key (the platform's applies)",
       tags=KEY_TAGS, response=Deleted, role=Role.admin)
def delete_key(req: Req, provider_id: str) -> Deleted:
    own_keys.delete(req.account_id, provider_id)
    return Deleted(id=provider_id)


# --- the platform's prompts per industry (staff) --------------------------------------------

class IndustryPromptPut(Body):
    prompt_value: str = Field(min_length=1, max_length=20000)
    description: str = Field("", max_length=1000)
    is_active: bool = True


class IndustryPromptOut(Out):
    prompt_type: str
    prompt_value: str
    variables: list[str]
    description: str
    is_active: bool
    updated_at: datetime


def _industry_scope(industry_id: str) -> str:
    sites.get_industry(industry_id)  # 404 for an unknown industry
    return prompts.industry_scope(industry_id)


@route(bp, "/v1/admin/industries/{industry_id}/prompts/{prompt_type}", "PUT", summary="Set the prompt of a stage "
       "for one industry (between the account's and the platform's)", tags=STAFF_TAGS, body=IndustryPromptPut,
       response=IndustryPromptOut, auth="staff")
def put_industry_prompt(req: Req, industry_id: str, prompt_type: str) -> IndustryPromptOut:
    body: IndustryPromptPut = req.body
    item = prompts.put(_industry_scope(industry_id), prompt_type, prompt_value=body.prompt_value,
                       description=body.description, is_active=body.is_active, updated_by=req.tenant.user_id)
    return IndustryPromptOut.model_validate(item)


@route(bp, "/v1/admin/industries/{industry_id}/prompts/{prompt_type}", "GET", summary="An industry's prompt of a "
       "stage", tags=STAFF_TAGS, response=IndustryPromptOut, auth="staff")
def get_industry_prompt(req: Req, industry_id: str, prompt_type: str) -> IndustryPromptOut:
    return IndustryPromptOut.model_validate(prompts.get(_industry_scope(industry_id), prompt_type))


@route(bp, "/v1/admin/industries/{industry_id}/prompts/{prompt_type}", "DELETE", summary="Remove an industry's "
       "prompt of a stage", tags=STAFF_TAGS, response=Deleted, auth="staff")
def delete_industry_prompt(req: Req, industry_id: str, prompt_type: str) -> Deleted:
    prompts.delete(_industry_scope(industry_id), prompt_type)
    return Deleted(id=prompt_type)


