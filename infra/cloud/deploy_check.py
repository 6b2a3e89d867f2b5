"""``make deploy-check``: the stack, created in moto's CloudFormation, against the registry.

``python -m infra.cloud.deploy_check --stage prod``

1. The merged template (Chalice's + ours, made offline like ``chalice package`` makes it) is
   packaged (``CodeUri`` -> an object in an S3 bucket, as ``aws cloudformation package`` does) and
   put through the SAM transform (aws-sam-translator): the template CloudFormation would create.
2. That template is uploaded to moto's S3 and created as a stack by moto's CloudFormation
   (in-process, ``moto.mock_aws``), completed where moto falls short (``infra.cloud.moto_cfn``:
   every such type is named in the output).
3. What the stack made is read back through the services' APIs and compared with what
   ``chalicelib/registry.py`` and the models declare: every table (keys, indexes, billing, TTL,
   point-in-time recovery, encryption, deletion protection), every queue (its DLQ, redrive,
   visibility timeout), every worker (its event source mapping with ``ReportBatchItemFailures``,
   batch size, concurrency), every function's settings, every schedule, the bucket and its
   policy, the key, the alarms, the API (every route of the manifest) and its throttling.

Resources of the template that the stack does not hold are listed by logical id and type.
Exit status 1 on any difference.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from infra.cloud import console_site, moto_cfn, sam_transform, template
from infra.cloud.functions import (
    ROOT,
    FunctionSpec,
    all_functions,
    api_gateway_stage,
    deployed_function_name,
    load_chalice_config,
    names,
)

REGION = "us-east-1"
ARTEFACT_BUCKET = "deploy-check-artefacts"
ALARM_EMAIL = "ops@example.com"
SIGNING_SECRET = "deploy-check-" * 4


@dataclass
class Check:
    what: str
    problems: list[str]
    count: int  # how many things were compared


@dataclass
class Report:
    stage: str
    stack_status: str
    seconds: float
    created: dict[str, list[str]]  # type -> logical ids the stack holds
    not_created: dict[str, list[str]]  # type -> logical ids of a type moto can create that the stack lacks
    unsupported: dict[str, list[str]]  # type moto cannot create (and no supplement makes) -> logical ids
    supplemented: dict[str, list[str]]  # type -> logical ids made by infra.cloud.moto_cfn
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        # A type moto cannot create is listed (and what depends on it is unchecked), not a failure.
        return self.stack_status == "CREATE_COMPLETE" and not self.not_created and \
            all(not c.problems for c in self.checks)

    def lines(self) -> list[str]:
        out = [f"stack seo-content-engine-{self.stage} in moto's CloudFormation: {self.stack_status} "
               f"({sum(len(v) for v in self.created.values())} resources, {self.seconds:.1f}s)"]
        out.append("created by moto: " + ", ".join(
            f"{t} x{len(ids)}" for t, ids in sorted(self.created.items()) if t not in self.supplemented))
        for kind, ids in sorted(self.supplemented.items()):
            out.append(f"moto cannot create {kind}; made by infra.cloud.moto_cfn ({moto_cfn.SUPPLEMENTS[kind]}): "
                       + ", ".join(ids))
        for kind, why in moto_cfn.COMPLETIONS.items():
            out.append(f"moto's {kind} handler completed: {why}")
        for kind, why in moto_cfn.ADAPTATIONS.items():
            out.append(f"template adapted for moto: {kind}: {why}")
        for kind, ids in sorted(self.unsupported.items()):
            out.append(f"NOT CREATED, moto cannot create {kind} (not checked): " + ", ".join(ids))
        for kind, ids in sorted(self.not_created.items()):
            out.append(f"NOT CREATED by moto although it can create {kind}: " + ", ".join(ids))
        for check in self.checks:
            status = "ok" if not check.problems else f"{len(check.problems)} PROBLEMS"
            out.append(f"{check.what}: {check.count} compared, {status}")
            out += [f"  - {p}" for p in check.problems]
        out.append("deploy check: " + ("OK" if self.ok else "FAILED"))
        return out


def _code_zip() -> bytes:
    """What the functions' ``CodeUri`` points at: nothing runs in the check, so app.py alone."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(ROOT / "app.py", "app.py")
    return buffer.getvalue()


