"""The AI engine of an account: the platform's models and keys, the account's settings and prompts.

``get_engine(account_id)`` picks, for each kind of call, the default model of that type
(``AIModelConfig``; for images the model of the account's quality tier) and the provider that
model names, with its key from ``IntegrationProvider``. No key for that provider means the
offline provider, which says so (``usage.provider == "offline"``); in production that is refused
unless ``AI_OFFLINE_ALLOWED=1``. An account holding its own key for a model's provider
(``own_keys``) runs that model, or the model it chose, on its own key, and only its own
engine does. Stage prompts resolve task -> account -> industry -> platform -> built-in
(``prompts.resolve_prompt``). The engine itself (``chalicelib.ai``) is handed all of this.
"""

from __future__ import annotations

from chalicelib.ai.engine import AIEngine, Route, Unavailable, provider_for
from chalicelib.ai.errors import AIProviderDown
from chalicelib.ai.retry import RetryPolicy
from chalicelib.errors import NotFound
from chalicelib.models.system import AIModelConfig
from chalicelib.services import ai_models, ai_settings, own_keys, prompts, providers
from chalicelib.services.secrets import SecretStoreError


def _own_route(model: AIModelConfig | None, kind: str, keys: dict[str, own_keys.OwnKey],
               retry: RetryPolicy | None) -> Route | None:
    """The route on the account's own key: its chosen model of this kind, else the platform's
    model when its provider is one the account holds a key for."""
    for key in keys.values():
        chosen = key.models.get(kind)
        if chosen:
            try:
                model = ai_models.get_model(chosen)
            except NotFound:
                continue
            break
    if model is None or model.provider not in keys:
        return None
    record = providers.get_provider(model.provider)
    provider = provider_for(model.provider, keys[model.provider].api_key, record.api_endpoint if record else None,
                            kind=kind, retry=retry)
    return Route(provider, model.model_name, tuple(model.supported_sizes or ()), own_key=True)


def _route(model: AIModelConfig | None, kind: str, retry: RetryPolicy | None,
           keys: dict[str, own_keys.OwnKey] | None = None) -> Route:
    own = _own_route(model, kind, keys, retry) if keys else None
    if own is not None:
        return own
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


def get_engine(account_id: str | None = None, *, industry_id: str | None = None,
               retry: RetryPolicy | None = None) -> AIEngine:
    """The engine for an account (None: the platform's settings, no account prompts, no own keys)."""
    settings = ai_settings.effective_settings(account_id)
    keys = own_keys.keys_of(account_id)
    return AIEngine(
        text=_route(ai_models.get_default_model("text"), "text", retry, keys),
        images=_route(ai_models.image_model_for_tier(settings.image_quality_tier), "image", retry, keys),
        embeddings=_route(ai_models.get_default_model("embedding"), "embedding", retry, keys),
        settings=settings,
        prompts=lambda stage, override: prompts.resolve_prompt(account_id, stage, override, industry_id),
    )
