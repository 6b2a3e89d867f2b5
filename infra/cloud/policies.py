"""IAM least privilege, generated from the registry: one policy per function and stage.

``python -m infra.cloud.policies`` writes ``.chalice/policy-<stage>-<function>.json`` and the
``lambda_functions`` block of every stage in ``.chalice/config.json`` (memory, timeout,
reserved concurrency, the policy file, ``autogen_policy: false``); ``--check`` only compares
(the tests run it, so the files never drift from the registry).

What each function may do:

- DynamoDB: exact item actions on tables named by ARN (``Query`` on their indexes); never
  ``Scan``, never a table-management action. The API may write every table; the pipeline
  functions (workers and schedules) write the pipeline's tables and only read the rest,
  and never see users, logins or sessions.
- SQS: ``SendMessage`` (+ ``GetQueueUrl``, the code finds queues by name) on the stage's
  work queues; a worker also receives/deletes from its own queue, which the event source
  mapping does with the function's role (a dead-letter consumer: the DLQ it drains). Nobody
  writes to a DLQ: SQS's redrive does.
- S3: get/put objects of the media bucket. KMS: the API encrypts and decrypts provider
  secrets, the pipeline only decrypts. SES: the mail worker, alone, sends e-mail from the
  account's verified identities (services.mail). Logs: the function's own log group. X-Ray: put
  segments (X-Ray has no resource-level permissions).

Two renderings of the same statements: the files (used by ``chalice deploy`` and embedded
by ``chalice package``) name resources with ``*`` for region and account and find the KMS
key by its alias; the template (``infra.cloud.template``) replaces each role's policy with
exact ARNs of the stack's own resources.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from infra.cloud.functions import (
    CHALICE_CONFIG,
    CHALICE_DIR,
    FunctionSpec,
    StageNames,
    all_functions,
    deployed_function_name,
    load_chalice_config,
    names,
    stages,
)

READ_ACTIONS = ("dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:Query")
WRITE_ACTIONS = tuple(sorted((*READ_ACTIONS, "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem",
                              "dynamodb:UpdateItem")))
INDEX_ACTIONS = ("dynamodb:Query",)
SEND_ACTIONS = ("sqs:GetQueueUrl", "sqs:SendMessage")
# What Lambda's event source mapping does with the function's role (AWSLambdaSQSQueueExecutionRole).
CONSUME_ACTIONS = ("sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage")
MEDIA_ACTIONS = ("s3:GetObject", "s3:PutObject")
# The deletions worker: a deleted site's files, found by listing its prefix.
MEDIA_DELETE_ACTIONS = ("s3:DeleteObject",)
MEDIA_LIST_ACTIONS = ("s3:ListBucket",)
DELETIONS_QUEUE = "deletions"
LOG_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
TRACE_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")
# The mail worker, and it alone, sends e-mail through SES (services.mail), from the account's identities.
MAIL_QUEUE = "mail"
MAIL_ACTIONS = ("ses:SendEmail",)


@dataclass(frozen=True)
class TableAccess:
    """Which tables a group of functions may touch, by models module (``MODEL_MODULES``)."""

    write_modules: frozenset[str]
    read_modules: frozenset[str]
    hidden_tables: frozenset[str] = frozenset()  # short names never granted, whatever the module
    all_tables: bool = False


API_ACCESS = TableAccess(frozenset(), frozenset(), all_tables=True)
# Workers and schedules: they write the pipeline's records and credits, read the account's
# sites and the platform configuration. Modules not built yet (publisher, automation) are
# listed so that adding their models needs no change here.
PIPELINE_ACCESS = TableAccess(
    write_modules=frozenset({"planner", "writer", "billing", "jobs", "publisher", "automation", "audit", "mail"}),
    read_modules=frozenset({"accounts", "system", "modules", "deletions"}),
    hidden_tables=frozenset({"users", "logins", "sessions", "api_keys", "api_key_prefixes", "invites", "user_tokens",
                             # payments (Stripe's records): only the API's webhook and billing routes
                             "stripe_events", "stripe_customers", "subscriptions", "invoices", "pack_purchases",
                             "credit_packs",
                             # per-account request counters: only the API's limited routes count
                             "rate_limits"}),
)
# The deletions worker deletes whatever a site owns, the site and its sectors (accounts) included.
DELETION_ACCESS = TableAccess(
    write_modules=PIPELINE_ACCESS.write_modules | {"accounts", "deletions"},
    read_modules=frozenset({"system", "modules"}),
    hidden_tables=PIPELINE_ACCESS.hidden_tables,
)
API_KMS_ACTIONS = ("kms:Decrypt", "kms:Encrypt")
PIPELINE_KMS_ACTIONS = ("kms:Decrypt",)


class PolicyError(RuntimeError):
    pass


class Arns(Protocol):
    def table(self, name: str) -> Any: ...
    def index(self, table: str, index: str) -> Any: ...
    def queue(self, name: str) -> Any: ...
    def media_objects(self) -> Any: ...
    def media_bucket(self) -> Any: ...
    def kms_key(self) -> Any: ...
    def kms_condition(self) -> dict[str, Any] | None: ...
    def log_group(self, function_name: str) -> Any: ...
    def mail_identities(self) -> Any: ...


@dataclass(frozen=True)
class FileArns:
    """ARNs for the policy files: the stage's names, any region and account."""

    names: StageNames

    def table(self, name: str) -> str:
        return f"arn:aws:dynamodb:*:*:table/{name}"

    def index(self, table: str, index: str) -> str:
        return f"arn:aws:dynamodb:*:*:table/{table}/index/{index}"

    def queue(self, name: str) -> str:
        return f"arn:aws:sqs:*:*:{name}"

    def media_objects(self) -> str:
        return f"arn:aws:s3:::{self.names.bucket_prefix}-*/*"

    def media_bucket(self) -> str:
        return f"arn:aws:s3:::{self.names.bucket_prefix}-*"

    def kms_key(self) -> str:
        return "arn:aws:kms:*:*:key/*"

    def kms_condition(self) -> dict[str, Any] | None:
        # The key's id is not known before it exists: grant it through its alias.
        return {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [self.names.kms_alias]}}

    def log_group(self, function_name: str) -> str:
        return f"arn:aws:logs:*:*:log-group:/aws/lambda/{function_name}:*"

    def mail_identities(self) -> str:
        return "arn:aws:ses:*:*:identity/*"


