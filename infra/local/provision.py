"""Create the registry's tables, queues and bucket on whatever endpoint boto3 points at.

Used by the local stack (moto's server or DynamoDB Local) and by the tests (moto
in-process); the cloud template is generated from the same registry.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

from chalicelib import config
from chalicelib.registry import QUEUES, dead_letter_queue_of, table_models


def reset_model_connections() -> None:
    """Forget PynamoDB's cached client so the models pick up a new endpoint."""
    from chalicelib import aws
    from chalicelib.models import connection

    for model in table_models():
        model._connection = None
    connection.reset()
    aws.reset()


def create_tables(*, wait: bool = True, assume_empty: bool = False) -> list[str]:
    """Create the tables that do not exist yet (``assume_empty`` skips the check)."""
    created = []
    for model in table_models():
        if assume_empty or not model.exists():
            model.create_table(wait=wait, billing_mode="PAY_PER_REQUEST")
            created.append(model.Meta.table_name)
    return created


def delete_tables() -> None:
    for model in table_models():
        if model.exists():
            model.delete_table()


def create_queues(sqs: Any | None = None) -> dict[str, str]:
    """Create every queue and its DLQ with the registry's redrive policy; return name -> url."""
    sqs = sqs or boto3.client("sqs", region_name=config.region())
    urls: dict[str, str] = {}
    for q in QUEUES:
        consumer = dead_letter_queue_of(q.key)
        dlq_attributes = {"MessageRetentionPeriod": "1209600"}
        if consumer is not None:
            dlq_attributes["VisibilityTimeout"] = str(consumer.visibility_timeout)
        dlq_url = sqs.create_queue(QueueName=q.dlq_name, Attributes=dlq_attributes)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = sqs.create_queue(QueueName=q.name, Attributes={
            "VisibilityTimeout": str(q.visibility_timeout),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(q.max_receive_count)}),
        })["QueueUrl"]
        urls[q.name] = url
        urls[q.dlq_name] = dlq_url
    return urls


def create_bucket(s3: Any | None = None) -> str:
    s3 = s3 or boto3.client("s3", region_name=config.region())
    name = config.bucket_name()
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if name not in existing:
        if config.region() == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": config.region()})
    return name


def create_mail_identity(sesv2: Any | None = None) -> str:
    """Verify the sender's domain in (moto's) SES, as a deployer does once in the console."""
    from email.utils import parseaddr

    sesv2 = sesv2 or boto3.client("sesv2", region_name=config.region())
    domain = parseaddr(config.mail_from())[1].rpartition("@")[2]
    existing = {i["IdentityName"] for i in sesv2.list_email_identities().get("EmailIdentities", [])}
    if domain not in existing:
        sesv2.create_email_identity(EmailIdentity=domain)
    return domain


def provision_all() -> dict[str, Any]:
    tables = create_tables()
    queues = create_queues()
    bucket = create_bucket()
    mail_identity = create_mail_identity()
    return {"tables_created": tables, "queues": queues, "bucket": bucket, "mail_identity": mail_identity}
