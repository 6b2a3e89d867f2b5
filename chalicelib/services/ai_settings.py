"""AI settings: the system defaults, account overrides, and the one place that merges them.

``effective_settings(account_id)`` answers "which temperature (max tokens, image style,
...) applies to this account": the account's override if it has a valid one, else the
system default. Every key's range or choices are declared once in ``SETTINGS`` and checked
on every write (account and staff) and again on read, so an override left behind by a
narrower rule falls back to the default instead of reaching a provider.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from chalicelib.errors import NotFound, UnprocessableEntity
from chalicelib.models.accounts import GLOBAL_SCOPE
from chalicelib.models.system import AccountSettings, SystemAISettings
from chalicelib.observability import logger
from chalicelib.services import system_store
from chalicelib.services.ttl_cache import TTLCache, clear_all

IMAGE_STYLES = {
    "photorealistic": "Ultra realistic photography",
    "illustration": "Digital illustration",
    "3d_render": "Computer generated 3D",
    "minimal_flat": "Minimal / flat design",
    "artistic": "Artistic / painterly",
    "cartoon": "Cartoon / stylized",
}
IMAGE_QUALITIES = ("standard", "hd")
IMAGE_QUALITY_TIERS = ("basic", "quality", "premium")
IMAGE_SIZES = ("1024x1024", "1792x1024", "1024x1792")
KEY_PREFIX = "ai."


_SAME = "="


@dataclass(frozen=True)
class SettingSpec:
    key: str  # the AccountSettings key
    field: str  # the EffectiveAISettings field
    kind: type  # float, int or str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    account_override: bool = True
    # The SystemAISettings attribute holding the default; None: derived (see system_default).
    system_field: str | None = _SAME

    def __post_init__(self) -> None:
        if self.system_field == _SAME:
            object.__setattr__(self, "system_field", self.field)

    def check(self, value: Any) -> Any:
        """The value, normalised; raises ValueError saying what is allowed."""
        if self.kind is float:
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError("must be a number")
            value = float(value)
        elif self.kind is int:
            if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
                raise ValueError("must be a whole number")
            value = int(value)
        elif not isinstance(value, str):
            raise ValueError("must be a string")
        if self.choices and value not in self.choices:
            raise ValueError(f"must be one of {', '.join(self.choices)}")
        too_low = self.minimum is not None and value < self.minimum
        if too_low or (self.maximum is not None and value > self.maximum):
            raise ValueError(f"must be between {self.minimum:g} and {self.maximum:g}")
        return value

    @property
    def rule(self) -> str:
        if self.choices:
            return "one of " + ", ".join(self.choices)
        return f"{self.kind.__name__} from {self.minimum:g} to {self.maximum:g}"


SETTINGS: dict[str, SettingSpec] = {s.key: s for s in (
    SettingSpec("ai.temperature", "temperature", float, 0.0, 2.0),
    SettingSpec("ai.max_tokens", "max_tokens", int, 1, 32768),
    SettingSpec("ai.image_style", "image_style", str, choices=tuple(IMAGE_STYLES)),
    SettingSpec("ai.image_quality", "image_quality", str, choices=IMAGE_QUALITIES),
    SettingSpec("ai.max_images", "max_images", int, 1, 8, system_field="max_images_per_article"),
    # No system attribute: the system's tier is the tier of the default image model.
    SettingSpec("ai.image_quality_tier", "image_quality_tier", str, choices=IMAGE_QUALITY_TIERS, system_field=None),
    SettingSpec("ai.image_size", "image_size", str, choices=IMAGE_SIZES, account_override=False),
)}
BY_SYSTEM_FIELD = {s.system_field: s for s in SETTINGS.values() if s.system_field}
ACCOUNT_KEYS = tuple(k for k, s in SETTINGS.items() if s.account_override)


@dataclass(frozen=True)
class EffectiveAISettings:
    temperature: float
    max_tokens: int
    image_style: str
    image_quality: str
    max_images: int
    image_quality_tier: str
    image_size: str
    sources: dict[str, str] = field(default_factory=dict)  # key -> "account" | "system"

    def value(self, key: str) -> Any:
        return getattr(self, SETTINGS[key].field)

_system = TTLCache("system-ai-settings")


# --- system defaults ----------------------------------------------------------------------

def get_system_settings(*, fresh: bool = False) -> SystemAISettings:
    """The singleton; built-in defaults when it was never written (or seeded)."""
    def load() -> SystemAISettings:
        try:
            return SystemAISettings.get(GLOBAL_SCOPE, consistent_read=fresh)
        except SystemAISettings.DoesNotExist:
            return SystemAISettings(GLOBAL_SCOPE)

    return load() if fresh else _system.get_or_load("singleton", load)


def _invalid(errors: list[dict[str, str]]) -> UnprocessableEntity:
    return UnprocessableEntity("Some settings are not valid; see details.", details=errors)


def update_system_settings(changes: dict[str, Any], *, updated_by: str | None = None) -> SystemAISettings:
    clean, errors = {}, []
    for name, value in changes.items():
        spec = BY_SYSTEM_FIELD.get(name)
        if spec is None:
            errors.append({"field": name, "message": "not a system AI setting"})
            continue
        try:
            clean[name] = spec.check(value)
        except ValueError as exc:
            errors.append({"field": name, "message": str(exc)})
    if errors:
        raise _invalid(errors)
    if not clean:
        return get_system_settings(fresh=True)
    system_store.put_if_absent(SystemAISettings(GLOBAL_SCOPE))  # it may never have been seeded
    item = SystemAISettings(GLOBAL_SCOPE)
    system_store.update(item, clean, updated_by=updated_by, what="System AI settings")
    clear_all()
    return item


# --- account overrides --------------------------------------------------------------------

def validate_account_setting(key: str, value: Any) -> Any:
    spec = SETTINGS.get(key)
    if spec is None or not spec.account_override:
        raise UnprocessableEntity(f"Unknown setting {key!r}; accounts can set: {', '.join(ACCOUNT_KEYS)}.",
                                  details=[{"field": "key", "message": "unknown setting"}], code="unknown_setting")
    try:
        return spec.check(value)
    except ValueError as exc:
        raise _invalid([{"field": key, "message": str(exc)}]) from None


def list_account_settings(account_id: str) -> list[AccountSettings]:
    return list(AccountSettings.query(account_id))


def set_account_setting(account_id: str, key: str, value: Any, *, updated_by: str | None = None) -> AccountSettings:
    item = AccountSettings(account_id, key, value=validate_account_setting(key, value), updated_by=updated_by)
    item.save()
    return item


def delete_account_setting(account_id: str, key: str) -> None:
    if key not in SETTINGS:
        raise NotFound("Setting")
    system_store.delete(AccountSettings, account_id, key, "Setting")


# --- the merge ----------------------------------------------------------------------------

def system_default(key: str, system: SystemAISettings | None = None) -> Any:
    """The platform's value for a key, valid by construction."""
    spec = SETTINGS[key]
    if spec.system_field is None:
        from chalicelib.services.ai_models import get_default_image_model

        model = get_default_image_model()
        return model.quality_tier if model is not None and model.quality_tier in spec.choices else spec.choices[0]
    value = getattr(system or get_system_settings(), spec.system_field)
    try:
        return spec.check(value)
    except ValueError:  # a hand-edited item: fall back to the built-in default
        return getattr(SystemAISettings(GLOBAL_SCOPE), spec.system_field)


def effective_settings(account_id: str | None) -> EffectiveAISettings:
    """Account override, else system default, for every key (one Query + cached Gets)."""
    system = get_system_settings()
    overrides: dict[str, Any] = {}
    if account_id:
        for item in AccountSettings.query(account_id, AccountSettings.key.startswith(KEY_PREFIX)):
            overrides[item.key] = item.value
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, spec in SETTINGS.items():
        if spec.account_override and key in overrides:
            try:
                values[spec.field] = spec.check(overrides[key])
                sources[key] = "account"
                continue
            except ValueError:
                logger.warning("ignoring an invalid account setting", extra={"setting": key})
        values[spec.field] = system_default(key, system)
        sources[key] = "system"
    return EffectiveAISettings(**values, sources=sources)
