"""/v1/admin/...: staff only; provider secrets encrypted, masked and never leaked; one default per type."""

from __future__ import annotations

import base64
import io
import logging
import re
from contextlib import contextmanager

import boto3
import pytest

from chalicelib.ai.errors import AIAuthError
from chalicelib.api.routing import ROUTES
from chalicelib.config import resource_prefix
from chalicelib.observability import logger
from chalicelib.services import providers
from chalicelib.services.ai_engine import get_engine
from chalicelib.services.system_defaults import seed_system_defaults
from chalicelib.services.ttl_cache import clear_all
from tests.unit.ai.fake_apis import FakeOpenAI

OPENAI_KEY = "sk-live-9f8e7d6c5b4a3210ZYXWVUTS"
WEBHOOK_SECRET = "whsec_0123456789abcdefghijklmnop"


@pytest.fixture
def platform(aws, monkeypatch):
    """Seeded system records and a KMS key, as the local stack has them."""
    clear_all()
    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("SECRETS_KMS_KEY_ID", key_id)
    seed_system_defaults()
    yield
    clear_all()


@pytest.fixture
def staff(platform, register, make_staff):
    return make_staff(register("staff"))


@contextmanager
def captured_logs():
    """Every log record of every logger, at DEBUG, formatted and with its extras."""
    stream = io.StringIO()

    class Everything(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            stream.write(self.format(record) + " " + repr(vars(record)) + "\n")

    handler = Everything(level=logging.DEBUG)
    handler.setFormatter(logger.registered_formatter)
    root = logging.getLogger()
    old_root, old_app = root.level, logger.log_level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logger.setLevel("DEBUG")
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_root)
        logger.setLevel(old_app)


def _forms(secret: str) -> list[str]:
    """The secret as text and as base64 (at each of the three byte alignments)."""
    raw = secret.encode()
    return [secret] + [base64.b64encode(raw[i:]).decode()[4:-4] for i in range(3)]


def _fill(path: str) -> str:
    return re.sub(r"{(\w+)}", "openai", path)


def test_every_admin_route_refuses_everyone_but_staff(api, platform, register, add_member):
    owner = register("owner")
    admin = add_member(owner, "admin")
    admin_routes = [s for s in ROUTES if s.path.startswith("/v1/admin/")]
    assert len(admin_routes) >= 25 and all(s.auth == "staff" for s in admin_routes)
    for spec in admin_routes:
        for member in (owner, admin):
            r = api.request(spec.method, _fill(spec.path), json_body={}, token=member.token)
            assert (r.status, r.error_code) == (403, "staff_only"), f"{spec.method} {spec.path}"
        assert api.request(spec.method, _fill(spec.path), json_body={}).status == 401


