"""The AI engine of an account: the platform's models and keys, the account's settings and prompts.

``get_engine(account_id)`` picks, for each kind of call, the default model of that type
(``AIModelConfig``; for images the model of the account's quality tier) and the provider that
model names, with its key from ``IntegrationProvider``. No key for that provider means the
offline provider, which says so (``usage.provider == "offline"``); in production that is refused
unless ``AI_OFFLINE_ALLOWED=1``. Stage prompts resolve account -> platform -> built-in
(``prompts.resolve_prompt``). The engine itself (``chalicelib.ai``) is handed all of this.
"""

from __future__ import annotations

from chalicelib.ai.engine import AIEngine, Route, Unavailable, provider_for
from chalicelib.ai.errors import AIProviderDown
from chalicelib.ai.retry import RetryPolicy
from chalicelib.models.system import AIModelConfig
from chalicelib.services import ai_models, ai_settings, prompts, providers
from chalicelib.services.secrets import SecretStoreError


def _route(model: AIModelConfig | None, kind: str, retry: RetryPolicy | None) -> Route:
    if model is None:
        return Route(provider_for(None, None, kind=kind, retry=retry), f"offline-{kind}")
    sizes = tuple(model.supported_sizes or ())
    try:
        key = providers.get_api_key(model.provider)
    except SecretStoreError as exc:
        return Route(Unavailable(model.provider, AIProviderDown(str(exc), provider=model.provider)),
                     model.model_name, sizes)
    record = providers.get_provider(model.provider) if key else None
    provider = provider_for(model.provider, key, record.api_endpoint if record else None, kind=kind, retry=retry)
    return Route(provider, model.model_name, sizes)


def get_engine(account_id: str | None = None, *, retry: RetryPolicy | None = None) -> AIEngine:
    """The engine for an account (None: the platform's settings, no account prompts)."""
    settings = ai_settings.effective_settings(account_id)
    return AIEngine(
        text=_route(ai_models.get_default_model("text"), "text", retry),
        images=_route(ai_models.image_model_for_tier(settings.image_quality_tier), "image", retry),
        embeddings=_route(ai_models.get_default_model("embedding"), "embedding", retry),
        settings=settings,
        prompts=lambda stage, override: prompts.resolve_prompt(account_id, stage, override),
    )
