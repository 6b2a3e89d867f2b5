"""The merge template for ``chalice package --merge-template``, generated from the registry.

``python -m infra.cloud.template --stage prod --out build/prod/merge.json``

It adds what Chalice does not make:

- a DynamoDB table per PynamoDB model of ``MODEL_MODULES`` (keys, GSIs/LSIs, on-demand
  billing, point-in-time recovery, encryption, TTL where the model declares one),
- per ``registry.QUEUES`` entry a queue and its dead-letter queue (redrive after
  ``max_receive_count`` receives, visibility timeout six times the worker's timeout); a DLQ
  drained by a consumer of ``registry.DEAD_LETTER_QUEUES`` gets six times the consumer's timeout,
  and the consumer's event source mapping reads it,
- the private, encrypted media bucket (TLS only), the KMS key (+ alias) for provider secrets,
- the web console: its files in S3 behind CloudFront, ``/v1/*`` routed to the API
  (``infra.cloud.console_site``),
- alarms (each DLQ not empty, each worker's and tick's errors, API 5xx) to an SNS topic,
  and a dashboard,

and patches Chalice's own resources, under the names ``chalice package`` gives them:

- every SQS event source gets ``FunctionResponseTypes: [ReportBatchItemFailures]`` (Chalice
  cannot set it; without it a partial batch response deletes the failed messages too) and
  its queue by ``Fn::GetAtt``, so the queue exists before the mapping,
- every function gets its name (the one ``chalice deploy`` would use), the environment
  that depends on the stack (bucket, key, signing secret), and its role the exact-ARN
  rendering of its policy (``infra.cloud.policies``),
- the log groups Chalice creates are named literally and made before their function
  (Chalice's own name for the API's group refers to a resource that does not exist).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from chalicelib.services import rate_limits
from infra.cloud import console_site, policies, shared_statements
from infra.cloud.functions import (
    API_FUNCTION,
    FunctionSpec,
    StageNames,
    TableInfo,
    all_functions,
    api_gateway_stage,
    app_name,
    deployed_function_name,
    load_chalice_config,
    names,
    stage_environment,
    to_cfn_resource_name,
)

# Stages whose data outlives the stack: deleting the stack keeps tables, bucket and key.
RETAIN_STAGES = frozenset({"prod"})
# Kept on a stack deletion, but removed when the stack's first create rolls back: a failed first
# deploy leaves no table, bucket or key behind whose name would make the retry fail ("already exists").
RETAIN_EXCEPT_ON_CREATE = "RetainExceptOnCreate"
METRICS_NAMESPACE_DEFAULT = "SeoContentEngine"
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the longest SQS allows: time to look at a failure
QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
API_5XX_THRESHOLD = 5  # per 5 minutes
SIGNING_SECRET_PARAMETER = "AppSigningSecret"
ALARM_EMAIL_PARAMETER = "AlarmEmail"
# Tables refuse DeleteTable while deletion protection is on, rollbacks included: the deploy turns it
# on only once the stack exists (infra.cloud.deploy passes "false" to the first create).
DELETION_PROTECTION_PARAMETER = "TableDeletionProtection"
DELETION_PROTECTION_CONDITION = "ProtectTables"
# API Gateway stage throttling (every method): steady requests per second and burst. A client or a
# bug looping on the API is answered 429 before it costs Lambda and DynamoDB money; the defaults
# are far above what the load test needs (43 req/s) and far below the account's 10,000 req/s.
THROTTLING_RATE_PARAMETER = "ApiThrottlingRateLimit"
THROTTLING_BURST_PARAMETER = "ApiThrottlingBurstLimit"
THROTTLING_RATE_DEFAULT = 100
THROTTLING_BURST_DEFAULT = 200
# Settings of the API function a deployer chooses (parameter -> environment variable, chalicelib/config.py).
# Each is checked by CloudFormation (AllowedPattern/Values) before it reaches a function: a typo is a
# failed deploy, not every limited request answering 500.
RATE_LIMITS_PARAMETER = "RateLimits"
_BUCKET = "(" + "|".join(sorted(rate_limits.BUCKETS)) + ")=(off|[1-9][0-9]*/[1-9][0-9]*)"
RATE_LIMITS_PATTERN = rf"^(off|{_BUCKET}(,{_BUCKET})*)?$"
CORS_ORIGINS_PATTERN = r"^(https?://[A-Za-z0-9.-]+(:[0-9]+)?(,https?://[A-Za-z0-9.-]+(:[0-9]+)?)*)?$"
API_SETTING_PARAMETERS: dict[str, tuple[str, dict[str, Any]]] = {
    RATE_LIMITS_PARAMETER: ("RATE_LIMITS", {
        "Type": "String", "Default": "", "AllowedPattern": RATE_LIMITS_PATTERN,
        "Description": "Per-account limits of the expensive routes, e.g. jobs=120/60,keyword_imports=60/60,"
                       "automation_runs=20/60 (requests/seconds); empty: those defaults; off: none "
                       "(docs/deploy.md, 'Safe by default')"}),
    "SignupMode": ("SIGNUP_MODE", {
        "Type": "String", "Default": "open", "AllowedValues": ["open", "invite-only", "closed"],
        "Description": "Who may create an account with POST /v1/auth/register: anyone (open) or nobody "
                       "(invite-only: people join accounts by invite; closed: the operator creates accounts)"}),
    "CorsAllowedOrigins": ("CORS_ALLOWED_ORIGINS", {
        "Type": "String", "Default": "", "AllowedPattern": CORS_ORIGINS_PATTERN,
        "Description": "Comma-separated origins (https://app.example.com) whose browser pages may call the API; "
                       "empty: none"}),
    "WebAppUrl": ("WEB_APP_URL", {
        "Type": "String", "Default": "",
        "Description": "The web app's public base URL, for the links e-mails carry (invites, password reset, "
                       "address confirmation); docs/accounts-and-mail.md"}),
}
# Settings of the mail worker (services.mail): who sends, and through which provider.
MAIL_QUEUE = "mail"
MAIL_SETTING_PARAMETERS: dict[str, tuple[str, dict[str, Any]]] = {
    "MailFrom": ("MAIL_FROM", {
        "Type": "String", "Default": "",
        "Description": "The sender of every e-mail, e.g. 'Acme <no-reply@acme.com>': an address or domain "
                       "verified in SES (or Resend)"}),
    "MailProvider": ("MAIL_PROVIDER", {
        "Type": "String", "Default": "ses", "AllowedValues": ["ses", "resend"],
        "Description": "ses, or resend (its API key: the resend integration provider, set by staff)"}),
}


class TemplateError(RuntimeError):
    pass


def camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.replace("-", "_").split("_") if part)


def function_cfn_name(fn: FunctionSpec) -> str:
    # Chalice's one special case: the API's function is "APIHandler", its role "ApiHandlerRole".
    return "APIHandler" if fn.kind == "api" else to_cfn_resource_name(fn.name)


def role_cfn_name(fn: FunctionSpec) -> str:
    return to_cfn_resource_name(f"{fn.name}_role")


def log_group_cfn_name(fn: FunctionSpec) -> str:
    return to_cfn_resource_name(f"{fn.name}_log_group")


def sqs_event_cfn_name(fn: FunctionSpec) -> str:
    return to_cfn_resource_name(f"{fn.name}-sqs-event-source")


def table_cfn_name(table: TableInfo) -> str:
    return f"Table{camel(table.short_name)}"


def queue_cfn_name(key: str) -> str:
    return f"Queue{camel(key)}"


def dlq_cfn_name(key: str) -> str:
    return f"Queue{camel(key)}Dlq"


# --- what the app registers ---------------------------------------------------------------

def registered_functions(chalice_app: Any = None) -> dict[str, str]:
    """Function name -> kind for every Lambda function the Chalice app defines."""
    from chalice.app import CloudWatchEventConfig, ScheduledEventConfig, SQSEventConfig

    if chalice_app is None:
        from app import app as chalice_app
    out: dict[str, str] = {}
    if chalice_app.routes:
        out[API_FUNCTION] = "api"
    for source in chalice_app.event_sources:
        if isinstance(source, SQSEventConfig):
            out[source.name] = "worker"
        elif isinstance(source, ScheduledEventConfig | CloudWatchEventConfig):
            out[source.name] = "schedule"
        else:
            out[source.name] = type(source).__name__
    for pure in chalice_app.pure_lambda_functions:
        out[pure.name] = "lambda"
    return out


def _check_registered(registered: dict[str, str]) -> list[FunctionSpec]:
    specs = {fn.name: fn for fn in all_functions()}
    problems = []
    for name, kind in registered.items():
        spec = specs.get(name)
        if spec is None:
            problems.append(f"the app defines function {name!r} ({kind}) that chalicelib.registry does not declare: "
                            "it would deploy with no policy, memory or timeout of its own")
        elif spec.kind != kind:
            problems.append(f"function {name!r} is a {kind} in the app but a {spec.kind} in the registry")
    if problems:
        raise TemplateError("; ".join(problems))
    return [specs[n] for n in specs if n in registered]


# --- resources ------------------------------------------------------------------------------

def _tags(stage_names: StageNames) -> list[dict[str, str]]:
    return [{"Key": "app", "Value": stage_names.app_name}, {"Key": "stage", "Value": stage_names.stage}]


def _retention(stage: str) -> dict[str, str]:
    if stage in RETAIN_STAGES:
        return {"DeletionPolicy": RETAIN_EXCEPT_ON_CREATE, "UpdateReplacePolicy": "Retain"}
    return {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"}


def _key_schema(entries: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    ordered = sorted(entries, key=lambda e: 0 if e["KeyType"] == "HASH" else 1)  # DynamoDB wants HASH first
    return [{"AttributeName": e["AttributeName"], "KeyType": e["KeyType"]} for e in ordered]


def ttl_attribute(model: type) -> str | None:
    """The TTL attribute: ``table_meta(..., ttl_attribute=...)`` or a PynamoDB ``TTLAttribute``."""
    from pynamodb.attributes import TTLAttribute

    declared = getattr(model.Meta, "ttl_attribute", None)
    if declared:
        return str(declared)
    for attr in model.get_attributes().values():  # type: ignore[attr-defined]
        if isinstance(attr, TTLAttribute):
            return str(attr.attr_name)
    return None


def table_resource(table: TableInfo, stage_names: StageNames) -> dict[str, Any]:
    schema = table.model._get_schema()  # type: ignore[attr-defined]
    definitions: dict[str, str] = {}
    for d in schema["attribute_definitions"]:
        definitions[d["AttributeName"]] = d["AttributeType"]
    props: dict[str, Any] = {
        "TableName": table.name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": _key_schema(schema["key_schema"]),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
        "Tags": _tags(stage_names),
    }
    for kind, prop in (("global_secondary_indexes", "GlobalSecondaryIndexes"),
                       ("local_secondary_indexes", "LocalSecondaryIndexes")):
        indexes = []
        for index in sorted(schema.get(kind, []), key=lambda i: i["index_name"]):
            for d in index.get("attribute_definitions", []):
                definitions[d["AttributeName"]] = d["AttributeType"]
            indexes.append({"IndexName": index["index_name"], "KeySchema": _key_schema(index["key_schema"]),
                            "Projection": index["projection"]})
        if indexes:
            props[prop] = indexes
    # Only key attributes may be defined (CloudFormation rejects unused definitions).
    used = {k["AttributeName"] for k in props["KeySchema"]}
    for prop in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        for index in props.get(prop, []):
            used |= {k["AttributeName"] for k in index["KeySchema"]}
    props["AttributeDefinitions"] = [{"AttributeName": n, "AttributeType": definitions[n]} for n in sorted(used)]
    ttl = ttl_attribute(table.model)
    if ttl:
        props["TimeToLiveSpecification"] = {"AttributeName": ttl, "Enabled": True}
    if stage_names.stage in RETAIN_STAGES:
        props["DeletionProtectionEnabled"] = {"Fn::If": [DELETION_PROTECTION_CONDITION, True, False]}
    return {"Type": "AWS::DynamoDB::Table", **_retention(stage_names.stage), "Properties": props}


def queue_resources(stage_names: StageNames, timeouts: dict[str, int]) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    for q in stage_names.queues:
        timeout = timeouts.get(q.handler_name, q.function_timeout)
        if q.visibility_timeout < 6 * timeout:
            raise TemplateError(f"queue {q.name}: visibility timeout {q.visibility_timeout}s is less than six times "
                                f"its worker's timeout ({timeout}s)")
        dlq_props: dict[str, Any] = {"QueueName": q.dlq_name, "MessageRetentionPeriod": DLQ_RETENTION_SECONDS,
                                     "SqsManagedSseEnabled": True, "Tags": _tags(stage_names)}
        consumer = stage_names.dead_letter_consumer(q.key)
        if consumer is not None:  # a function drains this DLQ (registry.DEAD_LETTER_QUEUES)
            consumer_timeout = timeouts.get(consumer.handler_name, consumer.function_timeout)
            if consumer.visibility_timeout < 6 * consumer_timeout:
                raise TemplateError(f"queue {consumer.name}: visibility timeout {consumer.visibility_timeout}s is less "
                                    f"than six times its consumer's timeout ({consumer_timeout}s)")
            dlq_props["VisibilityTimeout"] = consumer.visibility_timeout
        resources[dlq_cfn_name(q.key)] = {"Type": "AWS::SQS::Queue", "Properties": dlq_props}
        resources[queue_cfn_name(q.key)] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": q.name,
                "VisibilityTimeout": q.visibility_timeout,
                "MessageRetentionPeriod": QUEUE_RETENTION_SECONDS,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [dlq_cfn_name(q.key), "Arn"]},
                                  "maxReceiveCount": q.max_receive_count},
                "Tags": _tags(stage_names),
            },
        }
    return resources


def media_bucket_name(stage_names: StageNames) -> str:
    """The media bucket's name, as an ``Fn::Sub`` string: names are global, the account and region make
    the stage's name unique."""
    return f"{stage_names.bucket_prefix}-${{AWS::AccountId}}-${{AWS::Region}}"


