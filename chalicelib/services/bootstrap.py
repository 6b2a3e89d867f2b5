"""What a deployment's operator does before there is any staff user: the bootstrap actions of the
admin CLI (``make admin``, infra/admin.py). Each one is a service call the staff API would make;
none needs the DynamoDB console.
"""

from __future__ import annotations

from chalicelib.errors import NotFound, UnprocessableEntity
from chalicelib.ids import new_id
from chalicelib.models.accounts import EmailLogin, User
from chalicelib.models.billing import CREDIT_TYPES
from chalicelib.models.conditions import conditional
from chalicelib.services import ai_models, credits, providers
from chalicelib.services.accounts import get_account
from chalicelib.services.identity import normalize_email

GRANT_OPERATION = "operator_grant"


def find_user(email: str) -> User:
    """The user signing in with ``email`` (404 when nobody does)."""
    try:
        login = EmailLogin.get(normalize_email(email), consistent_read=True)
        return User.get(login.account_id, login.user_id, consistent_read=True)
    except (EmailLogin.DoesNotExist, User.DoesNotExist):
        raise NotFound(f"User {email}") from None


def set_staff(email: str, *, staff: bool = True) -> User:
    """Make the user platform staff (or not); effective on their next request (read per request)."""
    user = find_user(email)
    with conditional(otherwise=NotFound(f"User {email}")):
        user.update(actions=[User.is_staff.set(staff)], condition=User.user_id.exists())
    return user


def set_provider_keys(keys: dict[str, str], *, updated_by: str = "operator") -> list[str]:
    """Store (replace) the API key of each provider named in ``keys``, encrypted; returns their ids."""
    stored = []
    for provider_id, key in keys.items():
        if key.strip():
            providers.update_provider(provider_id, {}, secret_values={"api_key": key.strip()}, updated_by=updated_by)
            stored.append(provider_id)
    return stored


def set_default_models(model_names: list[str], *, updated_by: str = "operator") -> dict[str, str]:
    """Make each model the default of its type; returns the defaults as stored afterwards."""
    for name in model_names:
        ai_models.set_default(name, updated_by=updated_by)
    return ai_models.current_defaults()


def models_in_use() -> dict[str, str | None]:
    """Per type, the model calls would use now: the default, or its keyed stand-in (services.ai_models)."""
    out: dict[str, str | None] = {}
    for model_type in ai_models.MODEL_TYPES:
        model = ai_models.get_default_model(model_type)
        out[model_type] = None if model is None else f"{model.model_name} ({model.provider}, " + (
            "key set" if providers.has_api_key(model.provider) else "no key: offline provider") + ")"
    return out


def account_id_of(account_or_email: str) -> str:
    """An account id as given, or the account of the user signing in with that e-mail."""
    if "@" in account_or_email:
        return find_user(account_or_email).account_id
    return get_account(account_or_email).account_id


def grant_credits(account_or_email: str, *, credit_type: str, amount: int, reason: str,
                  key: str | None = None) -> credits.LedgerResult:
    """Credits given by the operator: a ledger entry with the reason, in the pack bucket (never expires).
    ``key`` makes a retried grant a no-op (default: a new grant each time)."""
    if credit_type not in CREDIT_TYPES:
        raise UnprocessableEntity(f"Unknown credit type {credit_type!r}; one of {', '.join(CREDIT_TYPES)}.")
    if amount <= 0:
        raise UnprocessableEntity("Grant a positive number of credits.")
    if not reason.strip():
        raise UnprocessableEntity("Say why: the reason is kept on the ledger entry.")
    return credits.grant(account_id_of(account_or_email), credit_type=credit_type, amount=amount,
                         key=key or new_id(), bucket="pack", operation=GRANT_OPERATION, note=reason.strip())