def test_provider_secrets_round_trip_encrypted_and_never_leak(api, staff):
    with captured_logs() as logs:
        r = api.patch("/v1/admin/providers/openai", {"api_key": OPENAI_KEY, "webhook_secret": WEBHOOK_SECRET},
                      token=staff.token)
        assert r.status == 200, r.json
        assert (r.json["api_key"], r.json["webhook_secret"], r.json["api_secret"]) == ("••••VUTS", "••••mnop", None)
        responses = [r,
                     api.get("/v1/admin/providers", token=staff.token),
                     api.get("/v1/admin/providers?provider_type=ai", token=staff.token),
                     api.get("/v1/admin/providers/openai", token=staff.token),
                     # a refused body must not echo the secret either
                     api.patch("/v1/admin/providers/openai", {"api_key": OPENAI_KEY + "x" * 500}, token=staff.token),
                     api.patch("/v1/admin/providers/openai", {"api_key": OPENAI_KEY, "nope": 1}, token=staff.token)]
        assert [x.status for x in responses[-2:]] == [422, 422]

        # At rest: KMS ciphertext only, bound to its record and field.
        table = f"{resource_prefix()}-integration_providers"
        raw = boto3.client("dynamodb", region_name="us-east-1").get_item(
            TableName=table, Key={"scope": {"S": "global"}, "provider_id": {"S": "openai"}})["Item"]
        assert OPENAI_KEY not in str(raw) and WEBHOOK_SECRET not in str(raw)
        assert raw["api_key_enc"]["S"].startswith("kms1:")
        # In use: the engine gets the plain key (and the provider answers with it, echoed whole).
        assert providers.get_api_key("openai") == OPENAI_KEY
        assert providers.get_secret("openai", "webhook_secret") == WEBHOOK_SECRET
        server = FakeOpenAI("sk-some-other-key-the-server-expects")
        try:
            providers.update_provider("openai", {"api_endpoint": server.base_url})
            with pytest.raises(AIAuthError) as info:
                get_engine(staff.account_id).generate_text("hello")
            assert OPENAI_KEY not in str(info.value)
        finally:
            server.close()
        logger.exception("an error with the provider record", extra={"provider": providers.get_record("openai")})

    for resp in responses:
        assert OPENAI_KEY not in resp.raw.decode() and WEBHOOK_SECRET not in resp.raw.decode()
    text = logs.getvalue()
    # The capture saw the libraries' DEBUG output and our own records with their extras...
    assert "'name': 'openai._base_client'" in text and "'name': 'botocore.endpoint'" in text
    assert "an error with the provider record" in text and "kms1:" in text
    # ...and none of it holds a secret, plain or base64-encoded (as botocore logs bodies).
    for secret in (OPENAI_KEY, WEBHOOK_SECRET):
        for form in _forms(secret):
            assert form not in text, f"a secret appears in the logs as {form!r}"
    assert OPENAI_KEY[:-4] not in text  # not even most of it


def test_secrets_can_be_cleared_and_ciphertexts_cannot_be_moved(api, staff):
    api.patch("/v1/admin/providers/openai", {"api_key": OPENAI_KEY}, token=staff.token)
    r = api.patch("/v1/admin/providers/openai", {"api_key": None}, token=staff.token)
    assert r.status == 200 and r.json["api_key"] is None
    assert providers.get_api_key("openai") is None
    short = api.patch("/v1/admin/providers/runware", {"api_key": "short"}, token=staff.token).json
    assert short["api_key"] == "••••"  # too short to show any of it
    # A ciphertext copied into another provider's record does not decrypt there.
    api.patch("/v1/admin/providers/openai", {"api_key": OPENAI_KEY}, token=staff.token)
    stolen = providers.get_record("openai").api_key_enc
    providers.update_provider("resend", {"api_key_enc": stolen})
    with pytest.raises(providers.secrets.SecretStoreError):
        providers.get_api_key("resend")


def test_provider_crud(api, staff):
    body = {"provider_id": "mailgun", "display_name": "Mailgun", "provider_type": "email",
            "api_key": "key-0123456789abcdef", "config": {"domain": "mg.example.com"}}
    r = api.post("/v1/admin/providers", body, token=staff.token)
    assert r.status == 201 and r.json["api_key"] == "••••cdef" and r.json["config"] == {"domain": "mg.example.com"}
    assert r.json["updated_by"] == staff.user_id
    assert api.post("/v1/admin/providers", body, token=staff.token).status == 409
    assert api.post("/v1/admin/providers", {**body, "provider_id": "x", "provider_type": "fax"},
                    token=staff.token).status == 422
    assert [p["provider_id"] for p in api.get("/v1/admin/providers?provider_type=email",
                                              token=staff.token).json["items"]] == ["mailgun", "resend"]
    r = api.delete("/v1/admin/providers/openai", token=staff.token)
    assert (r.status, r.error_code) == (409, "provider_in_use")
    assert api.delete("/v1/admin/providers/mailgun", token=staff.token).status == 200
    assert api.get("/v1/admin/providers/mailgun", token=staff.token).status == 404


def _defaults(api, staff) -> dict[str, str]:
    items = api.get("/v1/admin/ai-models", token=staff.token).json["items"]
    defaults: dict[str, list[str]] = {}
    for m in items:
        if m["is_default"]:
            defaults.setdefault(m["model_type"], []).append(m["model_name"])
    assert all(len(names) == 1 for names in defaults.values()), defaults
    return {t: names[0] for t, names in defaults.items()}