def bucket_resources(stage_names: StageNames, *, console: bool = False) -> dict[str, Any]:
    cors = {"CorsConfiguration": console_site.media_cors()} if console else {}
    return {
        "MediaBucket": {
            "Type": "AWS::S3::Bucket",
            **_retention(stage_names.stage),
            "Properties": {
                "BucketName": {"Fn::Sub": media_bucket_name(stage_names)},
                "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                   "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]},
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "LifecycleConfiguration": {"Rules": [{"Id": "abort-incomplete-uploads", "Status": "Enabled",
                                                      "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}}]},
                "Tags": _tags(stage_names),
                **cors,
            },
        },
        "MediaBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "MediaBucket"},
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                    "Resource": [{"Fn::GetAtt": ["MediaBucket", "Arn"]}, {"Fn::Sub": "${MediaBucket.Arn}/*"}],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }]},
            },
        },
    }


def kms_resources(stage_names: StageNames) -> dict[str, Any]:
    return {
        "SecretsKey": {
            "Type": "AWS::KMS::Key",
            # Losing the key loses every stored provider secret: always kept (but a first create that
            # rolls back schedules it for deletion: it encrypted nothing yet).
            "DeletionPolicy": RETAIN_EXCEPT_ON_CREATE,
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Description": f"{stage_names.prefix}: provider secrets (API keys) at rest",
                "EnableKeyRotation": True,
                "PendingWindowInDays": 30,
                # The account administers the key; the functions' roles get Encrypt/Decrypt
                # through IAM (the key policy delegates to IAM, as AWS's default key policy does).
                "KeyPolicy": {"Version": "2012-10-17", "Statement": [{
                    "Sid": "AccountAdministersThroughIAM", "Effect": "Allow",
                    "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
                    "Action": "kms:*", "Resource": "*",
                }]},
                "Tags": _tags(stage_names),
            },
        },
        "SecretsKeyAlias": {
            "Type": "AWS::KMS::Alias",
            "Properties": {"AliasName": stage_names.kms_alias, "TargetKeyId": {"Ref": "SecretsKey"}},
        },
    }


