"""get_engine: models from AIModelConfig, keys from IntegrationProvider, offline when no key."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from chalicelib.ai.errors import AINotConfigured
from chalicelib.ai.providers.openai_provider import OpenAIProvider
from chalicelib.ai.providers.runware_provider import RunwareProvider
from chalicelib.ai.retry import RetryPolicy
from chalicelib.services import ai_models, ai_settings, providers
from chalicelib.services.ai_engine import get_engine
from chalicelib.services.system_defaults import seed_system_defaults
from tests.unit.ai.fake_apis import FakeOpenAI, FakeRunware, Reply

KEY = "sk-selection-test-abcdefghijklmnop"


@pytest.fixture
def platform(system_db):
    seed_system_defaults()


def _names(engine) -> tuple[str, str, str]:
    return engine.text_route.provider_name, engine.image_route.provider_name, engine.embedding_route.provider_name


def test_no_key_means_offline_with_the_configured_models(platform):
    engine = get_engine("acct")
    assert _names(engine) == ("offline", "offline", "offline")
    assert (engine.text_route.model, engine.image_route.model, engine.embedding_route.model) == (
        "gpt-4o-mini", "runware:97@1", "text-embedding-3-small")


def test_a_key_switches_the_provider_on_and_the_endpoint_comes_from_the_record(platform):
    server = FakeOpenAI(KEY)
    try:
        providers.update_provider("openai", {"api_endpoint": server.base_url}, secret_values={"api_key": KEY})
        engine = get_engine("acct", retry=RetryPolicy(attempts=1))
        assert isinstance(engine.text_route.provider, OpenAIProvider)
        assert _names(engine) == ("openai", "openai", "openai")  # images too: the only keyed image provider
        server.queue(Reply(content=json.dumps({"name": "Shoes", "description": "d"})))
        result = engine.run_stage("clustering", {"sector": "S", "keywords": ["a shoe"]})
        assert result.usage.provider == "openai" and result.data.name == "Shoes"
        assert server.requests[-1].headers["authorization"] == f"Bearer {KEY}"
    finally:
        server.close()


def test_runware_key_serves_images(platform):
    server = FakeRunware(KEY)
    try:
        providers.update_provider("runware", {"api_endpoint": server.endpoint}, secret_values={"api_key": KEY})
        engine = get_engine("acct")
        assert isinstance(engine.image_route.provider, RunwareProvider)
        result = engine.generate_images("a shoe")
        assert result.usage.provider == "runware" and result.usage.images == 1
        assert server.requests[-1].body[0]["model"] == "runware:97@1"
    finally:
        server.close()


def test_with_only_an_openai_key_the_image_model_is_openais_in_every_tier(platform):
    providers.update_provider("openai", {}, secret_values={"api_key": KEY})
    assert ai_models.get_default_model("image").model_name == "dall-e-3"
    for tier in ("basic", "quality", "premium"):
        ai_settings.set_account_setting("acct", "ai.image_quality_tier", tier)
        assert get_engine("acct").image_route.model == "dall-e-3", tier


def test_the_default_stands_while_its_provider_has_a_key(platform):
    providers.update_provider("openai", {}, secret_values={"api_key": KEY})
    providers.update_provider("runware", {}, secret_values={"api_key": KEY})
    assert ai_models.get_default_model("image").model_name == "runware:97@1"
    ai_settings.set_account_setting("acct", "ai.image_quality_tier", "premium")
    assert get_engine("acct").image_route.model == "google:4@2"


def test_a_runware_only_deployment_keeps_runware_and_text_stays_offline(platform):
    providers.update_provider("runware", {}, secret_values={"api_key": KEY})
    ai_settings.set_account_setting("acct", "ai.image_quality_tier", "quality")
    assert _names(get_engine("acct")) == ("offline", "runware", "offline")
    assert get_engine("acct").image_route.model == "bria:10@1"


def test_an_inactive_provider_is_not_used(platform):
    providers.update_provider("openai", {"is_active": False}, secret_values={"api_key": KEY})
    assert _names(get_engine("acct"))[0] == "offline"


@pytest.mark.parametrize(("tier", "model"), [("basic", "runware:97@1"), ("quality", "bria:10@1"),
                                             ("premium", "google:4@2")])
def test_the_account_quality_tier_picks_the_image_model(platform, tier, model):
    ai_settings.set_account_setting("acct", "ai.image_quality_tier", tier)
    assert get_engine("acct").image_route.model == model


def test_image_size_is_fitted_to_the_model(platform):
    ai_settings.update_system_settings({"image_size": "1792x1024"})
    engine = get_engine("acct")
    assert engine.image_size() == (1280, 768)  # Hi Dream Full's landscape size
    ai_models.set_default("dall-e-3")
    assert get_engine("acct").image_size() == (1792, 1024)


def test_effective_settings_reach_the_call(platform):
    ai_settings.set_account_setting("acct", "ai.temperature", 0.2)
    ai_settings.set_account_setting("acct", "ai.max_tokens", 1234)
    server = FakeOpenAI(KEY)
    try:
        providers.update_provider("openai", {"api_endpoint": server.base_url}, secret_values={"api_key": KEY})
        get_engine("acct").generate_text("hi")
        sent = server.requests[-1].body
        assert (sent["temperature"], sent["max_completion_tokens"]) == (0.2, 1234)
    finally:
        server.close()


def test_production_refuses_offline_unless_allowed(platform, monkeypatch):
    monkeypatch.setenv("APP_STAGE", "prod")
    engine = get_engine("acct")
    with pytest.raises(AINotConfigured, match="no API key"):
        engine.generate_text("hi")
    monkeypatch.setenv("AI_OFFLINE_ALLOWED", "1")
    assert get_engine("acct").generate_text("hi").usage.provider == "offline"


def test_a_default_that_disappears_leaves_no_route_unlabelled(system_db):
    engine = get_engine(None)  # nothing seeded at all
    assert engine.text_route.model == "offline-text" and _names(engine) == ("offline",) * 3


def test_importing_the_app_and_the_engine_does_not_import_openai():
    code = ("import sys, app, chalicelib.ai.engine, chalicelib.ai.providers.openai_provider;"
            "print('openai' in sys.modules, 'stripe' in sys.modules)")
    env = {"APP_SIGNING_SECRET": "x" * 40, "AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[3]))
    assert out.stdout.split() == ["False", "False"], out.stderr
