"""AIModelConfig: the models the engine may use, their provider and pricing, and the defaults.

The model used for a type is its default, unless the default's provider has no API key while
another active model of the type has one: then that model (of the same quality tier if there is
one, else the cheapest). A deployment with only an OpenAI key thus writes and draws with OpenAI,
though the seeded default image model is Runware's; with no key at all, the default stays (and
the offline provider stands in where that is allowed).

"One default per type" holds by construction: the default of a type is one pointer item
(``AIModelDefault``, key = the type). Setting it is a transaction that checks the model
exists, is active and is of that type; deactivating or deleting a model is a transaction
that checks the pointer does not name it. Both touch both items, so DynamoDB serialises
a race between them (one of the two is cancelled) and no reader ever sees two defaults,
or a default that is switched off.
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import Conflict, NotFound, UnprocessableEntity
from chalicelib.models.accounts import GLOBAL_SCOPE
from chalicelib.models.system import AIModelConfig, AIModelDefault, IntegrationProvider
from chalicelib.models.transactions import ConditionsFailed, Transaction
from chalicelib.services import providers, system_store
from chalicelib.services.ttl_cache import TTLCache, clear_all

MODEL_TYPES = ("text", "image", "embedding")
QUALITY_TIERS = ("basic", "quality", "premium")
# Which model types the engine has a client for, per provider (chalicelib/ai/providers).
ENGINE_SUPPORT: dict[str, frozenset[str]] = {
    "openai": frozenset({"text", "image", "embedding"}),
    "runware": frozenset({"image"}),
}
WHAT = "AI model"

_cache = TTLCache("ai-models")


def _snapshot() -> tuple[dict[str, AIModelConfig], dict[str, str]]:
    def load() -> tuple[dict[str, AIModelConfig], dict[str, str]]:
        models = {m.model_name: m for m in AIModelConfig.query(GLOBAL_SCOPE)}
        defaults = {d.model_type: d.model_name for d in AIModelDefault.query(GLOBAL_SCOPE)}
        return models, defaults

    return _cache.get_or_load("snapshot", load)


# --- lookups (cached) ---------------------------------------------------------------------

def get_default_model(model_type: str) -> AIModelConfig | None:
    """The model calls of this type use: the default, or a keyed stand-in for it (module docstring)."""
    models, defaults = _snapshot()
    model = models.get(defaults.get(model_type, ""))
    chosen = model if model is not None and model.is_active else None
    if chosen is not None and _keyed(chosen):
        return chosen
    stand_ins = [m for m in models.values() if m.model_type == model_type and m.is_active and _keyed(m)]
    if not stand_ins:
        return chosen
    tier = chosen.quality_tier if chosen is not None else None
    return min(stand_ins, key=lambda m: (m.quality_tier != tier, int(m.credits_per_image or 0), m.model_name))


def _keyed(model: AIModelConfig) -> bool:
    """The engine can call this model for real: it has a client for it and its provider a key."""
    return model.model_type in ENGINE_SUPPORT.get(model.provider, ()) and providers.has_api_key(model.provider)


def get_default_text_model() -> AIModelConfig | None:
    return get_default_model("text")


def get_default_image_model() -> AIModelConfig | None:
    return get_default_model("image")


def get_image_models_by_tier() -> dict[str, list[AIModelConfig]]:
    models, _ = _snapshot()
    tiers: dict[str, list[AIModelConfig]] = {tier: [] for tier in QUALITY_TIERS}
    for model in sorted(models.values(), key=lambda m: m.model_name):
        if model.model_type == "image" and model.is_active and model.quality_tier in tiers:
            tiers[model.quality_tier].append(model)
    return tiers


def image_model_for_tier(tier: str | None) -> AIModelConfig | None:
    """The image model for a quality tier: the default if it is of that tier, else the first
    active one of the tier (by name), else the default image model. A model whose provider has a
    key comes before one whose provider has none."""
    default = get_default_image_model()
    if not tier or (default is not None and default.quality_tier == tier):
        return default
    candidates = get_image_models_by_tier().get(tier) or []
    keyed = [m for m in candidates if _keyed(m)]
    if keyed:
        return keyed[0]
    if default is not None and _keyed(default):
        return default  # a keyed model of another tier draws; an unkeyed one of this tier would not
    return candidates[0] if candidates else default


# --- staff management ---------------------------------------------------------------------

def get_model(model_name: str) -> AIModelConfig:
    return system_store.get_or_404(AIModelConfig, GLOBAL_SCOPE, model_name, WHAT)


def list_models(model_type: str | None = None) -> list[AIModelConfig]:
    return [m for m in AIModelConfig.query(GLOBAL_SCOPE) if model_type is None or m.model_type == model_type]


def current_defaults() -> dict[str, str]:
    """Uncached: what staff see right after they change it."""
    return {d.model_type: d.model_name for d in AIModelDefault.query(GLOBAL_SCOPE, consistent_read=True)}


def _validate(fields: dict[str, Any], model_type: str) -> None:
    errors = []
    if model_type not in MODEL_TYPES:
        errors.append({"field": "model_type", "message": f"must be one of {', '.join(MODEL_TYPES)}"})
    provider_id = fields.get("provider")
    if provider_id is not None:
        try:
            provider = IntegrationProvider.get(GLOBAL_SCOPE, provider_id)
            if provider.provider_type != "ai":
                errors.append({"field": "provider", "message": "is not an AI provider"})
        except IntegrationProvider.DoesNotExist:
            errors.append({"field": "provider", "message": "no such integration provider"})
    tier = fields.get("quality_tier")
    if tier is not None and tier not in QUALITY_TIERS:
        errors.append({"field": "quality_tier", "message": f"must be one of {', '.join(QUALITY_TIERS)}"})
    for size in fields.get("supported_sizes") or []:
        parts = size.split("x")
        if len(parts) != 2 or not all(p.isdigit() and 64 <= int(p) <= 4096 for p in parts):
            errors.append({"field": "supported_sizes", "message": f"{size!r} is not WIDTHxHEIGHT"})
    if errors:
        raise UnprocessableEntity("The AI model is not valid; see details.", details=errors)


def create_model(*, model_name: str, model_type: str, provider: str, display_name: str,
                 updated_by: str | None = None, **fields: Any) -> AIModelConfig:
    _validate({"provider": provider, **fields}, model_type)
    model = AIModelConfig(GLOBAL_SCOPE, model_name, model_type=model_type, provider=provider,
                          display_name=display_name, updated_by=updated_by,
                          **{k: v for k, v in fields.items() if v is not None})
    system_store.create(model, WHAT)
    clear_all()
    return model


def update_model(model_name: str, changes: dict[str, Any], *, updated_by: str | None = None) -> AIModelConfig:
    model = get_model(model_name)
    if "model_type" in changes and changes["model_type"] != model.model_type:
        raise UnprocessableEntity("A model's type cannot change; create a new model instead.",
                                  details=[{"field": "model_type", "message": "immutable"}])
    changes.pop("model_type", None)
    _validate(changes, model.model_type)
    if changes.get("is_active") is False:
        _guarded_write(model, changes, updated_by)
    else:
        system_store.update(model, changes, updated_by=updated_by, what=WHAT)
    clear_all()
    return model


def _not_default(model: AIModelConfig) -> Any:
    return (AIModelDefault.model_name != model.model_name) | AIModelDefault.model_name.does_not_exist()


def _guarded_write(model: AIModelConfig, changes: dict[str, Any] | None, updated_by: str | None) -> None:
    """Deactivate (changes) or delete (None) a model, unless it is its type's default."""
    tx = Transaction("guarded-model-write")
    tx.check(AIModelDefault, GLOBAL_SCOPE, model.model_type, condition=_not_default(model), label="not_default")
    if changes is None:
        tx.delete(model, condition=AIModelConfig.model_name.exists(), label="model")
    else:
        actions = [getattr(AIModelConfig, k).remove() if v is None else getattr(AIModelConfig, k).set(v)
                   for k, v in changes.items()]
        if updated_by:
            actions.append(AIModelConfig.updated_by.set(updated_by))
        tx.update(model, actions, condition=AIModelConfig.model_name.exists(), label="model")
    try:
        tx.commit()
    except ConditionsFailed as exc:
        if "not_default" in exc.labels:
            raise Conflict(f"{model.model_name} is the default {model.model_type} model; make another model "
                           "the default first.", code="default_model") from None
        raise NotFound(WHAT) from None
    if changes is not None:
        model.refresh()