def _alarm(description: str, namespace: str, metric: str, dimensions: list[dict[str, Any]], *, statistic: str,
           threshold: float, comparison: str = "GreaterThanThreshold") -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": dimensions,
            "Statistic": statistic,
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": comparison,
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": "AlarmTopic"}],
            "OKActions": [{"Ref": "AlarmTopic"}],
        },
    }


def alarm_resources(stage: str, stage_names: StageNames, functions: list[FunctionSpec],
                    cfg: dict[str, Any]) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "AlarmTopic": {"Type": "AWS::SNS::Topic",
                       "Properties": {"DisplayName": f"{stage_names.prefix} alarms", "Tags": _tags(stage_names)}},
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription", "Condition": "HasAlarmEmail",
            "Properties": {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email",
                           "Endpoint": {"Ref": ALARM_EMAIL_PARAMETER}},
        },
    }
    for q in stage_names.queues:
        consumed = stage_names.dead_letter_consumer(q.key) is not None
        resources[f"Alarm{camel(q.key)}DlqNotEmpty"] = _alarm(
            f"{q.dlq_name} holds messages whose worker died on all {q.max_receive_count} deliveries"
            + (": its consumer fails their items (worker_died); a message that stays is an item still held, or a "
               "consumer that fails" if consumed else ": look at them, then redrive"),
            "AWS/SQS", "ApproximateNumberOfMessagesVisible",
            [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_cfn_name(q.key), "QueueName"]}}],
            statistic="Maximum", threshold=0)
    for fn in functions:
        if fn.kind == "api":
            continue
        resources[f"Alarm{camel(fn.name)}Errors"] = _alarm(
            f"{deployed_function_name(stage, fn, cfg)} raised (a whole batch or tick failed)",
            "AWS/Lambda", "Errors", [{"Name": "FunctionName", "Value": {"Ref": function_cfn_name(fn)}}],
            statistic="Sum", threshold=0)
    if any(fn.kind == "api" for fn in functions):
        resources["AlarmApi5xx"] = _alarm(
            f"the API answered 5xx at least {API_5XX_THRESHOLD} times in 5 minutes",
            "AWS/ApiGateway", "5XXError", _api_dimensions(stage, cfg), statistic="Sum",
            threshold=API_5XX_THRESHOLD, comparison="GreaterThanOrEqualToThreshold")
    return resources


