"""System module: provider keys, AI models and pricing, AI defaults, prompts, author profiles.

Global (platform) records live in the fixed partition ``scope="global"`` keyed by their
natural id, so listing them is a Query and reading one is a GetItem. Account records
(settings overrides, prompts, author profiles) are keyed by ``account_id`` first.
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
from chalicelib.models.site_scope import ACCOUNT, PLATFORM


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


class SystemAISettings(TimestampedModel):
    """Platform-wide AI defaults: one item (the partition ``global``)."""

    Meta = table_meta("system_ai_settings")
    site_scope = PLATFORM
    scope = UnicodeAttribute(hash_key=True, default=GLOBAL_SCOPE)
    temperature = NumberAttribute(default=0.7)
    max_tokens = NumberAttribute(default=8192)
    image_style = UnicodeAttribute(default="photorealistic")
    image_quality = UnicodeAttribute(default="standard")
    max_images_per_article = NumberAttribute(default=4)
    image_size = UnicodeAttribute(default="1024x1024")
    updated_by = UnicodeAttribute(null=True)


class AccountSettings(TimestampedModel):
    """One account override of a system default, e.g. ``ai.temperature`` -> 0.4."""

    Meta = table_meta("account_settings")
    site_scope = ACCOUNT
    account_id = UnicodeAttribute(hash_key=True)
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


class GlobalAIPrompt(TimestampedModel):
    Meta = table_meta("global_prompts")
    site_scope = PLATFORM
    scope = UnicodeAttribute(hash_key=True, default=GLOBAL_SCOPE)
    prompt_type = UnicodeAttribute(range_key=True)  # clustering, ideas, content_generation, ...
    prompt_value = UnicodeAttribute()
    variables = ListAttribute(of=UnicodeAttribute, default=list)
    description = UnicodeAttribute(default="")
    is_active = BooleanAttribute(default=True)
    updated_by = UnicodeAttribute(null=True)


class AIPrompt(TimestampedModel):
    """An account's own version of a prompt; it wins over the global one."""

    Meta = table_meta("account_prompts")
    site_scope = ACCOUNT
    account_id = UnicodeAttribute(hash_key=True)
    prompt_type = UnicodeAttribute(range_key=True)
    prompt_value = UnicodeAttribute()
    variables = ListAttribute(of=UnicodeAttribute, default=list)
    is_active = BooleanAttribute(default=True)
    updated_by = UnicodeAttribute(null=True)


class GlobalAuthorProfile(TimestampedModel):
    Meta = table_meta("global_author_profiles")
    site_scope = PLATFORM
    scope = UnicodeAttribute(hash_key=True, default=GLOBAL_SCOPE)
    profile_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    tone = UnicodeAttribute(default="professional")
    language = UnicodeAttribute(default="en")
    instructions = UnicodeAttribute(default="")
    is_active = BooleanAttribute(default=True)
    updated_by = UnicodeAttribute(null=True)


class AuthorProfile(TimestampedModel):
    Meta = table_meta("author_profiles")
    site_scope = ACCOUNT
    account_id = UnicodeAttribute(hash_key=True)
    profile_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    tone = UnicodeAttribute(default="professional")
    language = UnicodeAttribute(default="en")
    instructions = UnicodeAttribute(default="")
    is_active = BooleanAttribute(default=True)
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


class GlobalModuleSettings(TimestampedModel):
    """Which modules the platform offers at all (one item); accounts switch within these."""

    Meta = table_meta("global_module_settings")
    site_scope = PLATFORM
    scope = UnicodeAttribute(hash_key=True, default=GLOBAL_SCOPE)
    planner_enabled = BooleanAttribute(default=True)
    writer_enabled = BooleanAttribute(default=True)
    linker_enabled = BooleanAttribute(default=False)
    optimizer_enabled = BooleanAttribute(default=False)
    automation_enabled = BooleanAttribute(default=True)
    integration_enabled = BooleanAttribute(default=True)
    publisher_enabled = BooleanAttribute(default=True)
    updated_by = UnicodeAttribute(null=True)
