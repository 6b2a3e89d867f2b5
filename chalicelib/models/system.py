"""System module: provider keys, AI models and pricing, AI settings, prompts, author profiles.

Every record is keyed by its scope first: platform records live in the fixed partition
``scope="global"`` (keyed by their natural id, so listing them is a Query and reading one a
GetItem). What exists at two scopes (settings, prompts, author profiles) is one model whose
records of an account live in the partition of its account id, so every tenant key still
starts with the account id and an account's records never mix with the platform's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pynamodb.attributes import (
    Attribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.constants import NUMBER

from chalicelib.models.accounts import GLOBAL_SCOPE
from chalicelib.models.base import TimestampedModel, table_meta
from chalicelib.models.site_scope import PLATFORM, NotSiteScoped

SCOPED = NotSiteScoped("platform records (scope \"global\") and each account's own, shared by its sites")


class DecimalAttribute(Attribute[Decimal]):
    """An exact decimal (prices per 1K tokens have six places; floats would round them)."""

    attr_type = NUMBER

    def serialize(self, value: Any) -> str:
        return str(Decimal(str(value)))

    def deserialize(self, value: str) -> Decimal:
        return Decimal(value)


class IntegrationProvider(TimestampedModel):
    """An external service and its credentials (openai, runware, stripe, ...). Staff only.

    Secrets are stored as KMS ciphertexts (``chalicelib.services.secrets``); the plain
    value never reaches DynamoDB. ``secret_hints`` keeps the last four characters of each
    secret, so that a masked value can be shown without a KMS call.
    """

    Meta = table_meta("integration_providers")
    site_scope = PLATFORM
    scope = UnicodeAttribute(hash_key=True, default=GLOBAL_SCOPE)
    provider_id = UnicodeAttribute(range_key=True)
    display_name = UnicodeAttribute()
    provider_type = UnicodeAttribute()  # ai, payment, email, storage
    api_key_enc = UnicodeAttribute(null=True)
    api_secret_enc = UnicodeAttribute(null=True)
    webhook_secret_enc = UnicodeAttribute(null=True)
    secret_hints = JSONAttribute(default=dict)
    api_endpoint = UnicodeAttribute(default="")
    config = JSONAttribute(default=dict)
    is_active = BooleanAttribute(default=True)
    is_sandbox = BooleanAttribute(default=False)
    updated_by = UnicodeAttribute(null=True)


class AIModelConfig(TimestampedModel):
    """The single source of truth for an AI model: its provider, pricing and limits.

    Which model is the default of its type is not stored here but in ``AIModelDefault``
    (one item per type), so that "one default per type" holds by construction.
    """

    Meta = table_meta("ai_models")
    site_scope = PLATFORM
    scope = UnicodeAttribute(hash_key=True, default=GLOBAL_SCOPE)
    model_name = UnicodeAttribute(range_key=True)  # gpt-4o-mini, dall-e-3, runware:97@1
    model_type = UnicodeAttribute()  # text, image, embedding
    provider = UnicodeAttribute()  # an IntegrationProvider.provider_id
    display_name = UnicodeAttribute()
    is_active = BooleanAttribute(default=True)
    cost_per_1k_input = DecimalAttribute(null=True)  # USD, for margins and reports
    cost_per_1k_output = DecimalAttribute(null=True)
    tokens_per_credit = NumberAttribute(null=True)
    credits_per_image = NumberAttribute(null=True)
    quality_tier = UnicodeAttribute(null=True)  # basic, quality, premium (image models)
    supported_sizes = ListAttribute(of=UnicodeAttribute, default=list)  # "1024x1024", ...
    max_tokens = NumberAttribute(null=True)
    context_window = NumberAttribute(null=True)
    capabilities = JSONAttribute(default=dict)
    updated_by = UnicodeAttribute(null=True)


class AIModelDefault(TimestampedModel):
    """The pointer to the default model of one type: one item per type, so never two."""

    Meta = table_meta("ai_model_defaults")
    site_scope = PLATFORM
    scope = UnicodeAttribute(hash_key=True, default=GLOBAL_SCOPE)
    model_type = UnicodeAttribute(range_key=True)
    model_name = UnicodeAttribute()
    updated_by = UnicodeAttribute(null=True)


class Setting(TimestampedModel):
    """One AI setting at one scope: the platform's value (scope ``global``) or an account's override.

    ``ai.temperature`` -> 0.4 under an account id overrides ``ai.temperature`` under ``global``;
    which keys exist, their rules and built-in defaults are declared in ``services.ai_settings``.
    """

    Meta = table_meta("settings")
    site_scope = SCOPED
    scope = UnicodeAttribute(hash_key=True)  # "global" or the account id
    key = UnicodeAttribute(range_key=True)
    value = JSONAttribute()
    updated_by = UnicodeAttribute(null=True)


class CreditCostConfig(TimestampedModel):
    """Fixed credits per operation type (token and image pricing is on AIModelConfig)."""

    Meta = table_meta("credit_costs")
    site_scope = PLATFORM
    scope = UnicodeAttribute(hash_key=True, default=GLOBAL_SCOPE)
    operation_type = UnicodeAttribute(range_key=True)
    display_name = UnicodeAttribute()
    base_credits = NumberAttribute(default=1)
    is_active = BooleanAttribute(default=True)
    description = UnicodeAttribute(default="")
    updated_by = UnicodeAttribute(null=True)


class AIPrompt(TimestampedModel):
    """A prompt at one scope: the platform's (``global``, staff) or an account's own version,
    which wins over the platform's (``services.prompts.resolve_prompt``)."""

    Meta = table_meta("prompts")
    site_scope = SCOPED
    scope = UnicodeAttribute(hash_key=True)  # "global" or the account id
    prompt_type = UnicodeAttribute(range_key=True)  # clustering, ideas, content_generation, ...
    prompt_value = UnicodeAttribute()
    variables = ListAttribute(of=UnicodeAttribute, default=list)
    description = UnicodeAttribute(default="")
    is_active = BooleanAttribute(default=True)
    updated_by = UnicodeAttribute(null=True)


class AuthorProfile(TimestampedModel):
    """The voice an article is written in, at one scope: the platform's (``global``, slug ids)
    or an account's own (UUIDv7 ids)."""

    Meta = table_meta("author_profiles")
    site_scope = SCOPED
    scope = UnicodeAttribute(hash_key=True)  # "global" or the account id
    profile_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    tone = UnicodeAttribute(default="professional")
    language = UnicodeAttribute(default="en")
    instructions = UnicodeAttribute(default="")
    is_active = BooleanAttribute(default=True)
    is_default = BooleanAttribute(default=False)  # the account's default (services.generation)
    updated_by = UnicodeAttribute(null=True)


class GlobalStrategy(TimestampedModel):
    """A reusable content strategy (e.g. "pillar and cluster") that staff curate."""

    Meta = table_meta("global_strategies")
    site_scope = PLATFORM
    scope = UnicodeAttribute(hash_key=True, default=GLOBAL_SCOPE)
    strategy_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    instructions = UnicodeAttribute(default="")
    config = JSONAttribute(default=dict)
    is_active = BooleanAttribute(default=True)
    updated_by = UnicodeAttribute(null=True)