def rest_api_name(stage: str, cfg: dict[str, Any]) -> str:
    return f"{app_name(cfg)}-{stage}"


def _api_dimensions(stage: str, cfg: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Name": "ApiName", "Value": rest_api_name(stage, cfg)},
            {"Name": "Stage", "Value": api_gateway_stage(stage, cfg)}]


def dashboard_body(stage: str, stage_names: StageNames, functions: list[FunctionSpec],
                   cfg: dict[str, Any]) -> str:
    """The dashboard as JSON, for ``Fn::Sub`` (``${AWS::Region}`` is the only substitution)."""
    namespace = stage_environment(stage, cfg).get("POWERTOOLS_METRICS_NAMESPACE", METRICS_NAMESPACE_DEFAULT)
    region = "${AWS::Region}"
    fnames = [deployed_function_name(stage, fn, cfg) for fn in functions]
    api = _api_dimensions(stage, cfg)
    api_dims = [d for pair in api for d in (pair["Name"], pair["Value"])]
    service = stage_environment(stage, cfg).get("POWERTOOLS_SERVICE_NAME", stage_names.app_name)

    def metric_widget(title: str, metrics: list[list[Any]], *, stat: str = "Sum", width: int = 12,
                      x: int = 0, y: int = 0) -> dict[str, Any]:
        return {"type": "metric", "x": x, "y": y, "width": width, "height": 6,
                "properties": {"title": title, "region": region, "stat": stat, "period": 300, "view": "timeSeries",
                               "stacked": False, "metrics": metrics}}

    def search(expression: str, label: str, stat: str = "Sum") -> list[Any]:
        return [{"expression": f"SEARCH('{expression}', '{stat}', 300)", "label": label, "id": label}]

    widgets = [
        metric_widget("API requests and errors", [
            ["AWS/ApiGateway", "Count", *api_dims], ["AWS/ApiGateway", "4XXError", *api_dims],
            ["AWS/ApiGateway", "5XXError", *api_dims]], x=0, y=0),
        metric_widget("API latency (p50, p99)", [
            ["AWS/ApiGateway", "Latency", *api_dims, {"stat": "p50"}],
            ["AWS/ApiGateway", "Latency", *api_dims, {"stat": "p99"}]], stat="p99", x=12, y=0),
        metric_widget("Function errors", [["AWS/Lambda", "Errors", "FunctionName", n] for n in fnames], x=0, y=6),
        metric_widget("Function throttles", [["AWS/Lambda", "Throttles", "FunctionName", n] for n in fnames],
                      x=12, y=6),
        metric_widget("Function duration (p99)", [["AWS/Lambda", "Duration", "FunctionName", n] for n in fnames],
                      stat="p99", x=0, y=12),
        metric_widget("Concurrent executions", [["AWS/Lambda", "ConcurrentExecutions", "FunctionName", n]
                                                for n in fnames], stat="Maximum", x=12, y=12),
        metric_widget("Queue depth", [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.name]
                                      for q in stage_names.queues], stat="Maximum", x=0, y=18),
        metric_widget("Oldest message age (s)", [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q.name]
                                                 for q in stage_names.queues], stat="Maximum", x=12, y=18),
        metric_widget("Dead-letter queues", [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.dlq_name]
                                             for q in stage_names.queues], stat="Maximum", x=0, y=24),
        metric_widget("Stage throughput and failures", [
            *search(f'{{{namespace},service,stage}} service="{service}" MetricName="ItemsProcessed"', "processed"),
            *search(f'{{{namespace},service,stage}} service="{service}" MetricName="ItemsFailed"', "failed")],
            x=12, y=24),
        metric_widget("Credits spent", [
            *search(f'{{{namespace},service,credit_type}} service="{service}" MetricName="CreditsSpent"', "credits")],
            x=0, y=30),
        metric_widget("Publishing", [
            *search(f'{{{namespace},service,outcome}} service="{service}" MetricName="PublishOutcome"', "publish")],
            x=12, y=30),
    ]
    return json.dumps({"widgets": widgets}, separators=(",", ":"))


