"""An account's own AI keys (OpenAI, Runware) and the models it chose to run on them.

Stored as the account's ``IntegrationProvider`` record (the scope model: ``global`` is the
platform's, an account id the account's own), the key KMS-encrypted (``services.secrets``),
only a hint ever shown. A key is checked with one real, minimal call to the provider before it
is stored: a bad key is refused with the provider's reason and nothing is written.
``services.ai_engine`` routes the account's calls to its own key for that provider's models, so
its jobs never run on the platform's key by accident, and no other account's ever run on its key.
What runs on an own key is priced by the plan's ``own_key_price_percent`` (default 0 credits)
and still written to the ledger with its usage (``pipeline.stages.shared.charge``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.ai.errors import AIAuthError, AIError
from chalicelib.errors import NotFound, UnprocessableEntity
from chalicelib.models.system import AIModelConfig, IntegrationProvider
from chalicelib.services import ai_models, providers, secrets, system_store
from chalicelib.services.ttl_cache import TTLCache

# provider -> the kinds of models an account may run on its key
PROVIDERS: dict[str, tuple[str, ...]] = {"openai": ("text", "image", "embedding"), "runware": ("image",)}
WHAT = "AI key"

_plain = TTLCache("own-ai-keys")


@dataclass(frozen=True)
class OwnKey:
    provider_id: str
    api_key: str
    models: dict[str, str]  # kind -> model name the account chose


def _context(account_id: str, provider_id: str) -> dict[str, str]:
    return {"record": "account_ai_key", "account_id": account_id, "provider_id": provider_id}


def _check_provider(provider_id: str) -> None:
    if provider_id not in PROVIDERS:
        raise NotFound("AI provider")


def _check_model(provider_id: str, kind: str, name: str | None) -> str | None:
    if name is None:
        return None
    try:
        model = ai_models.get_model(name)
    except NotFound:
        model = None
    if model is None or not model.is_active or model.model_type != kind or model.provider != provider_id:
        offered = [m.model_name for m in ai_models.list_models(kind) if m.provider == provider_id and m.is_active]
        raise UnprocessableEntity(f"{name!r} is not an active {kind} model of {provider_id}; one of: "
                                  f"{', '.join(offered) or 'none'}.", code="unknown_model",
                                  details=[{"field": f"{kind}_model", "message": "unknown model"}])
    return name


def _probe_model(provider_id: str, models: dict[str, str]) -> AIModelConfig | None:
    kind = "text" if provider_id == "openai" else "image"
    name = models.get(kind)
    if name:
        return ai_models.get_model(name)
    default = ai_models.get_default_model(kind)
    if default is not None and default.provider == provider_id:
        return default
    return next((m for m in ai_models.list_models(kind) if m.provider == provider_id and m.is_active), None)


def verify(provider_id: str, api_key: str, models: dict[str, str]) -> None:
    """One real call on the key (a one-token chat; for Runware one small image): 422 with the
    provider's reason when it is refused, or when the provider cannot be reached (as a WordPress
    connection is checked: nothing is stored, the client may try again)."""
    from chalicelib.ai.engine import build_provider
    from chalicelib.ai.retry import RetryPolicy
    from chalicelib.ai.types import ChatRequest, ImageRequest

    platform = providers.get_provider(provider_id)
    client = build_provider(provider_id, api_key, platform.api_endpoint if platform else None,
                            RetryPolicy(attempts=1))
    model = _probe_model(provider_id, models)
    name = model.model_name if model is not None else ("gpt-4o-mini" if provider_id == "openai" else "runware:97@1")
    try:
        if provider_id == "openai":
            client.chat(ChatRequest(messages=[{"role": "user", "content": "Reply with OK."}], model=name,
                                    temperature=0.0, max_tokens=1))
        else:
            client.images(ImageRequest(prompt="a plain grey square", model=name, width=512, height=512))
    except AIAuthError as exc:
        raise UnprocessableEntity(f"{provider_id} refused the key: {exc}", code="invalid_api_key",
                                  details=[{"field": "api_key", "message": str(exc)}]) from None
    except AIError as exc:
        if exc.retryable:
            raise UnprocessableEntity(f"{provider_id} could not be reached to check the key: {exc}",
                                      code="provider_unreachable") from None
        raise UnprocessableEntity(f"{provider_id} refused the call made with the key: {exc}",
                                  code="invalid_api_key", details=[{"field": "api_key", "message": str(exc)}]) from None


def put(account_id: str, provider_id: str, *, api_key: str, models: dict[str, str | None],
        updated_by: str | None = None) -> IntegrationProvider:
    """Check the models and the key (a real call), then store the key encrypted."""
    _check_provider(provider_id)
    chosen = {kind: name for kind, name in models.items() if name}
    for kind, name in chosen.items():
        if kind not in PROVIDERS[provider_id]:
            raise UnprocessableEntity(f"{provider_id} keys serve {', '.join(PROVIDERS[provider_id])} models only.",
                                      details=[{"field": f"{kind}_model", "message": "not served by this provider"}])
        _check_model(provider_id, kind, name)
    verify(provider_id, api_key, chosen)
    try:
        token = secrets.encrypt(api_key, _context(account_id, provider_id))
    except secrets.SecretStoreError as exc:
        raise providers.SecretsUnavailable(f"The secret store is unavailable: {exc}") from None
    record = IntegrationProvider(account_id, provider_id, display_name=f"{provider_id} (own key)", provider_type="ai",
                                 api_key_enc=token, secret_hints={"api_key": secrets.hint(api_key)},
                                 config={"models": chosen}, is_active=True, updated_by=updated_by)
    record.save()
    return record


def get(account_id: str, provider_id: str) -> IntegrationProvider:
    _check_provider(provider_id)
    return system_store.get_or_404(IntegrationProvider, account_id, provider_id, WHAT)


def list_keys(account_id: str) -> list[IntegrationProvider]:
    return [p for p in IntegrationProvider.query(account_id) if p.provider_id in PROVIDERS]


def delete(account_id: str, provider_id: str) -> None:
    _check_provider(provider_id)
    system_store.delete(IntegrationProvider, account_id, provider_id, WHAT)


def view(record: IntegrationProvider) -> dict[str, Any]:
    return {"provider_id": record.provider_id, "api_key_hint": secrets.mask((record.secret_hints or {}).get("api_key")),
            "models": dict((record.config or {}).get("models") or {}), "updated_at": record.updated_at}


def keys_of(account_id: str | None) -> dict[str, OwnKey]:
    """The account's own keys, decrypted, by provider (one Query; plaintext cached by ciphertext)."""
    if not account_id:
        return {}
    out: dict[str, OwnKey] = {}
    for record in list_keys(account_id):
        token = record.api_key_enc
        if not token or not record.is_active:
            continue
        plain = _plain.get_or_load((account_id, record.provider_id, token),
                                   lambda token=token, pid=record.provider_id: secrets.decrypt(
                                       token, _context(account_id, pid)))
        out[record.provider_id] = OwnKey(record.provider_id, plain, dict((record.config or {}).get("models") or {}))
    return out
