"""The cloud template, generated from the registry and merged into Chalice's own template.

No network and no AWS: Chalice's template is made in-process (``infra.cloud.chalice_sam``)
and merged the way ``chalice package --merge-template`` merges it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chalice import Chalice

from chalicelib.registry import DEAD_LETTER_QUEUES, QUEUES, table_models
from infra.cloud import chalice_sam, console_site, template
from infra.cloud.functions import all_functions, load_chalice_config, names
from infra.cloud.package import check_template
from infra.console_headers import STATIC_HEADERS, content_security_policy

STAGE = "prod"


@pytest.fixture(scope="module")
def merged() -> dict[str, Any]:
    return chalice_sam.merged_template(STAGE)


@pytest.fixture(scope="module")
def resources(merged: dict[str, Any]) -> dict[str, Any]:
    return merged["Resources"]


@pytest.fixture(scope="module")
def registered() -> dict[str, str]:
    return template.registered_functions()


def _of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in resources.items() if v["Type"] == kind}


def test_every_resource_is_typed_and_every_sqs_source_reports_batch_failures(merged: dict[str, Any]) -> None:
    assert check_template(merged) == []


def test_a_table_per_model_with_keys_indexes_billing_pitr_encryption(resources: dict[str, Any]) -> None:
    tables = {r["Properties"]["TableName"]: r for r in _of_type(resources, "AWS::DynamoDB::Table").values()}
    stage_names = names(STAGE)
    assert len(tables) == len(table_models()) == len(stage_names.tables)
    for info in stage_names.tables:
        assert info.name.startswith("seo-prod-")
        props = tables[info.name]["Properties"]
        schema = info.model._get_schema()
        keys = {k["AttributeName"]: k["KeyType"] for k in schema["key_schema"]}
        assert props["KeySchema"][0]["KeyType"] == "HASH"
        assert {k["AttributeName"]: k["KeyType"] for k in props["KeySchema"]} == keys
        expected_indexes = {i["index_name"]: i for i in schema["global_secondary_indexes"]}
        got = {i["IndexName"]: i for i in props.get("GlobalSecondaryIndexes", [])}
        assert set(got) == set(expected_indexes), info.name
        for name, index in got.items():
            assert index["KeySchema"][0]["KeyType"] == "HASH"
            assert {k["AttributeName"]: k["KeyType"] for k in index["KeySchema"]} == \
                {k["AttributeName"]: k["KeyType"] for k in expected_indexes[name]["key_schema"]}
            assert index["Projection"] == expected_indexes[name]["projection"]
        key_attributes = set(keys) | {k["AttributeName"] for i in got.values() for k in i["KeySchema"]}
        assert {d["AttributeName"] for d in props["AttributeDefinitions"]} == key_attributes
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert "ProvisionedThroughput" not in props
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"] == {"SSEEnabled": True}
        # prod data outlives the stack, but a first create that rolls back leaves nothing behind
        assert tables[info.name]["DeletionPolicy"] == "RetainExceptOnCreate"
        assert tables[info.name]["UpdateReplacePolicy"] == "Retain"
        assert props["DeletionProtectionEnabled"] == {"Fn::If": [template.DELETION_PROTECTION_CONDITION, True, False]}


def test_ttl_where_the_model_declares_it(resources: dict[str, Any]) -> None:
    tables = {r["Properties"]["TableName"]: r["Properties"]
              for r in _of_type(resources, "AWS::DynamoDB::Table").values()}
    with_ttl = {name: p["TimeToLiveSpecification"] for name, p in tables.items() if "TimeToLiveSpecification" in p}
    assert with_ttl["seo-prod-sessions"] == {"AttributeName": "expires_epoch", "Enabled": True}
    for info in names(STAGE).tables:
        assert (info.name in with_ttl) == (template.ttl_attribute(info.model) is not None)


def test_queues_have_dlqs_redrive_and_six_times_the_function_timeout(resources: dict[str, Any]) -> None:
    queues = {r["Properties"]["QueueName"]: (k, r["Properties"])
              for k, r in _of_type(resources, "AWS::SQS::Queue").items()}
    settings = load_chalice_config()["stages"][STAGE]["lambda_functions"]
    assert len(queues) == 2 * len(QUEUES)
    for info in names(STAGE).queues:
        assert info.name.startswith("seo-prod-")
        _, props = queues[info.name]
        dlq_id, dlq = queues[info.dlq_name]
        assert props["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
                                          "maxReceiveCount": info.max_receive_count}
        assert props["VisibilityTimeout"] >= 6 * settings[info.handler_name]["lambda_timeout"]
        assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
        assert props["SqsManagedSseEnabled"] and dlq["SqsManagedSseEnabled"]


def test_each_dead_letter_consumer_drains_its_dlq_from_the_one_registry_declaration(
        resources: dict[str, Any], registered: dict[str, str]) -> None:
    """registry.DEAD_LETTER_QUEUES -> a function on the DLQ (no queue of its own), a visibility timeout
    six times its timeout, its role reading that DLQ only; every stage queue and the publish queue has one."""
    stage_names = names(STAGE)
    settings = load_chalice_config()["stages"][STAGE]["lambda_functions"]
    queues = {r["Properties"]["QueueName"]: (k, r["Properties"])
              for k, r in _of_type(resources, "AWS::SQS::Queue").items()}
    consumers = {q.dead_letters_of: q for q in DEAD_LETTER_QUEUES}
    assert set(consumers) == {q.key for q in QUEUES if q.key != "automation_events"}
    for key, consumer in consumers.items():
        fn = next(f for f in all_functions() if f.queue_key == consumer.key)
        assert fn.name in registered, f"app.py does not register {fn.name}: run `make manifest`"
        dlq_id, dlq = queues[stage_names.queue(key).dlq_name]
        assert stage_names.queue(consumer.key).name == stage_names.queue(key).dlq_name
        assert "RedrivePolicy" not in dlq  # a dead letter that stays is kept 14 days, retried by its consumer
        assert dlq["VisibilityTimeout"] >= 6 * settings[fn.name]["lambda_timeout"]
        function = resources[template.function_cfn_name(fn)]
        event = function["Properties"]["Events"][template.sqs_event_cfn_name(fn)]["Properties"]
        assert event["Queue"] == {"Fn::Sub": f"${{{dlq_id}.Arn}}"}
        assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        role = resources[template.role_cfn_name(fn)]["Properties"]["Policies"][0]["PolicyDocument"]
        consume = next(st for st in role["Statement"] if st["Sid"] == "ConsumeOwnQueue")
        assert consume["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:"
                                                  + stage_names.queue(consumer.key).name}


def test_a_too_short_visibility_timeout_is_refused() -> None:
    stage_names = names(STAGE)
    q = stage_names.queues[0]
    with pytest.raises(template.TemplateError, match="six times"):
        template.queue_resources(stage_names, {q.handler_name: q.visibility_timeout})


def test_sqs_functions_get_batch_failure_reporting_and_their_queue_by_arn(
        resources: dict[str, Any], registered: dict[str, str]) -> None:
    workers = [fn for fn in all_functions() if fn.kind == "worker" and fn.name in registered]
    assert workers, "the app registers no SQS worker"
    for fn in workers:
        function = resources[template.function_cfn_name(fn)]
        events = function["Properties"]["Events"]
        assert list(events) == [template.sqs_event_cfn_name(fn)]  # patched under Chalice's own name
        event = events[template.sqs_event_cfn_name(fn)]
        assert event["Type"] == "SQS"
        assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        queue = names(STAGE).queue(str(fn.queue_key))
        source = (template.dlq_cfn_name(queue.dead_letters_of) if queue.dead_letters_of
                  else template.queue_cfn_name(queue.key))
        assert event["Properties"]["Queue"] == {"Fn::Sub": f"${{{source}.Arn}}"}
        assert function["Properties"]["ReservedConcurrentExecutions"] == fn.reserved_concurrency
        # more pollers than reserved executions would throttle, and throttled batches count as receives
        assert event["Properties"]["ScalingConfig"]["MaximumConcurrency"] <= fn.reserved_concurrency


def test_functions_have_memory_timeouts_names_and_the_stack_environment(
        resources: dict[str, Any], registered: dict[str, str]) -> None:
    for fn in all_functions():
        if fn.name not in registered:
            continue
        props = resources[template.function_cfn_name(fn)]["Properties"]
        assert props["MemorySize"] == fn.memory_mb and props["Timeout"] == fn.timeout
        assert props["FunctionName"].startswith("seo-content-engine-prod")
        env = props["Environment"]["Variables"]
        assert env["APP_STAGE"] == "prod" and env["RESOURCE_PREFIX"] == "seo-prod"
        assert env["MEDIA_BUCKET"] == {"Ref": "MediaBucket"}
        assert env["SECRETS_KMS_KEY_ID"] == {"Fn::GetAtt": ["SecretsKey", "Arn"]}
        assert env["POWERTOOLS_SERVICE_NAME"] and env["POWERTOOLS_METRICS_NAMESPACE"]
        # only the API signs tokens: the secret is a NoEcho parameter, never in a file
        assert ("APP_SIGNING_SECRET" in env) == (fn.kind == "api")
        assert props["Tracing"] == "Active"
        role = resources[template.role_cfn_name(fn)]
        assert props["Role"] == {"Fn::GetAtt": [template.role_cfn_name(fn), "Arn"]}
        assert role["Type"] == "AWS::IAM::Role"
        log_group = resources[template.log_group_cfn_name(fn)]
        assert log_group["Properties"]["LogGroupName"] == f"/aws/lambda/{props['FunctionName']}"
        assert template.log_group_cfn_name(fn) in resources[template.function_cfn_name(fn)]["DependsOn"]


def test_signing_secret_is_a_noecho_parameter(merged: dict[str, Any]) -> None:
    parameter = merged["Parameters"]["AppSigningSecret"]
    assert parameter["NoEcho"] is True and parameter["MinLength"] >= 32
    assert "Default" not in parameter


def test_media_bucket_is_private_encrypted_and_tls_only(resources: dict[str, Any]) -> None:
    bucket = resources["MediaBucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert bucket["OwnershipControls"]["Rules"][0]["ObjectOwnership"] == "BucketOwnerEnforced"
    statement = resources["MediaBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert "seo-prod-media" in bucket["BucketName"]["Fn::Sub"]


def test_kms_key_for_secrets(resources: dict[str, Any]) -> None:
    key = resources["SecretsKey"]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "RetainExceptOnCreate"
    assert key["UpdateReplacePolicy"] == "Retain"
    assert resources["SecretsKeyAlias"]["Properties"] == {"AliasName": "alias/seo-prod-secrets",
                                                          "TargetKeyId": {"Ref": "SecretsKey"}}


def test_alarms_on_dlqs_worker_errors_and_api_5xx(resources: dict[str, Any], registered: dict[str, str]) -> None:
    alarms = _of_type(resources, "AWS::CloudWatch::Alarm").values()
    dlq_alarms = [a["Properties"] for a in alarms
                  if a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"]
    dlq_ids = {a["Dimensions"][0]["Value"]["Fn::GetAtt"][0] for a in dlq_alarms}
    assert dlq_ids == {template.dlq_cfn_name(q.key) for q in QUEUES}
    for a in dlq_alarms:
        assert a["Threshold"] == 0 and a["ComparisonOperator"] == "GreaterThanThreshold"
        assert a["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    error_alarms = {a["Properties"]["Dimensions"][0]["Value"]["Ref"] for a in alarms
                    if a["Properties"]["MetricName"] == "Errors"}
    assert error_alarms == {template.function_cfn_name(fn) for fn in all_functions()
                            if fn.name in registered and fn.kind != "api"}
    api = [a["Properties"] for a in alarms if a["Properties"]["MetricName"] == "5XXError"]
    assert len(api) == 1
    dims = {d["Name"]: d["Value"] for d in api[0]["Dimensions"]}
    assert dims == {"ApiName": resources["RestAPI"]["Properties"]["Name"], "Stage": "api"}


def test_dashboard_is_valid_json(resources: dict[str, Any]) -> None:
    body = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body.replace("${AWS::Region}", "us-east-1"))["widgets"]
    titles = {w["properties"]["title"] for w in widgets}
    assert {"Dead-letter queues", "Function errors", "API requests and errors", "Credits spent"} <= titles
    assert "${" not in body.replace("${AWS::Region}", "")


def test_roles_carry_exact_arns_of_the_stack(resources: dict[str, Any], registered: dict[str, str]) -> None:
    for fn in all_functions():
        if fn.name not in registered:
            continue
        document = resources[template.role_cfn_name(fn)]["Properties"]["Policies"][0]["PolicyDocument"]
        text = json.dumps(document)
        assert "arn:aws:dynamodb:*:*" not in text and "${AWS::AccountId}" in text
        kms = next(s for s in document["Statement"] if s["Sid"] == "SecretsKey")
        assert kms["Resource"] == {"Fn::GetAtt": ["SecretsKey", "Arn"]} and "Condition" not in kms


def test_the_generator_refuses_functions_the_registry_does_not_know() -> None:
    rogue = Chalice(app_name="rogue")

    @rogue.on_sqs_message(queue="somewhere", name="worker_unknown")
    def worker_unknown(event: Any) -> None:  # pragma: no cover - never invoked
        return None

    @rogue.schedule("rate(1 hour)", name="tick_unknown")
    def tick_unknown(event: Any) -> None:  # pragma: no cover
        return None

    found = template.registered_functions(rogue)
    assert found == {"worker_unknown": "worker", "tick_unknown": "schedule"}
    with pytest.raises(template.TemplateError, match="worker_unknown"):
        template.build(STAGE, registered=found)


def test_schedules_and_not_yet_registered_workers_are_handled_when_they_appear() -> None:
    everything = {fn.name: fn.kind for fn in all_functions()}
    built = template.build(STAGE, registered=everything)["Resources"]
    for fn in all_functions():
        assert template.function_cfn_name(fn) in built
        if fn.kind == "schedule":
            assert f"Alarm{template.camel(fn.name)}Errors" in built


def test_stateful_resources_survive_a_stack_deletion_but_not_a_failed_first_create(
        resources: dict[str, Any]) -> None:
    stateful = {k: r for k, r in resources.items()
                if r["Type"] in ("AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::KMS::Key")}
    assert len(stateful) == len(table_models()) + 3  # the media and console buckets, the key
    assert {r["DeletionPolicy"] for r in stateful.values()} == {"RetainExceptOnCreate"}


def test_table_deletion_protection_is_a_parameter_true_unless_the_deploy_says_first_create(
        merged: dict[str, Any]) -> None:
    parameter = merged["Parameters"][template.DELETION_PROTECTION_PARAMETER]
    assert parameter["Default"] == "true" and parameter["AllowedValues"] == ["true", "false"]
    assert merged["Conditions"][template.DELETION_PROTECTION_CONDITION] == {
        "Fn::Equals": [{"Ref": template.DELETION_PROTECTION_PARAMETER}, "true"]}


def test_dev_data_goes_with_its_stack() -> None:
    dev = chalice_sam.merged_template("dev")
    tables = _of_type(dev["Resources"], "AWS::DynamoDB::Table").values()
    assert {t["DeletionPolicy"] for t in tables} == {"Delete"}
    assert not any("DeletionProtectionEnabled" in t["Properties"] for t in tables)
    assert template.DELETION_PROTECTION_PARAMETER not in dev["Parameters"]


def test_api_stage_throttling_with_defaults_the_deployer_may_change(merged: dict[str, Any]) -> None:
    settings = merged["Resources"]["RestAPI"]["Properties"]["MethodSettings"]
    assert settings == [{"ResourcePath": "/*", "HttpMethod": "*",
                         "ThrottlingRateLimit": {"Ref": template.THROTTLING_RATE_PARAMETER},
                         "ThrottlingBurstLimit": {"Ref": template.THROTTLING_BURST_PARAMETER}}]
    rate = merged["Parameters"][template.THROTTLING_RATE_PARAMETER]
    burst = merged["Parameters"][template.THROTTLING_BURST_PARAMETER]
    assert (rate["Default"], burst["Default"]) == (template.THROTTLING_RATE_DEFAULT, template.THROTTLING_BURST_DEFAULT)
    assert 0 < template.THROTTLING_RATE_DEFAULT <= template.THROTTLING_BURST_DEFAULT


def test_the_deployers_api_settings_are_parameters_that_reach_only_the_api_function(
        merged: dict[str, Any]) -> None:
    from chalicelib import config

    assert {variable for variable, _ in template.API_SETTING_PARAMETERS.values()} == {
        "RATE_LIMITS", "SIGNUP_MODE", "CORS_ALLOWED_ORIGINS", "WEB_APP_URL"}
    assert template.API_SETTING_PARAMETERS["SignupMode"][1]["AllowedValues"] == list(config.SIGNUP_MODES)
    api_env = merged["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    for parameter, (variable, declared) in template.API_SETTING_PARAMETERS.items():
        assert merged["Parameters"][parameter] == declared
        assert api_env[variable] == {"Ref": parameter}
        workers = [r for k, r in merged["Resources"].items()
                   if r["Type"] == "AWS::Serverless::Function" and k != "APIHandler"]
        assert workers and not any(variable in w["Properties"].get("Environment", {}).get("Variables", {})
                                   for w in workers)


def test_the_mail_settings_reach_only_the_mail_worker(merged: dict[str, Any]) -> None:
    functions = {k: r for k, r in merged["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    mail = next(k for k, r in functions.items() if r["Properties"]["FunctionName"].endswith("worker_mail"))
    for parameter, (variable, declared) in template.MAIL_SETTING_PARAMETERS.items():
        assert merged["Parameters"][parameter] == declared
        assert functions[mail]["Properties"]["Environment"]["Variables"][variable] == {"Ref": parameter}
        assert not any(variable in r["Properties"].get("Environment", {}).get("Variables", {})
                       for k, r in functions.items() if k != mail)


@pytest.mark.parametrize("value, ok", [("", True), ("off", True), ("jobs=5/60", True),
                                       ("jobs=5/60,keyword_imports=off,automation_runs=1/3600", True),
                                       ("job=5/60", False), ("jobs=5", False), ("jobs=0/60", False),
                                       ("jobs=5/60,", False), ("jobs=5/60; rm", False)])
def test_cloudformation_refuses_a_rate_limits_value_the_api_could_not_read(value: str, ok: bool) -> None:
    import re

    from chalicelib.services import rate_limits

    assert bool(re.fullmatch(template.RATE_LIMITS_PATTERN, value)) is ok
    if ok:
        rate_limits.parse(value)  # what the pattern lets through, the API reads


@pytest.mark.parametrize("value, ok", [("", True), ("https://app.example.com", True),
                                       ("https://app.example.com,http://localhost:5173", True),
                                       ("*", False), ("app.example.com", False), ("https://a.example.com/path", False)])
def test_cloudformation_refuses_a_cors_value_that_is_not_a_list_of_origins(value: str, ok: bool) -> None:
    import re

    assert bool(re.fullmatch(template.CORS_ORIGINS_PATTERN, value)) is ok


def test_the_template_is_within_cloudformations_limits_with_room_to_grow(merged: dict[str, Any]) -> None:
    from infra.cloud import sam_transform

    measured = sam_transform.measure(merged, STAGE)
    assert measured.problems() == []
    # sent through S3: inline, CloudFormation stops at 51,200 bytes
    assert measured.template_bytes > sam_transform.TEMPLATE_BODY_MAX_BYTES
    assert measured.resource_types["AWS::DynamoDB::Table"] == len(table_models())
    assert measured.resource_types["AWS::Lambda::EventSourceMapping"] == len(
        [fn for fn in all_functions() if fn.kind == "worker" and fn.name in template.registered_functions()])
    # the budget is enforced: a template past 80% of a limit is refused
    tight = sam_transform.Measure(template_bytes=800_001, transformed_bytes=0, resources=401, resource_types={})
    assert len(tight.problems()) == 2


# --- the web console: S3 behind CloudFront, /v1/* to the API --------------------------------------

def _distribution(resources: dict[str, Any]) -> dict[str, Any]:
    return resources[console_site.DISTRIBUTION]["Properties"]["DistributionConfig"]


def test_the_console_is_served_from_its_bucket_and_v1_goes_to_the_api_on_the_same_origin(
        resources: dict[str, Any]) -> None:
    config = _distribution(resources)
    origins = {o["Id"]: o for o in config["Origins"]}
    files = origins[console_site.FILES_ORIGIN]
    assert files["DomainName"] == {"Fn::GetAtt": [console_site.BUCKET, "RegionalDomainName"]}
    assert files["OriginAccessControlId"] == {"Fn::GetAtt": [console_site.ORIGIN_ACCESS, "Id"]}
    api = origins[console_site.API_ORIGIN]
    assert api["DomainName"] == {"Fn::Sub": "${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    assert api["OriginPath"] == "/" + load_chalice_config()["stages"][STAGE]["api_gateway_stage"]
    assert api["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    default = config["DefaultCacheBehavior"]
    assert (default["TargetOriginId"], default["ViewerProtocolPolicy"]) == (console_site.FILES_ORIGIN,
                                                                            "redirect-to-https")
    assert default["AllowedMethods"] == ["GET", "HEAD"] and default["Compress"] is True
    assert default["ResponseHeadersPolicyId"] == {"Ref": console_site.HEADERS_POLICY}
    assert config["DefaultRootObject"] == "index.html"
    [v1] = config["CacheBehaviors"]
    assert v1["PathPattern"] == "/v1/*" and v1["TargetOriginId"] == console_site.API_ORIGIN
    assert set(v1["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
    # never cached; every viewer header (Authorization), cookie (the refresh cookie) and query string, but Host
    assert v1["CachePolicyId"] == console_site.CACHING_DISABLED
    assert v1["OriginRequestPolicyId"] == console_site.ALL_VIEWER_EXCEPT_HOST
    assert v1["ViewerProtocolPolicy"] == "https-only"  # a redirect would turn a POST into a GET


def test_the_console_bucket_is_private_and_readable_by_this_distribution_alone(resources: dict[str, Any]) -> None:
    bucket = resources[console_site.BUCKET]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert "BucketName" not in bucket  # named by CloudFormation: a bucket kept from a deleted stack blocks nothing
    statements = resources[console_site.BUCKET_POLICY]["Properties"]["PolicyDocument"]["Statement"]
    [allow] = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"} and allow["Action"] == "s3:GetObject"
    assert allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"].endswith(
        f"distribution/${{{console_site.DISTRIBUTION}}}")
    [deny] = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    access = resources[console_site.ORIGIN_ACCESS]["Properties"]["OriginAccessControlConfig"]
    assert (access["OriginAccessControlOriginType"], access["SigningBehavior"]) == ("s3", "always")


def test_the_console_carries_the_same_headers_as_locally(resources: dict[str, Any]) -> None:
    config = resources[console_site.HEADERS_POLICY]["Properties"]["ResponseHeadersPolicyConfig"]
    security = config["SecurityHeadersConfig"]
    csp = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    media = template.media_bucket_name(names(STAGE))
    assert csp == content_security_policy(f"https://{media}.s3.amazonaws.com",
                                          f"https://{media}.s3.${{AWS::Region}}.amazonaws.com")
    assert resources["MediaBucket"]["Properties"]["BucketName"] == {"Fn::Sub": media}
    served = {"X-Content-Type-Options": "nosniff" if security["ContentTypeOptions"]["Override"] else None,
              "Referrer-Policy": security["ReferrerPolicy"]["ReferrerPolicy"],
              "X-Frame-Options": security["FrameOptions"]["FrameOption"]}
    assert served == STATIC_HEADERS
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 365 * 24 * 3600
    assert all(header["Override"] for header in security.values())


def test_the_media_bucket_lets_the_console_read_images_and_nothing_more(resources: dict[str, Any]) -> None:
    [rule] = resources["MediaBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedMethods"] == ["GET", "HEAD"]
    assert rule["AllowedOrigins"] == ["https://*.cloudfront.net"]


def test_the_console_address_is_an_output(merged: dict[str, Any]) -> None:
    outputs = merged["Outputs"]
    assert outputs["ConsoleURL"]["Value"] == {"Fn::Sub": f"https://${{{console_site.DISTRIBUTION}.DomainName}}/"}
    assert outputs["ConsoleBucketName"]["Value"] == {"Ref": console_site.BUCKET}


def test_without_an_api_there_is_no_console() -> None:
    registered = {n: k for n, k in template.registered_functions().items() if k != "api"}
    built = template.build(STAGE, registered=registered)
    assert not any(name.startswith("Console") for name in built["Resources"])
    assert "CorsConfiguration" not in built["Resources"]["MediaBucket"]["Properties"]


def test_an_address_of_the_app_is_its_page_and_a_file_stays_a_file(resources: dict[str, Any], tmp_path: Path) -> None:
    """The e-mailed links open /accept-invite?token=...: CloudFront answers index.html, as the local server does.
    The function's own code, run by node with CloudFront's event shape."""
    import shutil
    import subprocess

    function = resources[console_site.ADDRESSES_FUNCTION]["Properties"]
    assert function["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0" and function["AutoPublish"] is True
    [association] = _distribution(resources)["DefaultCacheBehavior"]["FunctionAssociations"]
    assert association == {"EventType": "viewer-request", "FunctionARN": {
        "Fn::GetAtt": [console_site.ADDRESSES_FUNCTION, "FunctionMetadata.FunctionARN"]}}
    assert "FunctionAssociations" not in _distribution(resources)["CacheBehaviors"][0]  # /v1/* goes as it is
    node = shutil.which("node")
    assert node, "node is needed (make web installs the console with it)"
    script = tmp_path / "run.js"
    uris = ["/", "/accept-invite", "/reset-password", "/sites/abc/keywords", "/index.html", "/assets/index-1a2b.js",
            "/favicon.ico", "/assets/"]
    script.write_text(function["FunctionCode"] + "\nconsole.log(JSON.stringify(" + json.dumps(uris) +
                      ".map(u => handler({request: {uri: u, querystring: {token: {value: 't'}}}}).uri)));\n")
    out = json.loads(subprocess.run([node, str(script)], capture_output=True, text=True, check=True).stdout)
    assert dict(zip(uris, out, strict=True)) == {
        "/": "/", "/accept-invite": "/index.html", "/reset-password": "/index.html",
        "/sites/abc/keywords": "/index.html", "/index.html": "/index.html",
        "/assets/index-1a2b.js": "/assets/index-1a2b.js", "/favicon.ico": "/favicon.ico", "/assets/": "/index.html"}
