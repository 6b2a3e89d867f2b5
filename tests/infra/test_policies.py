"""IAM least privilege: the policy files and per-function settings come from the registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.cloud import policies
from infra.cloud.functions import CHALICE_DIR, all_functions, function, load_chalice_config, names, stages

DATA_SERVICES = ("dynamodb:", "sqs:", "s3:", "kms:")
FORBIDDEN = {"dynamodb:Scan", "dynamodb:PartiQLSelect", "dynamodb:CreateTable", "dynamodb:DeleteTable",
             "dynamodb:UpdateTable", "sqs:PurgeQueue", "sqs:DeleteQueue", "s3:DeleteBucket", "kms:ScheduleKeyDeletion"}


def _documents() -> list[tuple[str, str, dict[str, Any]]]:
    return [(stage, fn.name, json.loads((CHALICE_DIR / policies.policy_filename(stage, fn)).read_text()))
            for stage in stages() for fn in all_functions()]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _resources(statement: dict[str, Any]) -> list[Any]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


def test_generated_files_match_the_registry() -> None:
    assert policies.stale() == [], "run `python -m infra.cloud.policies` (or make policies)"


def test_no_wildcard_action_and_never_scan() -> None:
    for stage, name, document in _documents():
        for statement in document["Statement"]:
            assert statement["Effect"] == "Allow"
            for action in _actions(statement):
                assert "*" not in action, (stage, name, action)
                assert action not in FORBIDDEN, (stage, name, action)
                assert not action.startswith("iam:"), (stage, name, action)


def test_data_resources_are_named_by_arn_with_the_stage_prefix() -> None:
    for stage, name, document in _documents():
        prefix = names(stage).prefix
        for statement in document["Statement"]:
            if not any(a.startswith(DATA_SERVICES) for a in _actions(statement)):
                continue
            for resource in _resources(statement):
                assert resource.startswith("arn:aws:"), (stage, name, resource)
                if resource.startswith(("arn:aws:dynamodb:", "arn:aws:sqs:", "arn:aws:s3:")):
                    assert f"{prefix}-" in resource, (stage, name, resource)
                if resource.startswith("arn:aws:kms:"):
                    # the key's id is unknown before it exists: granted through its alias only
                    assert statement["Condition"] == {
                        "ForAnyValue:StringEquals": {"kms:ResourceAliases": [f"alias/{prefix}-secrets"]}}


def test_only_xray_may_use_a_star_resource() -> None:
    for stage, name, document in _documents():
        for statement in document["Statement"]:
            if "*" in _resources(statement):
                assert all(a.startswith("xray:") for a in _actions(statement)), (stage, name)


def _statement(document: dict[str, Any], sid: str) -> dict[str, Any] | None:
    return next((s for s in document["Statement"] if s["Sid"] == sid), None)


def test_api_gets_every_table_and_encrypts_secrets_but_consumes_no_queue() -> None:
    api = policies.policy_document(function("api_handler"), "prod")
    tables = {r.rsplit("/", 1)[1] for r in _resources(_statement(api, "TablesReadWrite"))}
    assert tables == {t.name for t in names("prod").tables}
    assert _statement(api, "ConsumeOwnQueue") is None
    assert _actions(_statement(api, "SecretsKey")) == ["kms:Decrypt", "kms:Encrypt"]
    assert _actions(_statement(api, "SendToWorkQueues")) == ["sqs:GetQueueUrl", "sqs:SendMessage"]


def test_workers_consume_only_their_queue_and_never_see_users_or_sessions() -> None:
    stage_names = names("prod")
    for fn in all_functions():
        if fn.kind == "api":
            continue
        document = policies.policy_document(fn, "prod")
        text = json.dumps(document)
        for hidden in ("users", "logins", "sessions"):
            assert f"table/seo-prod-{hidden}\"" not in text, (fn.name, hidden)
        assert _actions(_statement(document, "SecretsKey")) == ["kms:Decrypt"]
        read = _statement(document, "TablesRead")
        assert read is not None and not any(a in _actions(read) for a in ("dynamodb:PutItem", "dynamodb:UpdateItem"))
        consume = _statement(document, "ConsumeOwnQueue")
        if fn.kind == "worker":
            own = stage_names.queue(str(fn.queue_key)).name
            assert _resources(consume) == [f"arn:aws:sqs:*:*:{own}"]
            assert _actions(consume) == ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
        else:
            assert consume is None
        sends = json.dumps(_statement(document, "SendToWorkQueues"))
        for q in stage_names.queues:  # nobody writes to a DLQ by hand: SQS's redrive does
            assert f":{q.dlq_name}\"" not in sends
            consumer = stage_names.dead_letter_consumer(q.key)
            # only a DLQ's own consumer reads it
            if f":{q.dlq_name}\"" in text:
                assert consumer is not None and fn.queue_key == consumer.key, (fn.name, q.dlq_name)


def test_every_stage_the_publish_and_the_deletions_queue_have_a_dead_letter_consumer_reading_its_dlq() -> None:
    stage_names = names("prod")
    consumed = {c.dead_letters_of: c for c in stage_names.dead_letter_consumers}
    assert set(consumed) == {"cluster_keywords", "generate_ideas", "create_tasks", "generate_content",
                             "generate_image_prompts", "generate_images", "publish_content", "deletions",
                             "mail"}
    for key, consumer in consumed.items():
        assert consumer.name == stage_names.queue(key).dlq_name
        fn = next(f for f in all_functions() if f.queue_key == consumer.key)
        consume = _statement(policies.policy_document(fn, "prod"), "ConsumeOwnQueue")
        assert _resources(consume) == [f"arn:aws:sqs:*:*:{consumer.name}"]


def test_only_the_mail_worker_sends_e_mail_and_only_from_the_accounts_ses_identities() -> None:
    senders = [fn.name for fn in all_functions()
               if _statement(policies.policy_document(fn, "prod"), "SendMail") is not None]
    assert senders == ["worker_mail"]
    fn = next(f for f in all_functions() if f.queue_key == "mail")
    send = _statement(policies.policy_document(fn, "prod"), "SendMail")
    assert _actions(send) == ["ses:SendEmail"] and _resources(send) == ["arn:aws:ses:*:*:identity/*"]


def test_an_unclassified_models_module_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    access = policies.TableAccess(write_modules=frozenset({"planner"}), read_modules=frozenset())
    monkeypatch.setattr(policies, "PIPELINE_ACCESS", access)
    worker = next(fn for fn in all_functions() if fn.kind == "worker")
    with pytest.raises(policies.PolicyError, match="not classified"):
        policies.granted_tables(worker, names("prod"))


def test_config_json_per_function_settings() -> None:
    cfg = load_chalice_config()
    for stage in stages(cfg):
        functions = cfg["stages"][stage]["lambda_functions"]
        for fn in all_functions():
            settings = functions[fn.name]
            assert settings["autogen_policy"] is False
            assert settings["iam_policy_file"] == policies.policy_filename(stage, fn)
            assert settings["lambda_memory_size"] == fn.memory_mb
            assert settings["lambda_timeout"] == fn.timeout
            if fn.kind == "worker":
                assert settings["reserved_concurrency"] >= 2  # SQS's MaximumConcurrency cannot go below 2
        assert cfg["stages"][stage]["environment_variables"]["RESOURCE_PREFIX"] == names(stage).prefix


def test_write_then_check_round_trip(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text((CHALICE_DIR / "config.json").read_text())
    (tmp_path / "policy-prod-gone.json").write_text("{}")
    changed = policies.write(tmp_path, tmp_path / "config.json")
    assert "policy-prod-gone.json" in changed and not (tmp_path / "policy-prod-gone.json").exists()
    assert policies.stale(tmp_path, tmp_path / "config.json") == []