# --- patches to Chalice's resources ----------------------------------------------------------

def function_patches(stage: str, stage_names: StageNames, functions: list[FunctionSpec],
                     cfg: dict[str, Any]) -> dict[str, Any]:
    patches: dict[str, Any] = {}
    template_arns = policies.TemplateArns(stage_names)
    for fn in functions:
        cfn = function_cfn_name(fn)
        env: dict[str, Any] = {
            "MEDIA_BUCKET": {"Ref": "MediaBucket"},
            "SECRETS_KMS_KEY_ID": {"Fn::GetAtt": ["SecretsKey", "Arn"]},
        }
        if fn.kind == "api":
            # Only the API signs and checks tokens and cursors.
            env["APP_SIGNING_SECRET"] = {"Ref": SIGNING_SECRET_PARAMETER}
            env.update({var: {"Ref": parameter} for parameter, (var, _) in API_SETTING_PARAMETERS.items()})
        if fn.queue_key == MAIL_QUEUE:
            env.update({var: {"Ref": parameter} for parameter, (var, _) in MAIL_SETTING_PARAMETERS.items()})
        props: dict[str, Any] = {"FunctionName": deployed_function_name(stage, fn, cfg),
                                 "Environment": {"Variables": env}}
        if fn.kind == "worker":
            queue = stage_names.queue(str(fn.queue_key))
            source = dlq_cfn_name(queue.dead_letters_of) if queue.dead_letters_of else queue_cfn_name(queue.key)
            props["Events"] = {sqs_event_cfn_name(fn): {"Properties": {
                "Queue": {"Fn::Sub": f"${{{source}.Arn}}"},
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
            }}}
        patches[cfn] = {"DependsOn": [log_group_cfn_name(fn)], "Properties": props}
        patches[role_cfn_name(fn)] = {"Properties": {"Policies": [{
            "PolicyName": f"{role_cfn_name(fn)}Policy",
            "PolicyDocument": {"Version": "2012-10-17",
                               "Statement": policies.statements(fn, stage, stage_names, template_arns, cfg)},
        }]}}
        patches[log_group_cfn_name(fn)] = {"Properties": {
            "LogGroupName": f"/aws/lambda/{deployed_function_name(stage, fn, cfg)}"}}
    if any(fn.kind == "api" for fn in functions):
        patches["RestAPI"] = {"Properties": {"Name": rest_api_name(stage, cfg), "MethodSettings": [{
            "ResourcePath": "/*", "HttpMethod": "*",
            "ThrottlingRateLimit": {"Ref": THROTTLING_RATE_PARAMETER},
            "ThrottlingBurstLimit": {"Ref": THROTTLING_BURST_PARAMETER},
        }]}}
    return patches