@dataclass(frozen=True)
class TemplateArns:
    """ARNs for the CloudFormation template: exact, of the stack's own resources."""

    names: StageNames
    bucket_logical_id: str = "MediaBucket"
    key_logical_id: str = "SecretsKey"

    def table(self, name: str) -> dict[str, str]:
        return {"Fn::Sub": f"arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/{name}"}

    def index(self, table: str, index: str) -> dict[str, str]:
        return {"Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:"
                           f"table/{table}/index/{index}"}

    def queue(self, name: str) -> dict[str, str]:
        return {"Fn::Sub": f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{name}"}

    def media_objects(self) -> dict[str, str]:
        return {"Fn::Sub": f"${{{self.bucket_logical_id}.Arn}}/*"}

    def media_bucket(self) -> dict[str, Any]:
        return {"Fn::GetAtt": [self.bucket_logical_id, "Arn"]}

    def kms_key(self) -> dict[str, Any]:
        return {"Fn::GetAtt": [self.key_logical_id, "Arn"]}

    def kms_condition(self) -> dict[str, Any] | None:
        return None

    def log_group(self, function_name: str) -> dict[str, str]:
        return {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:"
                           f"log-group:/aws/lambda/{function_name}:*"}

    def mail_identities(self) -> dict[str, str]:
        return {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"}


def table_access(fn: FunctionSpec) -> TableAccess:
    if fn.kind == "api":
        return API_ACCESS
    # The deletions DLQ's consumer resumes a deletion: it writes the Deletion as the worker does.
    return DELETION_ACCESS if fn.queue_key in (DELETIONS_QUEUE, f"{DELETIONS_QUEUE}_dlq") else PIPELINE_ACCESS


def granted_tables(fn: FunctionSpec, stage_names: StageNames) -> tuple[list[str], list[str]]:
    """(tables written, tables only read) by ``fn``, as short names."""
    access = table_access(fn)
    write: list[str] = []
    read: list[str] = []
    for table in stage_names.tables:
        if table.short_name in access.hidden_tables:
            continue
        if access.all_tables or table.module in access.write_modules:
            write.append(table.short_name)
        elif table.module in access.read_modules:
            read.append(table.short_name)
        else:
            raise PolicyError(
                f"models module {table.module!r} (table {table.short_name}) is not classified for {fn.kind} "
                "functions: add it to PIPELINE_ACCESS in infra/cloud/policies.py (write or read), then run "
                "`python -m infra.cloud.policies`")
    return write, read


def statements(fn: FunctionSpec, stage: str, stage_names: StageNames, arns: Arns,
               cfg: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    write, read = granted_tables(fn, stage_names)
    out: list[dict[str, Any]] = []

    def add(sid: str, actions: Sequence[str], resources: list[Any], condition: dict[str, Any] | None = None) -> None:
        if not resources:
            return
        statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions),
                                     "Resource": resources if len(resources) > 1 else resources[0]}
        if condition:
            statement["Condition"] = condition
        out.append(statement)

    tables = {t.short_name: t for t in stage_names.tables}
    add("TablesReadWrite", WRITE_ACTIONS, [arns.table(tables[s].name) for s in write])
    add("TablesRead", READ_ACTIONS, [arns.table(tables[s].name) for s in read])
    add("IndexesQuery", INDEX_ACTIONS, [arns.index(tables[s].name, i) for s in write + read
                                        for i in tables[s].index_names])
    add("SendToWorkQueues", SEND_ACTIONS, [arns.queue(q.name) for q in stage_names.queues])
    if fn.kind == "worker":
        own = stage_names.queue(str(fn.queue_key))
        add("ConsumeOwnQueue", CONSUME_ACTIONS, [arns.queue(own.name)])
    add("MediaObjects", MEDIA_ACTIONS, [arns.media_objects()])
    if fn.queue_key == DELETIONS_QUEUE:
        add("MediaDelete", MEDIA_DELETE_ACTIONS, [arns.media_objects()])
        add("MediaList", MEDIA_LIST_ACTIONS, [arns.media_bucket()])
    if fn.queue_key == MAIL_QUEUE:
        add("SendMail", MAIL_ACTIONS, [arns.mail_identities()])
    add("SecretsKey", API_KMS_ACTIONS if fn.kind == "api" else PIPELINE_KMS_ACTIONS, [arns.kms_key()],
        arns.kms_condition())
    add("OwnLogGroup", LOG_ACTIONS, [arns.log_group(deployed_function_name(stage, fn, cfg))])
    add("Tracing", TRACE_ACTIONS, ["*"])
    return out


def policy_document(fn: FunctionSpec, stage: str, arns: Arns | None = None,
                    cfg: dict[str, Any] | None = None) -> dict[str, Any]:
    cfg = cfg or load_chalice_config()
    stage_names = names(stage, cfg)
    return {"Version": "2012-10-17",
            "Statement": statements(fn, stage, stage_names, arns or FileArns(stage_names), cfg)}


def policy_filename(stage: str, fn: FunctionSpec) -> str:
    return f"policy-{stage}-{fn.name}.json"


def lambda_settings(stage: str, fn: FunctionSpec) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "lambda_memory_size": fn.memory_mb,
        "lambda_timeout": fn.timeout,
        "autogen_policy": False,
        "iam_policy_file": policy_filename(stage, fn),
    }
    if fn.reserved_concurrency is not None:
        settings["reserved_concurrency"] = fn.reserved_concurrency
    return settings


