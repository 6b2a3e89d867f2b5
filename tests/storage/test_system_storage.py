"""System records on moto and on DynamoDB Local: seeding, conditions, the default pointers."""

from __future__ import annotations

import threading

import pytest

from chalicelib.errors import ApiError, Conflict, NotFound
from chalicelib.models.accounts import GLOBAL_SCOPE, Industry, Plan
from chalicelib.models.modules import ModuleEnableSettings
from chalicelib.models.system import (
    AIModelConfig,
    AIModelDefault,
    AIPrompt,
    AuthorProfile,
    CreditCostConfig,
    IntegrationProvider,
    Setting,
)
from chalicelib.services import ai_models, ai_settings, author_profiles, prompts, system_config
from chalicelib.services.system_defaults import MODELS, seed_system_defaults
from chalicelib.services.ttl_cache import clear_all

GLOBAL_TABLES = (Plan, Industry, IntegrationProvider, AIModelConfig, AIModelDefault, CreditCostConfig,
                 AIPrompt, AuthorProfile, Setting)
SINGLETONS = (ModuleEnableSettings,)


@pytest.fixture(autouse=True)
def _fresh_caches():
    clear_all()
    yield
    clear_all()


def _snapshot() -> dict[str, list]:
    out = {m.__name__: [i.serialize() for i in m.query(GLOBAL_SCOPE, consistent_read=True)] for m in GLOBAL_TABLES}
    out.update({m.__name__: [m.get(GLOBAL_SCOPE, consistent_read=True).serialize()] for m in SINGLETONS})
    return out


def test_seeding_twice_changes_nothing_and_keeps_staff_edits(ddb):
    first = seed_system_defaults()
    assert first["providers"] == 6 and first["ai_models"] == len(MODELS) and first["default_models"] == 3
    assert first["prompts"] == 5 and first["credit_costs"] >= 5 and first["industries"] >= 3
    before = _snapshot()
    assert {p["provider_id"]["S"] for p in before["IntegrationProvider"]} == {
        "openai", "runware", "anthropic", "stripe", "paypal", "resend"}
    assert {m["model_name"]["S"] for m in before["AIModelConfig"]} >= {
        "gpt-4o", "gpt-4o-mini", "dall-e-3", "runware:97@1", "bria:10@1", "google:4@2"}
    second = seed_system_defaults()
    assert set(second.values()) == {0}
    assert _snapshot() == before  # not even an updated_at moved

    # Staff edits survive a later seeding.
    prompts.put(GLOBAL_SCOPE, "clustering", prompt_value="Staff version.\n{{ keywords }}")
    ai_models.set_default("gpt-4o")
    ai_models.update_model("gpt-4o-mini", {"is_active": False})
    system_config.update_credit_cost("generate_content", {"base_credits": 9})
    ai_settings.update_system_settings({"temperature": 0.2})
    seed_system_defaults()
    assert AIPrompt.get(GLOBAL_SCOPE, "clustering").prompt_value.startswith("Staff version.")
    assert ai_models.current_defaults()["text"] == "gpt-4o"
    assert AIModelConfig.get(GLOBAL_SCOPE, "gpt-4o-mini").is_active is False
    assert CreditCostConfig.get(GLOBAL_SCOPE, "generate_content").base_credits == 9
    assert Setting.get(GLOBAL_SCOPE, "ai.temperature").value == 0.2


def _text_models(n: int) -> list[str]:
    names = [f"text-model-{i}" for i in range(n)]
    for name in names:
        ai_models.create_model(model_name=name, model_type="text", provider="openai", display_name=name,
                               tokens_per_credit=1000)
    return names


def test_one_default_per_type_under_concurrent_attempts(ddb):
    """Many staff members setting defaults at once; and a default racing its deactivation."""
    seed_system_defaults()
    names = _text_models(6)
    errors: list[Exception] = []

    def make_default(name: str) -> None:
        try:
            ai_models.set_default(name)
        except Exception as exc:  # collected and checked below
            errors.append(exc)

    threads = [threading.Thread(target=make_default, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    pointers = list(AIModelDefault.query(GLOBAL_SCOPE, consistent_read=True))
    assert sorted(p.model_type for p in pointers) == ["embedding", "image", "text"]
    assert ai_models.current_defaults()["text"] in names

    # Each round: one thread makes model A the default, another switches A off, a third makes
    # B the default. Whatever the interleaving, the default that remains is an active model.
    a, b = names[:2]
    outcomes: set[str] = set()
    for _ in range(3):
        for name in (a, b):
            AIModelConfig(GLOBAL_SCOPE, name).update(actions=[AIModelConfig.is_active.set(True)])
        ai_models.set_default("gpt-4o-mini")

        def attempt(fn, *args, **kwargs):
            try:
                fn(*args, **kwargs)
                outcomes.add(f"{fn.__name__}:ok")
            except (Conflict, NotFound) as exc:
                outcomes.add(f"{fn.__name__}:{exc.code}")

        threads = [threading.Thread(target=attempt, args=(ai_models.set_default, a)),
                   threading.Thread(target=attempt, args=(ai_models.update_model, a, {"is_active": False})),
                   threading.Thread(target=attempt, args=(ai_models.set_default, b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        default = ai_models.current_defaults()["text"]
        assert AIModelConfig.get(GLOBAL_SCOPE, default, consistent_read=True).is_active, outcomes
    assert "set_default:ok" in outcomes


def test_conditional_writes_and_account_records(ddb):
    seed_system_defaults()
    with pytest.raises(Conflict):
        ai_models.create_model(model_name="gpt-4o", model_type="text", provider="openai", display_name="again")
    with pytest.raises(NotFound):
        ai_models.update_model("no-such-model", {"display_name": "x"})
    with pytest.raises(Conflict) as info:
        ai_models.delete_model("gpt-4o-mini")
    assert info.value.code == "default_model"
    ai_models.delete_model("gpt-4o")
    with pytest.raises(NotFound):
        ai_models.delete_model("gpt-4o")
    with pytest.raises(ApiError):
        ai_models.set_default("no-such-model")
    with pytest.raises(NotFound):
        author_profiles.delete(GLOBAL_SCOPE, "no-such-profile")
    with pytest.raises(NotFound):
        author_profiles.update("acct", "no-such-profile", {"name": "x"})

    # Account records: queried by account id (and key prefix), never another account's.
    ai_settings.set_account_setting("acct-a", "ai.temperature", 0.3)
    ai_settings.set_account_setting("acct-a", "ai.image_quality_tier", "premium")
    ai_settings.set_account_setting("acct-b", "ai.temperature", 1.9)
    effective = ai_settings.effective_settings("acct-a")
    assert (effective.temperature, effective.image_quality_tier) == (0.3, "premium")
    assert ai_settings.effective_settings("acct-b").temperature == 1.9
    assert ai_models.image_model_for_tier("premium").model_name == "google:4@2"
    profile = author_profiles.create("acct-a", name="Voice")
    assert author_profiles.resolve("acct-a", profile.profile_id).name == "Voice"
    assert author_profiles.resolve("acct-b", profile.profile_id).profile_id == "professional"  # not a's
    prompts.put("acct-a", "ideas", prompt_value="A.\n{{ keywords }}")
    assert prompts.resolve_prompt("acct-a", "ideas").source == "account"
    assert prompts.resolve_prompt("acct-b", "ideas").source == "global"