# --- the whole template ----------------------------------------------------------------------

def build(stage: str, *, registered: dict[str, str] | None = None,
          cfg: dict[str, Any] | None = None) -> dict[str, Any]:
    """The merge template for ``stage``. ``registered``: the app's functions (default: import app)."""
    cfg = cfg or load_chalice_config()
    if stage not in cfg["stages"]:
        raise TemplateError(f"no stage {stage!r} in .chalice/config.json")
    stage_names = names(stage, cfg)
    functions = _check_registered(registered if registered is not None else registered_functions())
    settings = cfg["stages"][stage].get("lambda_functions", {})
    timeouts = {name: int(s.get("lambda_timeout", 60)) for name, s in settings.items()}
    for fn in functions:
        if settings.get(fn.name, {}).get("iam_policy_file") != policies.policy_filename(stage, fn):
            raise TemplateError(f".chalice/config.json has no generated settings for {fn.name} in stage {stage}: "
                                "run `python -m infra.cloud.policies`")

    resources: dict[str, Any] = {}
    for table in stage_names.tables:
        resources[table_cfn_name(table)] = table_resource(table, stage_names)
    resources.update(queue_resources(stage_names, timeouts))
    # The console is served beside the API (its /v1/* goes there): no API, no console.
    console = any(fn.kind == "api" for fn in functions)
    resources.update(bucket_resources(stage_names, console=console))
    if console:
        resources.update(console_site.resources(prefix=stage_names.prefix, media_bucket=media_bucket_name(stage_names),
                                                api_stage=api_gateway_stage(stage, cfg), tags=_tags(stage_names)))
    resources.update(kms_resources(stage_names))
    resources.update(alarm_resources(stage, stage_names, functions, cfg))
    resources["Dashboard"] = {"Type": "AWS::CloudWatch::Dashboard", "Properties": {
        "DashboardName": f"{stage_names.prefix}-{stage_names.app_name}",
        "DashboardBody": {"Fn::Sub": dashboard_body(stage, stage_names, functions, cfg)}}}
    clash = set(resources) & set(function_patches(stage, stage_names, functions, cfg))
    if clash:
        raise TemplateError(f"logical ids used twice: {sorted(clash)}")
    resources.update(function_patches(stage, stage_names, functions, cfg))
    shared_statements.share(resources)

    parameters: dict[str, Any] = {
        SIGNING_SECRET_PARAMETER: {
            "Type": "String", "NoEcho": True, "MinLength": 32,
            "Description": "Key for access tokens and pagination cursors (e.g. `openssl rand -base64 48`)",
        },
        ALARM_EMAIL_PARAMETER: {
            "Type": "String", "Default": "",
            "Description": "E-mail address for alarm notifications (empty: alarms only go to the SNS topic)",
        },
        THROTTLING_RATE_PARAMETER: {
            "Type": "Number", "Default": THROTTLING_RATE_DEFAULT, "MinValue": 1,
            "Description": "API Gateway stage throttling: steady requests per second (every method)",
        },
        THROTTLING_BURST_PARAMETER: {
            "Type": "Number", "Default": THROTTLING_BURST_DEFAULT, "MinValue": 1,
            "Description": "API Gateway stage throttling: burst of requests (every method)",
        },
        **{parameter: declared for parameter, (_, declared) in API_SETTING_PARAMETERS.items()},
        **{parameter: declared for parameter, (_, declared) in MAIL_SETTING_PARAMETERS.items()},
    }
    conditions: dict[str, Any] = {
        "HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": ALARM_EMAIL_PARAMETER}, ""]}]}}
    if stage in RETAIN_STAGES:
        parameters[DELETION_PROTECTION_PARAMETER] = {
            "Type": "String", "Default": "true", "AllowedValues": ["true", "false"],
            "Description": "Deletion protection on every table. `make deploy` gives false to the stack's first "
                           "create (a rollback must be able to delete the tables) and true afterwards",
        }
        conditions[DELETION_PROTECTION_CONDITION] = {"Fn::Equals": [{"Ref": DELETION_PROTECTION_PARAMETER}, "true"]}
    return {
        "Parameters": parameters,
        "Conditions": conditions,
        "Resources": resources,
        "Outputs": {
            "MediaBucketName": {"Value": {"Ref": "MediaBucket"}},
            "SecretsKeyArn": {"Value": {"Fn::GetAtt": ["SecretsKey", "Arn"]}},
            "SecretsKeyAlias": {"Value": stage_names.kms_alias},
            "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
            "DashboardName": {"Value": {"Ref": "Dashboard"}},
            **(console_site.outputs() if console else {}),
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.cloud.template", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--out", type=Path, help="write here (default: stdout)")
    args = parser.parse_args(argv)
    # The app is imported the way `chalice package` imports it: with the stage's environment.
    import os

    os.environ.update(stage_environment(args.stage))
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    try:
        template = build(args.stage)
    except (TemplateError, policies.PolicyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    text = json.dumps(template, indent=2) + "\n"
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"wrote {args.out} ({len(template['Resources'])} resources)")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
