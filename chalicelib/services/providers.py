"""IntegrationProvider: external services and their secrets (staff manage them).

Secrets go in encrypted (``services.secrets``) and come out only through ``get_secret`` /
``get_api_key``, for the code that calls the provider; routes show ``masked()`` forms.
The lookups the reference names (get_provider, get_api_key, get_providers_by_type) read
one cached Query of the whole (small) table.
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import ApiError, Conflict, UnprocessableEntity
from chalicelib.models.accounts import GLOBAL_SCOPE
from chalicelib.models.system import AIModelConfig, IntegrationProvider
from chalicelib.services import secrets, system_store
from chalicelib.services.ttl_cache import TTLCache, clear_all

PROVIDER_TYPES = ("ai", "payment", "email", "storage")
SECRET_FIELDS = ("api_key", "api_secret", "webhook_secret")
WHAT = "Integration provider"

_records = TTLCache("integration-providers")
_plain = TTLCache("provider-secrets")


class SecretsUnavailable(ApiError):
    status, code = 503, "secrets_unavailable"


def _context(provider_id: str, field: str) -> dict[str, str]:
    return {"record": "integration_provider", "provider_id": provider_id, "field": field}


def _all() -> dict[str, IntegrationProvider]:
    return _records.get_or_load("all", lambda: {p.provider_id: p for p in IntegrationProvider.query(GLOBAL_SCOPE)})


# --- the reference's helper lookups (cached) ----------------------------------------------

def get_provider(provider_id: str) -> IntegrationProvider | None:
    """The provider if it exists and is active."""
    provider = _all().get(provider_id)
    return provider if provider is not None and provider.is_active else None


def get_providers_by_type(provider_type: str) -> list[IntegrationProvider]:
    return [p for p in _all().values() if p.provider_type == provider_type and p.is_active]


def get_secret(provider_id: str, field: str) -> str | None:
    """A decrypted secret of an active provider, or None. For calling the provider only."""
    provider = get_provider(provider_id)
    token = getattr(provider, f"{field}_enc", None) if provider is not None else None
    if not token:
        return None
    # Keyed by the ciphertext: a changed secret is a new key, so the cache cannot go stale.
    return _plain.get_or_load((provider_id, field, token),
                              lambda: secrets.decrypt(token, _context(provider_id, field)))


def get_api_key(provider_id: str) -> str | None:
    return get_secret(provider_id, "api_key")


def has_api_key(provider_id: str) -> bool:
    """The provider is active and holds an API key (nothing decrypted: for choosing a model)."""
    provider = get_provider(provider_id)
    return bool(provider is not None and provider.api_key_enc)


# --- staff management ---------------------------------------------------------------------

def get_record(provider_id: str) -> IntegrationProvider:
    return system_store.get_or_404(IntegrationProvider, GLOBAL_SCOPE, provider_id, WHAT)


def list_records(provider_type: str | None = None) -> list[IntegrationProvider]:
    items = list(IntegrationProvider.query(GLOBAL_SCOPE))
    return [p for p in items if provider_type is None or p.provider_type == provider_type]


def masked(provider: IntegrationProvider) -> dict[str, str | None]:
    """What a person may see of each secret: the mask and at most its last four characters."""
    hints = dict(provider.secret_hints or {})
    return {field: secrets.mask(hints.get(field)) if getattr(provider, f"{field}_enc") else None
            for field in SECRET_FIELDS}


def _encrypted(provider_id: str, secret_values: dict[str, str | None]) -> tuple[dict[str, Any], dict[str, str]]:
    """For new secret values: the ciphertext attribute changes (None removes) and the hints."""
    changes: dict[str, Any] = {}
    hints: dict[str, str] = {}
    for field, value in secret_values.items():
        if field not in SECRET_FIELDS:
            raise ValueError(f"not a secret field: {field}")
        if not value:
            changes[f"{field}_enc"] = None
            continue
        try:
            changes[f"{field}_enc"] = secrets.encrypt(value, _context(provider_id, field))
        except secrets.SecretStoreError as exc:
            raise SecretsUnavailable(f"The secret store is unavailable: {exc}") from None
        hints[field] = secrets.hint(value)
    return changes, hints


def _validate_type(provider_type: str) -> None:
    if provider_type not in PROVIDER_TYPES:
        raise UnprocessableEntity(f"provider_type must be one of {', '.join(PROVIDER_TYPES)}.",
                                  details=[{"field": "provider_type", "message": "unknown type"}])


def create_provider(*, provider_id: str, display_name: str, provider_type: str, api_endpoint: str = "",
                    config: dict | None = None, is_active: bool = True, is_sandbox: bool = False,
                    secret_values: dict[str, str | None] | None = None,
                    updated_by: str | None = None) -> IntegrationProvider:
    _validate_type(provider_type)
    fields, hints = _encrypted(provider_id, {k: v for k, v in (secret_values or {}).items() if v})
    provider = IntegrationProvider(GLOBAL_SCOPE, provider_id, display_name=display_name,
                                   provider_type=provider_type, api_endpoint=api_endpoint, config=config or {},
                                   is_active=is_active, is_sandbox=is_sandbox, secret_hints=hints,
                                   updated_by=updated_by, **fields)
    system_store.create(provider, WHAT)
    clear_all()
    return provider


def update_provider(provider_id: str, changes: dict[str, Any], *,
                    secret_values: dict[str, str | None] | None = None,
                    updated_by: str | None = None) -> IntegrationProvider:
    """Change fields; ``secret_values`` maps a secret field to its new value (None/"" clears it)."""
    provider = get_record(provider_id)
    if "provider_type" in changes:
        _validate_type(changes["provider_type"])
    all_changes = dict(changes)
    if secret_values:
        fields, new_hints = _encrypted(provider_id, secret_values)
        hints = {f: h for f, h in (provider.secret_hints or {}).items() if f not in secret_values}
        all_changes.update(fields, secret_hints={**hints, **new_hints})
    system_store.update(provider, all_changes, updated_by=updated_by, what=WHAT)
    clear_all()
    return provider


def delete_provider(provider_id: str) -> None:
    in_use = [m.model_name for m in AIModelConfig.query(GLOBAL_SCOPE) if m.provider == provider_id]
    if in_use:
        raise Conflict(f"AI models still use this provider: {', '.join(in_use)}; change or delete them first.",
                       code="provider_in_use", details={"models": in_use})
    system_store.delete(IntegrationProvider, GLOBAL_SCOPE, provider_id, WHAT)
    clear_all()