@contextmanager
def _isolated_env() -> Iterator[None]:
    """No local endpoint (the local stack's) and no real credentials reach the check."""
    names_ = [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")] + \
        ["AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"]
    saved = {n: os.environ.get(n) for n in names_}
    try:
        for n in names_:
            os.environ.pop(n, None)
        os.environ.update(AWS_ACCESS_KEY_ID="deploy-check", AWS_SECRET_ACCESS_KEY="deploy-check",  # noqa: S106 (moto)
                          AWS_DEFAULT_REGION=REGION)
        yield
    finally:
        for n, v in saved.items():
            if v is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = v


def _condition(value: Any, parameters: dict[str, str], conditions: dict[str, Any]) -> Any:
    """Evaluates the condition functions the template may use (for which resources to expect)."""
    if isinstance(value, dict):
        if "Ref" in value:
            return parameters[value["Ref"]]
        if "Condition" in value:
            return _condition(conditions[value["Condition"]], parameters, conditions)
        if "Fn::Equals" in value:
            a, b = (_condition(v, parameters, conditions) for v in value["Fn::Equals"])
            return str(a) == str(b)
        if "Fn::Not" in value:
            return not _condition(value["Fn::Not"][0], parameters, conditions)
        if "Fn::And" in value:
            return all(_condition(v, parameters, conditions) for v in value["Fn::And"])
        if "Fn::Or" in value:
            return any(_condition(v, parameters, conditions) for v in value["Fn::Or"])
        raise ValueError(f"condition function not evaluated: {value}")
    return value


def expected_resources(made: dict[str, Any], parameters: dict[str, str]) -> dict[str, str]:
    """Logical id -> type of every resource the stack should hold with these parameters."""
    params = {k: str(v.get("Default", "")) for k, v in made.get("Parameters", {}).items()}
    params.update(parameters)
    conditions = made.get("Conditions", {})
    return {logical: r["Type"] for logical, r in made["Resources"].items()
            if "Condition" not in r or _condition({"Condition": r["Condition"]}, params, conditions)}


def stack_parameters(made: dict[str, Any]) -> dict[str, str]:
    params = {template.SIGNING_SECRET_PARAMETER: SIGNING_SECRET, template.ALARM_EMAIL_PARAMETER: ALARM_EMAIL}
    if template.DELETION_PROTECTION_PARAMETER in made.get("Parameters", {}):
        params[template.DELETION_PROTECTION_PARAMETER] = "true"
    return params


def run(stage: str = "prod", merged: dict[str, Any] | None = None,
        registered: dict[str, str] | None = None) -> Report:
    from infra.cloud import chalice_sam

    started = time.perf_counter()
    if merged is None:
        merged = chalice_sam.merged_template(stage)
    if registered is None:
        registered = template.registered_functions()
    key = f"{stage}/deployment.zip"
    made = sam_transform.transform(sam_transform.packaged(merged, sam_transform.code_uri(ARTEFACT_BUCKET, key)),
                                   region=REGION)
    parameters = stack_parameters(made)
    expected = expected_resources(made, parameters)
    moto_types = moto_cfn.moto_types()
    stack_name = f"{template.app_name(load_chalice_config())}-{stage}"

    import boto3
    from moto import mock_aws

    with _isolated_env(), mock_aws(), moto_cfn.emulated_cloudformation():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=ARTEFACT_BUCKET)
        s3.put_object(Bucket=ARTEFACT_BUCKET, Key=key, Body=_code_zip())
        s3.put_object(Bucket=ARTEFACT_BUCKET, Key=f"{stage}/template.json",
                      Body=json.dumps(moto_cfn.adapt(made)).encode())
        cfn = boto3.client("cloudformation", region_name=REGION)
        cfn.create_stack(StackName=stack_name,
                         TemplateURL=f"https://{ARTEFACT_BUCKET}.s3.amazonaws.com/{stage}/template.json",
                         Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
                         Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        summaries = cfn.get_paginator("list_stack_resources").paginate(StackName=stack_name) \
            .build_full_result()["StackResourceSummaries"]
        held = {s["LogicalResourceId"]: s for s in summaries}
        created: dict[str, list[str]] = {}
        not_created: dict[str, list[str]] = {}
        unsupported: dict[str, list[str]] = {}
        supplemented: dict[str, list[str]] = {}
        for logical, kind in sorted(expected.items()):
            if logical in held:
                created.setdefault(kind, []).append(logical)
                if kind not in moto_types or kind in moto_cfn.SUPPLEMENTS:
                    supplemented.setdefault(kind, []).append(logical)
            elif kind in moto_types or kind in moto_cfn.SUPPLEMENTS:
                not_created.setdefault(kind, []).append(logical)
            else:
                unsupported.setdefault(kind, []).append(logical)
        report = Report(stage=stage, stack_status=stack["StackStatus"], seconds=0.0, created=created,
                        not_created=not_created, unsupported=unsupported, supplemented=supplemented)
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        functions = [fn for fn in all_functions() if fn.name in registered]
        report.checks = Comparison(stage, functions, outputs).all()
    report.seconds = time.perf_counter() - started
    return report


class Comparison:
    """What the stack made, read through the services' APIs, against the registry."""

    def __init__(self, stage: str, functions: list[FunctionSpec], outputs: dict[str, str]) -> None:
        import boto3

        self.stage = stage
        self.cfg = load_chalice_config()
        self.names = names(stage, self.cfg)
        self.functions = functions
        self.outputs = outputs
        self.client = {s: boto3.client(s, region_name=REGION) for s in
                       ("dynamodb", "sqs", "lambda", "events", "s3", "kms", "cloudwatch", "sns", "apigateway",
                        "cloudfront")}

    def all(self) -> list[Check]:
        return [self.tables(), self.queues(), self.workers(), self.function_settings(), self.schedules(),
                self.bucket(), self.key(), self.alarms(), self.api(), self.console()]

    # --- DynamoDB -------------------------------------------------------------------------------
    def tables(self) -> Check:
        ddb = self.client["dynamodb"]
        problems: list[str] = []
        existing = set(ddb.get_paginator("list_tables").paginate().build_full_result()["TableNames"])
        for info in self.names.tables:
            if info.name not in existing:
                problems.append(f"table {info.name} ({info.model.__name__}) does not exist")
                continue
            got = ddb.describe_table(TableName=info.name)["Table"]
            schema = info.model._get_schema()
            where = f"table {info.name}"
            if _keys(got["KeySchema"]) != _keys(schema["key_schema"]):
                problems.append(f"{where}: keys {_keys(got['KeySchema'])} != model {_keys(schema['key_schema'])}")
            for kind, got_kind in (("global_secondary_indexes", "GlobalSecondaryIndexes"),
                                   ("local_secondary_indexes", "LocalSecondaryIndexes")):
                want = {i["index_name"]: i for i in schema.get(kind, [])}
                have = {i["IndexName"]: i for i in got.get(got_kind, [])}
                if set(want) != set(have):
                    problems.append(f"{where}: {got_kind} {sorted(have)} != model {sorted(want)}")
                for name in set(want) & set(have):
                    if _keys(have[name]["KeySchema"]) != _keys(want[name]["key_schema"]):
                        problems.append(f"{where}.{name}: keys differ from the model")
                    if have[name]["Projection"]["ProjectionType"] != want[name]["projection"]["ProjectionType"]:
                        problems.append(f"{where}.{name}: projection differs from the model")
            if got.get("BillingModeSummary", {}).get("BillingMode") != "PAY_PER_REQUEST":
                problems.append(f"{where}: not on-demand")
            if got.get("SSEDescription", {}).get("Status") != "ENABLED":
                problems.append(f"{where}: not encrypted with SSE")
            protected = self.stage in template.RETAIN_STAGES
            if bool(got.get("DeletionProtectionEnabled")) != protected:
                problems.append(f"{where}: deletion protection {got.get('DeletionProtectionEnabled')}, "
                                f"expected {protected}")
            ttl = ddb.describe_time_to_live(TableName=info.name)["TimeToLiveDescription"]
            want_ttl = template.ttl_attribute(info.model)
            have_ttl = ttl.get("AttributeName") if ttl.get("TimeToLiveStatus") == "ENABLED" else None
            if have_ttl != want_ttl:
                problems.append(f"{where}: TTL on {have_ttl}, the model declares {want_ttl}")
            backups = ddb.describe_continuous_backups(TableName=info.name)["ContinuousBackupsDescription"]
            if backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] != "ENABLED":
                problems.append(f"{where}: point-in-time recovery off")
        extra = {t for t in existing if t.startswith(self.names.prefix + "-")} - {t.name for t in self.names.tables}
        if extra:
            problems.append(f"tables no model declares: {sorted(extra)}")
        return Check("tables (keys, indexes, billing, SSE, TTL, PITR, deletion protection) vs the models",
                     problems, len(self.names.tables))

    # --- SQS ------------------------------------------------------------------------------------
    def _queue(self, name: str) -> dict[str, str] | None:
        sqs = self.client["sqs"]
        try:
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            return None
        return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]

    def queues(self) -> Check:
        problems: list[str] = []
        for q in self.names.queues:
            attrs, dlq = self._queue(q.name), self._queue(q.dlq_name)
            if attrs is None or dlq is None:
                problems.append(f"queue {q.name} or its DLQ {q.dlq_name} does not exist")
                continue
            redrive = json.loads(attrs.get("RedrivePolicy", "{}"))
            if redrive.get("deadLetterTargetArn") != dlq["QueueArn"]:
                problems.append(f"queue {q.name}: redrive to {redrive.get('deadLetterTargetArn')}, not its DLQ")
            if int(redrive.get("maxReceiveCount", 0)) != q.max_receive_count:
                problems.append(f"queue {q.name}: maxReceiveCount {redrive.get('maxReceiveCount')} != "
                                f"{q.max_receive_count}")
            if int(attrs["VisibilityTimeout"]) != q.visibility_timeout:
                problems.append(f"queue {q.name}: visibility {attrs['VisibilityTimeout']} != {q.visibility_timeout}")
            if int(dlq["MessageRetentionPeriod"]) != template.DLQ_RETENTION_SECONDS:
                problems.append(f"DLQ {q.dlq_name}: retention {dlq['MessageRetentionPeriod']}")
            for name, a in ((q.name, attrs), (q.dlq_name, dlq)):
                if a.get("SqsManagedSseEnabled") != "true":
                    problems.append(f"queue {name}: not encrypted (SqsManagedSseEnabled)")
        return Check("queues (DLQ, redrive, max receives, visibility, retention, SSE) vs registry.QUEUES",
                     problems, len(self.names.queues))

    # --- Lambda ---------------------------------------------------------------------------------
    def _function_name(self, fn: FunctionSpec) -> str:
        return deployed_function_name(self.stage, fn, self.cfg)

    def workers(self) -> Check:
        from chalicelib import registry

        lam, problems = self.client["lambda"], []
        workers = [fn for fn in self.functions if fn.kind == "worker"]
        for fn in workers:
            q = registry.queue(str(fn.queue_key))
            mappings = lam.list_event_source_mappings(FunctionName=self._function_name(fn))["EventSourceMappings"]
            if len(mappings) != 1:
                problems.append(f"{fn.name}: {len(mappings)} event source mappings, expected 1")
                continue
            mapping = mappings[0]
            queue_arn = (self._queue(self.names.queue(q.key).name) or {}).get("QueueArn")
            where = f"{fn.name}'s event source"
            if mapping["EventSourceArn"] != queue_arn:
                problems.append(f"{where}: {mapping['EventSourceArn']} is not its queue {queue_arn}")
            if mapping.get("FunctionResponseTypes") != ["ReportBatchItemFailures"]:
                problems.append(f"{where}: FunctionResponseTypes {mapping.get('FunctionResponseTypes')}, not "
                                "[ReportBatchItemFailures] (a partial batch failure would delete failed messages too)")
            if mapping.get("BatchSize") != q.batch_size:
                problems.append(f"{where}: batch size {mapping.get('BatchSize')} != {q.batch_size}")
            want = max(2, q.reserved_concurrency)  # SQS's MaximumConcurrency cannot be below 2
            if (mapping.get("ScalingConfig") or {}).get("MaximumConcurrency") != want:
                problems.append(f"{where}: MaximumConcurrency {mapping.get('ScalingConfig')} != {want}")
        return Check("event source mappings (queue, ReportBatchItemFailures, batch size, concurrency) vs "
                     "registry.QUEUES", problems, len(workers))

    def function_settings(self) -> Check:
        lam, problems = self.client["lambda"], []
        for fn in self.functions:
            name = self._function_name(fn)
            try:
                got = lam.get_function(FunctionName=name)
            except lam.exceptions.ResourceNotFoundException:
                problems.append(f"function {name} does not exist")
                continue
            conf = got["Configuration"]
            if conf["Timeout"] != fn.timeout or conf["MemorySize"] != fn.memory_mb:
                problems.append(f"{name}: timeout/memory {conf['Timeout']}/{conf['MemorySize']} != "
                                f"{fn.timeout}/{fn.memory_mb}")
            reserved = got.get("Concurrency", {}).get("ReservedConcurrentExecutions")
            if reserved != fn.reserved_concurrency:
                problems.append(f"{name}: reserved concurrency {reserved} != {fn.reserved_concurrency}")
            env = conf.get("Environment", {}).get("Variables", {})
            if env.get("MEDIA_BUCKET") != self.outputs.get("MediaBucketName"):
                problems.append(f"{name}: MEDIA_BUCKET {env.get('MEDIA_BUCKET')} is not the stack's bucket")
            if env.get("SECRETS_KMS_KEY_ID") != self.outputs.get("SecretsKeyArn"):
                problems.append(f"{name}: SECRETS_KMS_KEY_ID is not the stack's key")
            if ("APP_SIGNING_SECRET" in env) != (fn.kind == "api"):
                problems.append(f"{name}: APP_SIGNING_SECRET {'missing' if fn.kind == 'api' else 'given'}")
            if env.get("RESOURCE_PREFIX") != self.names.prefix:
                problems.append(f"{name}: RESOURCE_PREFIX {env.get('RESOURCE_PREFIX')} != {self.names.prefix}")
        return Check("functions (timeout, memory, reserved concurrency, environment) vs the registry", problems,
                     len(self.functions))

    def schedules(self) -> Check:
        from chalicelib import registry

        events, problems = self.client["events"], []
        rules = events.list_rules()["Rules"]
        ticks = [fn for fn in self.functions if fn.kind == "schedule"]
        for fn in ticks:
            s = registry.schedule(str(fn.schedule_key))
            arn = self.client["lambda"].get_function(FunctionName=self._function_name(fn))["Configuration"][
                "FunctionArn"]
            targeted = [r for r in rules
                        if any(t["Arn"] == arn for t in events.list_targets_by_rule(Rule=r["Name"])["Targets"])]
            if [r.get("ScheduleExpression") for r in targeted] != [s.expression]:
                problems.append(f"{fn.name}: rules {[r.get('ScheduleExpression') for r in targeted]} != "
                                f"[{s.expression}]")
        return Check("schedules (EventBridge rule -> tick) vs registry.SCHEDULES", problems, len(ticks))

    # --- S3, KMS --------------------------------------------------------------------------------
    def bucket(self) -> Check:
        s3, problems = self.client["s3"], []
        name = self.outputs.get("MediaBucketName", "")
        if not name.startswith(self.names.bucket_prefix + "-"):
            return Check("media bucket", [f"bucket {name!r} is not {self.names.bucket_prefix}-<account>-<region>"], 1)
        block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        if not all(block.values()) or len(block) != 4:
            problems.append(f"public access not fully blocked: {block}")
        rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
        if rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] != "AES256":
            problems.append("bucket not encrypted with SSE-S3")
        policy = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
        arn = f"arn:aws:s3:::{name}"
        tls = [st for st in policy["Statement"] if st["Effect"] == "Deny"
               and st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"]
        if not tls or set(tls[0]["Resource"]) != {arn, f"{arn}/*"} or tls[0]["Principal"] != "*":
            problems.append(f"bucket policy does not deny plain HTTP on the bucket and its objects: {policy}")
        return Check("media bucket (public access block, SSE, TLS-only bucket policy)", problems, 1)

    def key(self) -> Check:
        kms, problems = self.client["kms"], []
        aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
        key_id = aliases.get(self.names.kms_alias)
        if key_id is None:
            problems.append(f"no alias {self.names.kms_alias}")
        else:
            meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
            if meta["Arn"] != self.outputs.get("SecretsKeyArn"):
                problems.append("the alias does not name the stack's key")
            if not kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]:
                problems.append("key rotation off")
        return Check("secrets key (alias, rotation)", problems, 1)

    # --- alarms, API ----------------------------------------------------------------------------
    def alarms(self) -> Check:
        cw, problems = self.client["cloudwatch"], []
        alarms = cw.get_paginator("describe_alarms").paginate().build_full_result()["MetricAlarms"]
        topic = self.outputs.get("AlarmTopicArn")

        def find(metric: str, dimension: str, value: str) -> list[dict[str, Any]]:
            return [a for a in alarms if a["MetricName"] == metric
                    and {"Name": dimension, "Value": value} in a["Dimensions"]]

        wanted = [("ApproximateNumberOfMessagesVisible", "QueueName", q.dlq_name) for q in self.names.queues]
        wanted += [("Errors", "FunctionName", self._function_name(fn)) for fn in self.functions if fn.kind != "api"]
        if any(fn.kind == "api" for fn in self.functions):
            wanted.append(("5XXError", "ApiName", template.rest_api_name(self.stage, self.cfg)))
        for metric, dimension, value in wanted:
            found = find(metric, dimension, value)
            if len(found) != 1:
                problems.append(f"{len(found)} alarms on {metric} of {value}, expected 1")
            elif found[0]["AlarmActions"] != [topic] or found[0]["OKActions"] != [topic]:
                problems.append(f"the alarm on {metric} of {value} does not notify the alarm topic")
        if len(alarms) != len(wanted):
            problems.append(f"{len(alarms)} alarms in all, expected {len(wanted)}")
        subscriptions = self.client["sns"].list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        if [(s["Protocol"], s["Endpoint"]) for s in subscriptions] != [("email", ALARM_EMAIL)]:
            problems.append(f"alarm topic subscriptions {subscriptions}, expected the AlarmEmail parameter")
        return Check("alarms (each DLQ, each worker's and tick's errors, API 5xx -> topic -> e-mail)", problems,
                     len(wanted))

    def api(self) -> Check:
        from chalicelib import manifest

        apigw, problems = self.client["apigateway"], []
        name = template.rest_api_name(self.stage, self.cfg)
        apis = [a for a in apigw.get_rest_apis()["items"] if a["name"] == name]
        if len(apis) != 1:
            return Check("API", [f"{len(apis)} REST APIs named {name}"], 1)
        api_id = apis[0]["id"]
        api_stage = self.cfg["stages"][self.stage].get("api_gateway_stage", self.cfg.get("api_gateway_stage", "api"))
        stage = apigw.get_stage(restApiId=api_id, stageName=api_stage)
        every = stage.get("methodSettings", {}).get("*/*", {})
        want = (float(template.THROTTLING_RATE_DEFAULT), template.THROTTLING_BURST_DEFAULT)
        if (every.get("throttlingRateLimit"), every.get("throttlingBurstLimit")) != want:
            problems.append(f"stage {api_stage} throttling {every}, expected rate/burst {want}")
        api_fn = next((fn for fn in self.functions if fn.kind == "api"), None)
        resources = apigw.get_paginator("get_resources").paginate(restApiId=api_id, embed=["methods"]) \
            .build_full_result()["items"]
        methods = {(r["path"], m): r["id"] for r in resources for m in r.get("resourceMethods", {})}
        routes = manifest.load()["routes"]
        if api_fn is not None:
            arn = self.client["lambda"].get_function(FunctionName=self._function_name(api_fn))["Configuration"][
                "FunctionArn"]
            for route in routes:
                key = (route["path"], route["method"])
                if key not in methods:
                    problems.append(f"route {route['method']} {route['path']} is not in the API")
                    continue
                uri = apigw.get_integration(restApiId=api_id, resourceId=methods[key],
                                            httpMethod=route["method"])["uri"]
                if arn not in uri:
                    problems.append(f"route {route['method']} {route['path']} does not call {arn}")
        return Check("API (every route of the manifest -> the API function; stage throttling)", problems,
                     len(routes) + 1)

    def console(self) -> Check:
        """The console's distribution: its files from the console bucket (CloudFront alone may read it),
        /v1/* to the API's stage uncached, the console's headers; the media bucket lets it read images."""
        cf, s3, problems = self.client["cloudfront"], self.client["s3"], []
        if not any(fn.kind == "api" for fn in self.functions):
            return Check("console", [], 0)
        distributions = (cf.list_distributions()["DistributionList"].get("Items") or [])
        if len(distributions) != 1:
            return Check("console", [f"{len(distributions)} CloudFront distributions, expected 1"], 1)
        dist = cf.get_distribution(Id=distributions[0]["Id"])["Distribution"]
        config = dist["DistributionConfig"]
        if self.outputs.get("ConsoleURL") != f"https://{dist['DomainName']}/":
            problems.append(f"ConsoleURL {self.outputs.get('ConsoleURL')} is not the distribution's domain")
        bucket = self.outputs.get("ConsoleBucketName", "")
        origins = {o["Id"]: o for o in config["Origins"]["Items"]}
        files = origins.get(console_site.FILES_ORIGIN, {})
        if files.get("DomainName") != f"{bucket}.s3.{REGION}.amazonaws.com":
            problems.append(f"the files' origin {files.get('DomainName')} is not the console bucket {bucket}")
        default = config["DefaultCacheBehavior"]
        if default["TargetOriginId"] != console_site.FILES_ORIGIN or default["ViewerProtocolPolicy"] == "allow-all":
            problems.append(f"the default behaviour does not serve the files over HTTPS: {default}")
        # moto's distribution keeps no function associations (tests/infra/test_template.py checks the
        # template's); the function itself must exist with the console's code.
        listed = (cf.list_functions().get("FunctionList") or {}).get("Items", [])
        code = [cf.get_function(Name=f["Name"])["FunctionCode"].read().decode() for f in listed]
        if code != [console_site.ADDRESSES_CODE]:
            problems.append(f"the console's address function is not the one made: {len(listed)} functions")
        headers = moto_cfn.RESPONSE_HEADERS_POLICIES.get(default.get("ResponseHeadersPolicyId") or "", {})
        csp = headers.get("SecurityHeadersConfig", {}).get("ContentSecurityPolicy", {}).get("ContentSecurityPolicy", "")
        media = self.outputs.get("MediaBucketName", "")
        if "script-src 'self'" not in csp or f"https://{media}.s3.{REGION}.amazonaws.com" not in csp:
            problems.append(f"the files' headers policy has no CSP for the console and the media bucket: {csp!r}")
        api_domain = f"{self._rest_api_id()}.execute-api.{REGION}.amazonaws.com"
        api_origin = origins.get(console_site.API_ORIGIN, {})
        want_path = f"/{api_gateway_stage(self.stage, self.cfg)}"
        if (api_origin.get("DomainName"), api_origin.get("OriginPath")) != (api_domain, want_path):
            problems.append(f"the API origin {api_origin.get('DomainName')}{api_origin.get('OriginPath')} is not "
                            f"{api_domain}{want_path}")
        behaviors = {b["PathPattern"]: b for b in (config.get("CacheBehaviors") or {}).get("Items", [])}
        v1 = behaviors.get(console_site.API_PATH)
        if v1 is None:
            problems.append(f"no behaviour for {console_site.API_PATH}")
        else:
            if v1["TargetOriginId"] != console_site.API_ORIGIN:
                problems.append(f"{console_site.API_PATH} goes to {v1['TargetOriginId']}, not the API")
            if set(v1["AllowedMethods"]["Items"]) != set(console_site.ALL_METHODS):
                problems.append(f"{console_site.API_PATH} allows {v1['AllowedMethods']['Items']} only")
            if (v1.get("CachePolicyId"), v1.get("OriginRequestPolicyId")) != (
                    console_site.CACHING_DISABLED, console_site.ALL_VIEWER_EXCEPT_HOST):
                problems.append(f"{console_site.API_PATH} is cached or does not pass the viewer's request on")
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) if bucket else {"Statement": []}
        reads = [st for st in policy["Statement"] if st["Effect"] == "Allow"]
        source = f"arn:aws:cloudfront::{dist['ARN'].split(':')[4]}:distribution/{dist['Id']}"
        if len(reads) != 1 or reads[0]["Principal"] != {"Service": "cloudfront.amazonaws.com"} or \
                reads[0]["Condition"]["StringEquals"]["AWS:SourceArn"] != source:
            problems.append(f"the console bucket is not readable by this distribution alone: {reads}")
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] if bucket else {}
        if not block or not all(block.values()):
            problems.append(f"the console bucket's public access is not blocked: {block}")
        cors = s3.get_bucket_cors(Bucket=media)["CORSRules"] if media else []
        if not any(set(r["AllowedMethods"]) == {"GET", "HEAD"} and r["AllowedOrigins"] for r in cors):
            problems.append(f"the media bucket does not let the console read images (CORS): {cors}")
        return Check("console (CloudFront: files from the console bucket with the console's headers and "
                     "addresses function, /v1/* to the API's stage uncached;"
                     " bucket readable by the distribution alone; media CORS)", problems, 1)

    def _rest_api_id(self) -> str:
        name = template.rest_api_name(self.stage, self.cfg)
        return next((a["id"] for a in self.client["apigateway"].get_rest_apis()["items"] if a["name"] == name), "?")


def _keys(schema: list[dict[str, str]]) -> dict[str, str]:
    return {k["AttributeName"]: k["KeyType"] for k in schema}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.cloud.deploy_check", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="prod")
    args = parser.parse_args(argv)
    report = run(args.stage)
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
