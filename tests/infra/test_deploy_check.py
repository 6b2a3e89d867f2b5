"""The stack, created from the transformed template in moto's CloudFormation, against the registry
(``make deploy-check``). No network and no AWS: moto in-process."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from chalicelib.registry import DEAD_LETTER_QUEUES, QUEUES, table_models
from infra.cloud import chalice_sam, deploy_check, moto_cfn, sam_transform, template
from infra.cloud.functions import names

STAGE = "prod"


@pytest.fixture(scope="module")
def merged() -> dict[str, Any]:
    return chalice_sam.merged_template(STAGE)


@pytest.fixture(scope="module")
def report(merged: dict[str, Any]) -> deploy_check.Report:
    return deploy_check.run(STAGE, merged=merged)


def _check(report: deploy_check.Report, prefix: str) -> deploy_check.Check:
    return next(c for c in report.checks if c.what.startswith(prefix))


def test_the_stack_is_created_and_everything_matches_the_registry(report: deploy_check.Report) -> None:
    assert report.ok, "\n".join(report.lines())
    assert report.stack_status == "CREATE_COMPLETE"
    assert _check(report, "tables").count == len(table_models()) == len(names(STAGE).tables)
    assert _check(report, "queues").count == len(QUEUES)
    assert _check(report, "event source mappings").count == len(
        [q for q in QUEUES + DEAD_LETTER_QUEUES if f"worker_{q.key}" in template.registered_functions()])
    # every alarm the template declares exists in CloudWatch (19 today)
    assert _check(report, "alarms").count == len(report.created["AWS::CloudWatch::Alarm"])


def test_every_resource_of_the_transformed_template_is_in_the_stack(report: deploy_check.Report,
                                                                    merged: dict[str, Any]) -> None:
    made = sam_transform.transform(sam_transform.packaged(merged, "s3://b/k"))
    expected = deploy_check.expected_resources(made, deploy_check.stack_parameters(made))
    assert sum(len(ids) for ids in report.created.values()) == len(expected)
    assert report.not_created == {} and report.unsupported == {}


def test_what_moto_cannot_do_is_named_in_the_output(report: deploy_check.Report) -> None:
    text = "\n".join(report.lines())
    assert set(report.supplemented) <= set(moto_cfn.SUPPLEMENTS)
    for kind, ids in report.supplemented.items():
        assert f"moto cannot create {kind}" in text
        assert all(logical in text for logical in ids)
    for kind in [*moto_cfn.COMPLETIONS, *moto_cfn.ADAPTATIONS]:
        assert kind in text


def _worker_event(resources: dict[str, Any]) -> dict[str, Any]:
    fn = next(r for r in resources.values() if r["Type"] == "AWS::Serverless::Function"
              and any(e["Type"] == "SQS" for e in r["Properties"].get("Events", {}).values()))
    return next(e for e in fn["Properties"]["Events"].values() if e["Type"] == "SQS")


def test_differences_from_the_registry_are_reported(merged: dict[str, Any]) -> None:
    broken = copy.deepcopy(merged)
    resources = broken["Resources"]
    _worker_event(resources)["Properties"].pop("FunctionResponseTypes")
    first = QUEUES[0]
    queue = resources[template.queue_cfn_name(first.key)]["Properties"]
    queue["RedrivePolicy"]["maxReceiveCount"] = first.max_receive_count + 1
    table = next(r for r in resources.values() if r["Type"] == "AWS::DynamoDB::Table"
                 and r["Properties"].get("GlobalSecondaryIndexes"))
    dropped = table["Properties"]["GlobalSecondaryIndexes"].pop()["IndexName"]
    dlq_alarm = f"Alarm{template.camel(first.key)}DlqNotEmpty"
    del resources[dlq_alarm]
    resources["RestAPI"]["Properties"]["MethodSettings"][0]["ThrottlingBurstLimit"] = 7
    resources["UnknownToMoto"] = {"Type": "AWS::WAFv2::IPSet", "Properties": {
        "Addresses": [], "IPAddressVersion": "IPV4", "Scope": "REGIONAL"}}

    report = deploy_check.run(STAGE, merged=broken)
    text = "\n".join(report.lines())
    assert not report.ok
    assert "ReportBatchItemFailures" in "\n".join(_check(report, "event source mappings").problems)
    assert f"maxReceiveCount {first.max_receive_count + 1}" in "\n".join(_check(report, "queues").problems)
    assert dropped in "\n".join(_check(report, "tables").problems)
    assert any(f"alarms on ApproximateNumberOfMessagesVisible of {names(STAGE).queue(first.key).dlq_name}" in p
               for p in _check(report, "alarms").problems)
    assert "throttling" in "\n".join(_check(report, "API").problems)
    assert report.unsupported == {"AWS::WAFv2::IPSet": ["UnknownToMoto"]}
    assert "NOT CREATED, moto cannot create AWS::WAFv2::IPSet (not checked): UnknownToMoto" in text
    assert text.endswith("deploy check: FAILED")