def delete_model(model_name: str) -> None:
    _guarded_write(get_model(model_name), None, None)
    clear_all()


def set_default(model_name: str, *, updated_by: str | None = None, only_if_unset: bool = False) -> bool:
    """Make the model the default of its type. With ``only_if_unset`` (seeding), only if the
    type has no default yet; returns whether the pointer was written."""
    model = get_model(model_name)
    if model.provider not in ENGINE_SUPPORT or model.model_type not in ENGINE_SUPPORT[model.provider]:
        raise UnprocessableEntity(f"The engine has no {model.model_type} client for provider {model.provider!r}; "
                                  "such a model cannot be the default.", code="unsupported_provider")
    pointer = AIModelDefault(GLOBAL_SCOPE, model.model_type, model_name=model_name, updated_by=updated_by)
    tx = Transaction("set-default-model")
    tx.check(AIModelConfig, GLOBAL_SCOPE, model_name,
             condition=(AIModelConfig.is_active == True)  # noqa: E712 - a DynamoDB condition
             & (AIModelConfig.model_type == model.model_type), label="model")
    tx.put(pointer, condition=AIModelDefault.model_type.does_not_exist() if only_if_unset else None, label="pointer")
    try:
        tx.commit()
    except ConditionsFailed as exc:
        if only_if_unset and "pointer" in exc.labels:  # a default exists already
            return False
        raise Conflict(f"{model_name} is not an active {model.model_type} model (any more).",
                       code="model_inactive") from None
    clear_all()
    return True