def render(cfg: dict[str, Any] | None = None) -> tuple[dict[str, str], dict[str, Any]]:
    """(policy file name -> text, the config.json with every stage's lambda_functions)."""
    cfg = json.loads(json.dumps(cfg or load_chalice_config()))
    files: dict[str, str] = {}
    for stage in stages(cfg):
        functions: dict[str, Any] = {}
        for fn in all_functions():
            files[policy_filename(stage, fn)] = dumps(policy_document(fn, stage, cfg=cfg))
            functions[fn.name] = lambda_settings(stage, fn)
        cfg["stages"][stage]["lambda_functions"] = functions
    return files, cfg


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2) + "\n"


def stale(directory: Path = CHALICE_DIR, config_path: Path = CHALICE_CONFIG) -> list[str]:
    """Which generated files differ from what the registry gives (empty: all up to date)."""
    files, cfg = render(load_chalice_config(config_path))
    out = [name for name, text in files.items()
           if not (directory / name).exists() or (directory / name).read_text() != text]
    out += [p.name for p in directory.glob("policy-*.json") if p.name not in files]
    if config_path.read_text() != dumps(cfg):
        out.append(config_path.name)
    return sorted(out)


def write(directory: Path = CHALICE_DIR, config_path: Path = CHALICE_CONFIG) -> list[str]:
    files, cfg = render(load_chalice_config(config_path))
    changed = []
    for name, text in files.items():
        path = directory / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(name)
    for path in directory.glob("policy-*.json"):
        if path.name not in files:  # a function or stage that is gone
            path.unlink()
            changed.append(path.name)
    if config_path.read_text() != dumps(cfg):
        config_path.write_text(dumps(cfg))
        changed.append(config_path.name)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.cloud.policies", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files that differ (exit 1 if any)")
    args = parser.parse_args(argv)
    if args.check:
        differing = stale()
        for name in differing:
            print(f"stale: .chalice/{name} (run `python -m infra.cloud.policies`)", file=sys.stderr)
        return 1 if differing else 0
    for name in write():
        print(f"wrote .chalice/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
