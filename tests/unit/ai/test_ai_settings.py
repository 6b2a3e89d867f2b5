"""Effective AI settings: account override, else system default, for every key; validation."""

from __future__ import annotations

import pytest

from chalicelib.errors import NotFound, UnprocessableEntity
from chalicelib.models.system import Setting
from chalicelib.services import ai_models, ai_settings
from chalicelib.services.system_defaults import seed_system_defaults

# key -> (system default after seeding, a valid override, invalid values)
CASES = {
    "ai.temperature": (0.7, 1.3, [-0.1, 2.01, "hot", True, None, float("nan")]),
    "ai.max_tokens": (8192, 1024, [0, 32769, 1.5, "100", False]),
    "ai.image_style": ("photorealistic", "cartoon", ["watercolour", "", 3]),
    "ai.image_quality": ("standard", "hd", ["ultra", "HD", 1]),
    "ai.max_images": (4, 8, [0, 9, 2.5, True]),
    "ai.image_quality_tier": ("basic", "premium", ["gold", None]),
}


@pytest.fixture
def seeded(system_db):
    seed_system_defaults()


def test_every_account_key_is_covered():
    assert set(CASES) == set(ai_settings.ACCOUNT_KEYS)


@pytest.mark.parametrize("key", list(CASES))
def test_system_default_then_account_override_then_back(seeded, key):
    default, override, _ = CASES[key]
    effective = ai_settings.effective_settings("acct")
    assert (effective.value(key), effective.sources[key]) == (default, "system")

    ai_settings.set_account_setting("acct", key, override)
    effective = ai_settings.effective_settings("acct")
    assert (effective.value(key), effective.sources[key]) == (override, "account")
    other = ai_settings.effective_settings("other-acct")
    assert (other.value(key), other.sources[key]) == (default, "system")  # overrides are per account
    assert all(src == "system" for k, src in effective.sources.items() if k != key)

    ai_settings.delete_account_setting("acct", key)
    assert ai_settings.effective_settings("acct").sources[key] == "system"


@pytest.mark.parametrize(("key", "bad"), [(k, bad) for k, (_, _, bads) in CASES.items() for bad in bads])
def test_out_of_range_and_wrong_choices_are_refused(key, bad):
    with pytest.raises(UnprocessableEntity) as info:
        ai_settings.validate_account_setting(key, bad)
    assert info.value.details[0]["field"] == key


def test_a_refused_value_is_not_stored(seeded):
    with pytest.raises(UnprocessableEntity):
        ai_settings.set_account_setting("acct", "ai.temperature", 9)
    assert list(Setting.query("acct")) == []


@pytest.mark.parametrize("key", list(CASES))
def test_an_invalid_stored_override_falls_back_to_the_system_default(seeded, key):
    Setting("acct", key, value="not-a-valid-value-for-anything").save()  # e.g. a rule that got narrower
    effective = ai_settings.effective_settings("acct")
    assert (effective.value(key), effective.sources[key]) == (CASES[key][0], "system")


def test_system_changes_reach_accounts_without_an_override(seeded):
    ai_settings.set_account_setting("acct", "ai.temperature", 0.1)
    ai_settings.update_system_settings({"temperature": 1.1, "max_tokens": 4000})
    effective = ai_settings.effective_settings("acct")
    assert (effective.temperature, effective.max_tokens) == (0.1, 4000)


def test_the_system_tier_is_the_tier_of_the_default_image_model(seeded):
    assert ai_settings.effective_settings("acct").image_quality_tier == "basic"
    ai_models.set_default("google:4@2")
    assert ai_settings.effective_settings("acct").image_quality_tier == "premium"


def test_whole_numbers_are_accepted_as_temperatures_and_normalised(seeded):
    assert ai_settings.set_account_setting("acct", "ai.temperature", 1).value == 1.0
    assert ai_settings.set_account_setting("acct", "ai.max_tokens", 2048.0).value == 2048


def test_system_only_and_unknown_keys(seeded):
    with pytest.raises(UnprocessableEntity, match="Unknown setting"):
        ai_settings.set_account_setting("acct", "ai.image_size", "1024x1024")
    with pytest.raises(UnprocessableEntity, match="Unknown setting"):
        ai_settings.set_account_setting("acct", "ai.colour", "red")
    with pytest.raises(NotFound):
        ai_settings.delete_account_setting("acct", "ai.temperature")


def test_system_settings_are_validated(seeded):
    with pytest.raises(UnprocessableEntity) as info:
        ai_settings.update_system_settings({"temperature": 5, "image_size": "10x10", "colour": "red"})
    assert {d["field"] for d in info.value.details} == {"temperature", "image_size", "colour"}
    assert ai_settings.get_system_settings(fresh=True).temperature == 0.7


def test_without_seeding_the_builtin_defaults_apply(system_db):
    effective = ai_settings.effective_settings("acct")
    assert (effective.temperature, effective.max_tokens, effective.max_images, effective.image_quality_tier) == (
        0.7, 8192, 4, "basic")
    ai_settings.update_system_settings({"temperature": 0.9})  # creates the singleton on first write
    assert ai_settings.get_system_settings(fresh=True).temperature == 0.9
