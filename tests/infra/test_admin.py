"""`make admin`: the operator's commands, each against moto's DynamoDB and KMS, through the services."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from infra import admin

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-operator-test-abcdefghijklmnop"


@pytest.fixture
def platform(aws, monkeypatch):
    """A deployment as `make deploy` leaves it: seeded defaults, a KMS key, no provider key."""
    from chalicelib.services import ttl_cache
    from chalicelib.services.system_defaults import seed_system_defaults

    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("SECRETS_KMS_KEY_ID", key_id)
    for variable in admin.KEY_VARIABLES.values():
        monkeypatch.delenv(variable, raising=False)
    seed_system_defaults()
    yield
    ttl_cache.clear_all()


def run(*argv: str) -> dict:
    return admin.main(list(argv), configured=True)


def test_promote_staff_makes_a_user_staff_and_revoke_undoes_it(platform, api, register):
    member = register()
    assert api.get("/v1/admin/ai-models", token=member.token).status == 403
    out = run("promote-staff", member.email.upper())
    assert out["is_staff"] is True and out["account_id"] == member.account_id
    assert api.get("/v1/admin/ai-models", token=member.token).status == 200
    run("promote-staff", member.email, "--revoke")
    assert api.get("/v1/admin/ai-models", token=member.token).status == 403


def test_an_unknown_email_is_a_clear_message_not_a_traceback(platform):
    with pytest.raises(SystemExit, match=r"User nobody@example\.com not found"):
        run("promote-staff", "nobody@example.com")


def test_set_keys_stores_the_environments_keys_encrypted_and_images_follow_openai(platform, monkeypatch):
    from chalicelib.models.system import IntegrationProvider
    from chalicelib.services import providers

    with pytest.raises(SystemExit, match="OPENAI_API_KEY or RUNWARE_API_KEY"):
        run("set-keys")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out = run("set-keys")
    assert out["keys_stored"] == ["openai"]
    assert providers.get_api_key("openai") == KEY
    assert KEY not in json.dumps(IntegrationProvider.get("global", "openai").attribute_values, default=str)
    assert out["models_in_use"]["image"].startswith("dall-e-3 (openai, key set")  # not Runware's default
    monkeypatch.setenv("RUNWARE_API_KEY", "rw-" + KEY)
    assert run("set-keys")["models_in_use"]["image"].startswith("runware:97@1 (runware, key set")


def test_set_default_model_changes_the_default_and_refuses_an_unknown_model(platform):
    out = run("set-default-model", "gpt-4o", "bria:10@1")
    assert out["defaults"]["text"] == "gpt-4o" and out["defaults"]["image"] == "bria:10@1"
    with pytest.raises(SystemExit, match="not found"):
        run("set-default-model", "no-such-model")


def test_grant_credits_writes_a_ledger_entry_with_the_reason_once_per_key(platform, register):
    from chalicelib.models.billing import CreditLedgerEntry
    from chalicelib.services import credits

    member = register()
    before = credits.balances(member.account_id)["content"]["available"]
    out = run("grant-credits", member.email, "--type", "content", "--amount", "40", "--reason", "launch gift",
              "--key", "launch-1")
    assert out["granted"] is True and out["balance"]["available"] == before + 40
    again = run("grant-credits", member.account_id, "--type", "content", "--amount", "40", "--reason", "launch gift",
                "--key", "launch-1")
    assert again["granted"] is False and credits.balances(member.account_id)["content"]["available"] == before + 40
    entry = CreditLedgerEntry.get(member.account_id, out["entry_key"])
    assert (entry.note, entry.operation, int(entry.pack_delta)) == ("launch gift", "operator_grant", 40)
    with pytest.raises(SystemExit, match="Unknown credit type"):
        run("grant-credits", member.email, "--type", "gold", "--amount", "1", "--reason", "x")
    with pytest.raises(SystemExit, match="reason"):
        run("grant-credits", member.email, "--type", "idea", "--amount", "1", "--reason", " ")


def test_show_reports_keys_defaults_and_the_models_in_use(platform):
    out = run("show")
    assert out["keys"] == {"openai": False, "runware": False}
    assert out["defaults"]["image"] == "runware:97@1"
    assert "no key: offline provider" in out["models_in_use"]["image"]


def test_a_stage_points_a_fresh_process_at_its_tables_and_secrets_key():
    probe = ("import os, json; from infra import admin; print(admin.configure('prod')); "
             "from chalicelib.models.accounts import User; "
             "print(json.dumps([os.environ['APP_STAGE'], os.environ['SECRETS_KMS_KEY_ID'], User.Meta.table_name]))")
    env = {k: v for k, v in os.environ.items() if k not in ("APP_STAGE", "RESOURCE_PREFIX", "SECRETS_KMS_KEY_ID")}
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert "tables seo-prod-*" in out[0]
    assert json.loads(out[1]) == ["prod", "alias/seo-prod-secrets", "seo-prod-users"]


def test_an_unknown_stage_is_named():
    with pytest.raises(admin.AdminError, match="no stage 'nope'"):
        admin.configure("nope")


def test_the_local_stage_reads_the_running_stacks_environment(tmp_path, monkeypatch):
    with pytest.raises(admin.AdminError, match="make run"):
        admin.configure("local", tmp_path)
    (tmp_path / "stack.env").write_text("AWS_ENDPOINT_URL=http://127.0.0.1:5999\nRESOURCE_PREFIX=seo-dev\n")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "unchanged")
    monkeypatch.setenv("RESOURCE_PREFIX", "unchanged")
    assert admin.configure("local", tmp_path) == "local stack at http://127.0.0.1:5999 (tables seo-dev-*)"
