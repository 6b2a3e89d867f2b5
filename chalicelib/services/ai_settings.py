"""AI settings at two scopes: the platform's values (staff) and an account's overrides.

Each setting is one ``Setting`` record keyed (scope, key): ``("global", "ai.temperature")`` is
the platform's value, ``(account_id, "ai.temperature")`` the account's override.
``effective_settings(account_id)`` is the one place that merges them, for every key: the
account's override if it has a valid one, else the platform's value if valid, else the key's
built-in default. Every key's type, range or choices and built-in default are declared once in
``SETTINGS`` and checked on every write (account and staff) and again on read, so a value left
behind by a narrower rule falls back instead of reaching a provider.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from chalicelib.errors import NotFound, UnprocessableEntity
from chalicelib.models.accounts import GLOBAL_SCOPE
from chalicelib.models.system import Setting
from chalicelib.models.transactions import Transaction
from chalicelib.observability import logger
from chalicelib.services import system_store
from chalicelib.services.ai_models import get_default_image_model
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
    key: str  # the Setting key, at both scopes
    field: str  # the EffectiveAISettings field
    kind: type  # float, int or str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    account_override: bool = True
    # The name staff use for it (/v1/admin/ai-settings); None: the platform holds no value, it
    # is derived (see platform_value).
    system_field: str | None = _SAME
    default: Any = None  # built-in: what applies when no scope holds a valid value

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
    SettingSpec("ai.temperature", "temperature", float, 0.0, 2.0, default=0.7),
    SettingSpec("ai.max_tokens", "max_tokens", int, 1, 32768, default=8192),
    SettingSpec("ai.image_style", "image_style", str, choices=tuple(IMAGE_STYLES), default="photorealistic"),
    SettingSpec("ai.image_quality", "image_quality", str, choices=IMAGE_QUALITIES, default="standard"),
    SettingSpec("ai.max_images", "max_images", int, 1, 8, system_field="max_images_per_article", default=4),
    # No platform value: the platform's tier is the tier of the default image model.
    SettingSpec("ai.image_quality_tier", "image_quality_tier", str, choices=IMAGE_QUALITY_TIERS, system_field=None),
    SettingSpec("ai.image_size", "image_size", str, choices=IMAGE_SIZES, account_override=False,
                default="1024x1024"),
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


_platform = TTLCache("platform-ai-settings")


def _stored(scope: str, *, fresh: bool = False) -> dict[str, Setting]:
    return {item.key: item for item in Setting.query(scope, Setting.key.startswith(KEY_PREFIX),
                                                     consistent_read=fresh)}


def _platform_records(*, fresh: bool = False) -> dict[str, Setting]:
    return _stored(GLOBAL_SCOPE, fresh=True) if fresh else _platform.get_or_load("all", lambda: _stored(GLOBAL_SCOPE))


def _invalid(errors: list[dict[str, str]]) -> UnprocessableEntity:
    return UnprocessableEntity("Some settings are not valid; see details.", details=errors)


def _valid(spec: SettingSpec, record: Setting | None) -> tuple[bool, Any]:
    if record is None:
        return False, None
    try:
        return True, spec.check(record.value)
    except ValueError:  # a hand-edited item, or a rule that got narrower: the next scope applies
        logger.warning("ignoring an invalid setting", extra={"setting": spec.key, "scope": record.scope})
        return False, None


# --- the platform's values ----------------------------------------------------------------

def platform_value(key: str, platform: dict[str, Setting] | None = None) -> Any:
    """The platform's value for a key (its own, else the built-in default), valid by construction."""
    spec = SETTINGS[key]
    if spec.system_field is None:
        model = get_default_image_model()
        return model.quality_tier if model is not None and model.quality_tier in spec.choices else spec.choices[0]
    held, value = _valid(spec, (_platform_records() if platform is None else platform).get(key))
    return value if held else spec.default


def get_system_settings(*, fresh: bool = False) -> SimpleNamespace:
    """The platform's values under the names staff use, and who changed one of them last."""
    records = _platform_records(fresh=fresh)
    latest = max(records.values(), key=lambda r: r.updated_at, default=None)
    return SimpleNamespace(**{name: platform_value(spec.key, records) for name, spec in BY_SYSTEM_FIELD.items()},
                          updated_by=latest.updated_by if latest else None,
                          updated_at=latest.updated_at if latest else None)


def update_system_settings(changes: dict[str, Any], *, updated_by: str | None = None) -> SimpleNamespace:
    """Change the platform's values, named as staff name them (``max_images_per_article``), all or none."""
    clean, errors = {}, []
    for name, value in changes.items():
        spec = BY_SYSTEM_FIELD.get(name)
        if spec is None:
            errors.append({"field": name, "message": "not a system AI setting"})
            continue
        try:
            clean[spec.key] = spec.check(value)
        except ValueError as exc:
            errors.append({"field": name, "message": str(exc)})
    if errors:
        raise _invalid(errors)
    tx = Transaction("system-ai-settings")
    for key, value in clean.items():
        tx.put(Setting(GLOBAL_SCOPE, key, value=value, updated_by=updated_by), label=key)
    tx.commit()
    clear_all()
    return get_system_settings(fresh=True)


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


def list_account_settings(account_id: str) -> list[Setting]:
    return list(Setting.query(account_id))


def set_account_setting(account_id: str, key: str, value: Any, *, updated_by: str | None = None) -> Setting:
    item = Setting(account_id, key, value=validate_account_setting(key, value), updated_by=updated_by)
    item.save()
    return item


def delete_account_setting(account_id: str, key: str) -> None:
    if key not in SETTINGS:
        raise NotFound("Setting")
    system_store.delete(Setting, account_id, key, "Setting")


# --- the merge ----------------------------------------------------------------------------

def effective_settings(account_id: str | None) -> EffectiveAISettings:
    """Account override, else platform value, else built-in, for every key (one Query + a cached one)."""
    platform = _platform_records()
    overrides = _stored(account_id) if account_id else {}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, spec in SETTINGS.items():
        held, value = _valid(spec, overrides.get(key)) if spec.account_override else (False, None)
        values[spec.field] = value if held else platform_value(key, platform)
        sources[key] = "account" if held else "system"
    return EffectiveAISettings(**values, sources=sources)