def test_models_pricing_and_one_default_per_type(api, staff):
    assert _defaults(api, staff) == {"text": "gpt-4o-mini", "image": "runware:97@1",
                                     "embedding": "text-embedding-3-small"}
    model = api.get("/v1/admin/ai-models/gpt-4o", token=staff.token).json
    assert (model["tokens_per_credit"], model["cost_per_1k_input"]) == (1000, "0.0025")
    image = api.get("/v1/admin/ai-models/google:4@2", token=staff.token).json
    assert (image["credits_per_image"], image["quality_tier"], image["supported_sizes"]) == (
        15, "premium", ["1024x1024", "1376x768"])

    r = api.post("/v1/admin/ai-models/gpt-4o/default", token=staff.token)
    assert r.status == 200 and r.json["is_default"]
    assert _defaults(api, staff)["text"] == "gpt-4o"
    r = api.patch("/v1/admin/ai-models/gpt-4o", {"is_active": False}, token=staff.token)
    assert (r.status, r.error_code) == (409, "default_model")
    assert api.delete("/v1/admin/ai-models/gpt-4o", token=staff.token).status == 409
    assert api.patch("/v1/admin/ai-models/gpt-4o-mini", {"is_active": False}, token=staff.token).status == 200
    r = api.post("/v1/admin/ai-models/gpt-4o-mini/default", token=staff.token)
    assert (r.status, r.error_code) == (409, "model_inactive")
    assert _defaults(api, staff)["text"] == "gpt-4o"

    new = {"model_name": "claude-sonnet", "model_type": "text", "provider": "anthropic", "display_name": "Claude",
           "tokens_per_credit": 2000, "cost_per_1k_input": "0.003"}
    r = api.post("/v1/admin/ai-models", new, token=staff.token)
    assert r.status == 201 and r.json["cost_per_1k_input"] == "0.003" and not r.json["is_default"]
    r = api.post("/v1/admin/ai-models/claude-sonnet/default", token=staff.token)
    assert (r.status, r.error_code) == (422, "unsupported_provider")
    assert api.post("/v1/admin/ai-models", {**new, "model_name": "x", "provider": "nobody"},
                    token=staff.token).status == 422
    assert api.post("/v1/admin/ai-models", {**new, "model_name": "y", "provider": "stripe"},
                    token=staff.token).status == 422  # not an AI provider
    assert api.patch("/v1/admin/ai-models/claude-sonnet", {"model_type": "image"}, token=staff.token).status == 422
    r = api.patch("/v1/admin/ai-models/claude-sonnet", {"tokens_per_credit": None, "display_name": "Claude 4"},
                  token=staff.token)
    assert r.status == 200 and r.json["tokens_per_credit"] is None and r.json["display_name"] == "Claude 4"
    assert api.patch("/v1/admin/ai-models/claude-sonnet", {"display_name": None}, token=staff.token).status == 422
    assert api.delete("/v1/admin/ai-models/claude-sonnet", token=staff.token).status == 200
    assert len(api.get("/v1/admin/ai-models?model_type=image", token=staff.token).json["items"]) == 4


def test_system_and_module_settings(api, staff):
    r = api.get("/v1/admin/ai-settings", token=staff.token)
    assert r.json["temperature"] == 0.7 and r.json["max_images_per_article"] == 4
    r = api.patch("/v1/admin/ai-settings", {"temperature": 0.3, "image_style": "cartoon"}, token=staff.token)
    assert r.status == 200 and (r.json["temperature"], r.json["image_style"]) == (0.3, "cartoon")
    assert r.json["updated_by"] == staff.user_id
    r = api.patch("/v1/admin/ai-settings", {"temperature": 2.5, "max_images_per_article": 9}, token=staff.token)
    assert r.status == 422 and {d["field"] for d in r.json["error"]["details"]} == {"temperature",
                                                                                    "max_images_per_article"}
    assert api.patch("/v1/admin/ai-settings", {"max_tokens": True}, token=staff.token).status == 422
    assert api.get("/v1/admin/module-settings", token=staff.token).json["linker_enabled"] is False
    r = api.patch("/v1/admin/module-settings", {"linker_enabled": True}, token=staff.token)
    assert r.status == 200 and r.json["linker_enabled"] is True and r.json["planner_enabled"] is True


