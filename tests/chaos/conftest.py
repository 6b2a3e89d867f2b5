"""The chaos tier: tables on Amazon's DynamoDB Local, SQS / S3 / KMS on moto in-process.

DynamoDB Local is started once per session (its own JVM, like tests/storage) and the tables
are created once; each test empties them. Every test leaves the PynamoDB clients reset, so
the moto tiers that run after it build their own.

Figures go through the ``report`` fixture of tests/conftest.py (printed at the end of the session).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest

from infra.local import dynamodb_local, provision


@pytest.fixture(scope="session")
def chaos_dynamodb() -> Iterator[tuple[str, dict[str, list[str]]]]:
    """DynamoDB Local with every registry table; yields (endpoint, table -> key names)."""
    from chalicelib.registry import table_models

    try:
        server = dynamodb_local.start()
    except dynamodb_local.DynamoDBLocalUnavailable as exc:
        if os.environ.get("CI") or os.environ.get("REQUIRE_DYNAMODB_LOCAL"):
            pytest.fail(f"DynamoDB Local is required here: {exc}")
        pytest.skip(f"DynamoDB Local unavailable: {exc}")
    try:
        with _dynamodb_at(server.endpoint):
            provision.create_tables()
        client = boto3.client("dynamodb", endpoint_url=server.endpoint, region_name="us-east-1")
        keys = {}
        for model in table_models():
            schema = client.describe_table(TableName=model.Meta.table_name)["Table"]["KeySchema"]
            keys[model.Meta.table_name] = [k["AttributeName"] for k in schema]
        yield server.endpoint, keys
    finally:
        server.stop()


class _dynamodb_at:  # noqa: N801 - used as a context manager, reads like one
    """Point PynamoDB (and every boto3 client made meanwhile) at ``endpoint``; forget those clients after."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def __enter__(self) -> None:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = self.endpoint
        provision.reset_model_connections()

    def __exit__(self, *exc: object) -> None:
        os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
        provision.reset_model_connections()


def _truncate(endpoint: str, keys: dict[str, list[str]]) -> None:
    # Test set-up only: emptying tables between tests is the one place a Scan belongs.
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    for table, key_names in keys.items():
        pages = client.get_paginator("scan").paginate(TableName=table, ProjectionExpression=", ".join(
            f"#k{i}" for i in range(len(key_names))), ExpressionAttributeNames={
            f"#k{i}": name for i, name in enumerate(key_names)})
        for page in pages:
            items = page.get("Items", [])
            for start in range(0, len(items), 25):
                client.batch_write_item(RequestItems={table: [
                    {"DeleteRequest": {"Key": item}} for item in items[start:start + 25]]})


@pytest.fixture
def chaos_aws(chaos_dynamodb, monkeypatch) -> Iterator[str]:
    """Empty tables on DynamoDB Local; queues, bucket and a KMS key on moto; platform data seeded."""
    from moto import mock_aws

    from chalicelib import timeutil
    from chalicelib.services import ttl_cache
    from chalicelib.services.plans import seed_builtin_plans
    from chalicelib.services.system_defaults import seed_system_defaults

    endpoint, keys = chaos_dynamodb
    _truncate(endpoint, keys)
    ttl_cache.clear_all()
    timeutil.reset()
    try:
        with _dynamodb_at(endpoint), mock_aws(config={"core": {"passthrough": {"urls": [rf"{endpoint}.*"]}}}):
            provision.create_queues()
            provision.create_bucket()
            provision.create_mail_identity()
            key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
            monkeypatch.setenv("SECRETS_KMS_KEY_ID", key_id)
            monkeypatch.setenv("PUBLIC_API_URL", "https://api.example.com")
            seed_builtin_plans()
            seed_system_defaults()
            ttl_cache.clear_all()
            yield endpoint
    finally:
        timeutil.reset()
        ttl_cache.clear_all()
