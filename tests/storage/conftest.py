"""The storage tier: every test here runs twice, on moto and on Amazon's DynamoDB Local.

DynamoDB Local is stricter than moto (as the real service is), so a query that only
moto accepts fails here. The JVM is started once per test session and stopped after.
"""

from __future__ import annotations

import os

import boto3
import pytest
from moto import mock_aws

from chalicelib.registry import table_models
from infra.local import dynamodb_local, provision


@pytest.fixture(scope="session")
def dynamodb_local_endpoint():
    try:
        server = dynamodb_local.start()
    except dynamodb_local.DynamoDBLocalUnavailable as exc:
        if os.environ.get("CI") or os.environ.get("REQUIRE_DYNAMODB_LOCAL"):
            pytest.fail(f"DynamoDB Local is required here: {exc}")
        pytest.skip(f"DynamoDB Local unavailable: {exc}")
    yield server.endpoint
    server.stop()


class _Connections:
    """PynamoDB's cached clients per backend, swapped in and out instead of rebuilt.

    Building a botocore client costs ~0.1 s, and the models' table connections point at the
    process's shared client (chalicelib/models/connection.py): both are kept per backend.
    """

    def __init__(self) -> None:
        self.saved: dict[str, tuple[dict, dict]] = {}

    def switch(self, leaving: str, entering: str) -> None:
        from chalicelib.models import connection

        models = table_models()
        tables, clients = self.saved.get(entering, ({}, {}))
        self.saved[leaving] = ({m: m._connection for m in models}, connection.swap(clients))
        for model in models:
            model._connection = tables.get(model)


_connections = _Connections()


@pytest.fixture(scope="session")
def dynamodb_local_tables(dynamodb_local_endpoint):
    """Create every table once per session on DynamoDB Local; tests truncate them."""
    client = boto3.client("dynamodb", endpoint_url=dynamodb_local_endpoint, region_name="us-east-1")
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = dynamodb_local_endpoint
    _connections.switch("moto", "dynamodb_local")
    try:
        provision.delete_tables()
        provision.create_tables()
    finally:
        _connections.switch("dynamodb_local", "moto")
        os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
    keys = {}
    for model in table_models():
        schema = client.describe_table(TableName=model.Meta.table_name)["Table"]["KeySchema"]
        keys[model.Meta.table_name] = [k["AttributeName"] for k in schema]
    return client, keys


def _truncate(client, keys: dict[str, list[str]]) -> None:
    # Test set-up only: emptying tables between tests is the one place a Scan belongs.
    for table, key_names in keys.items():
        pages = client.get_paginator("scan").paginate(TableName=table, ProjectionExpression=", ".join(
            f"#k{i}" for i in range(len(key_names))), ExpressionAttributeNames={
            f"#k{i}": name for i, name in enumerate(key_names)})
        for page in pages:
            items = page.get("Items", [])
            for start in range(0, len(items), 25):
                client.batch_write_item(RequestItems={table: [
                    {"DeleteRequest": {"Key": item}} for item in items[start:start + 25]]})


@pytest.fixture(params=["moto", pytest.param("dynamodb_local", marks=pytest.mark.ddb_local)])
def ddb(request):
    """Fresh (empty) tables on the chosen backend; yields the backend's name."""
    from chalicelib.services import ttl_cache

    ttl_cache.clear_all()
    if request.param == "moto":
        with mock_aws():
            provision.create_tables(wait=False, assume_empty=True)
            yield "moto"
        return
    client, keys = request.getfixturevalue("dynamodb_local_tables")
    _truncate(client, keys)
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = client.meta.endpoint_url
    _connections.switch("moto", "dynamodb_local")
    try:
        yield "dynamodb_local"
    finally:
        _connections.switch("dynamodb_local", "moto")
        os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
        ttl_cache.clear_all()


@pytest.fixture(autouse=True)
def account_events_recorded(monkeypatch):
    """No SQS in this tier: an account event (services.account_events.emit) is recorded here, not sent."""
    from chalicelib.services import account_events

    emitted: list[tuple[str, str, str]] = []
    monkeypatch.setattr(account_events, "emit", lambda account_id, event, data, key, site_id=None:
                        emitted.append((account_id, event, key)))
    return emitted