def test_global_prompts(api, staff):
    r = api.put("/v1/admin/prompts/clustering", {"prompt_value": "Name it.\n{{ keywords }} for {{ audience }}"},
                token=staff.token)
    assert (r.status, r.error_code) == (422, "invalid_prompt") and "audience" in r.json["error"]["message"]
    r = api.put("/v1/admin/prompts/clustering", {"prompt_value": "Name it.\n{{ keywords }}",
                                                 "variables": ["keywords"]}, token=staff.token)
    assert r.status == 422  # a stage's variables are fixed
    r = api.put("/v1/admin/prompts/clustering", {"prompt_value": "Name it well.\n{{ keywords }}"}, token=staff.token)
    assert r.status == 200 and r.json["variables"] == ["sector", "keywords"]
    r = api.put("/v1/admin/prompts/meta_rewrite", {"prompt_value": "Rewrite.\n{{ title }}", "variables": ["title"]},
                token=staff.token)
    assert r.status == 200 and r.json["variables"] == ["title"]
    assert api.put("/v1/admin/prompts/Bad-Type", {"prompt_value": "x"}, token=staff.token).status == 422
    types = [p["prompt_type"] for p in api.get("/v1/admin/prompts", token=staff.token).json["items"]]
    assert types == ["clustering", "content_generation", "content_optimization", "ideas", "image_prompts",
                     "meta_rewrite"]
    assert api.delete("/v1/admin/prompts/clustering", token=staff.token).status == 200
    effective = api.get("/v1/account/prompts/clustering", token=staff.token).json
    assert effective["source"] == "builtin"


def test_profiles_strategies_and_credit_costs(api, staff):
    r = api.post("/v1/admin/author-profiles", {"profile_id": "storyteller", "name": "Storyteller", "tone": "warm",
                                               "language": "en-GB"}, token=staff.token)
    assert r.status == 201 and r.json["scope"] == "global"
    assert api.patch("/v1/admin/author-profiles/storyteller", {"language": "english"}, token=staff.token).status == 422
    ids = [p["profile_id"] for p in api.get("/v1/admin/author-profiles", token=staff.token).json["items"]]
    assert ids == ["friendly-guide", "professional", "storyteller", "technical-specialist"]
    assert api.delete("/v1/admin/author-profiles/storyteller", token=staff.token).status == 200

    body = {"strategy_id": "pillar-cluster", "name": "Pillar and cluster", "config": {"pillars": 3}}
    assert api.post("/v1/admin/strategies", body, token=staff.token).status == 201
    assert api.post("/v1/admin/strategies", body, token=staff.token).status == 409
    r = api.patch("/v1/admin/strategies/pillar-cluster", {"is_active": False}, token=staff.token)
    assert r.json["is_active"] is False and r.json["config"] == {"pillars": 3}
    assert api.delete("/v1/admin/strategies/pillar-cluster", token=staff.token).status == 200
    assert api.get("/v1/admin/strategies/pillar-cluster", token=staff.token).status == 404

    costs = {c["operation_type"]: c["base_credits"] for c in
             api.get("/v1/admin/credit-costs", token=staff.token).json["items"]}
    assert costs["generate_content"] == 2 and set(costs) >= {"cluster_keywords", "generate_images"}
    r = api.put("/v1/admin/credit-costs/generate_content", {"display_name": "Articles", "base_credits": 3},
                token=staff.token)
    assert r.status == 200 and r.json["base_credits"] == 3
    assert api.put("/v1/admin/credit-costs/x", {"display_name": "X", "base_credits": -1},
                   token=staff.token).status == 422
