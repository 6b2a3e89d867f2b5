"""The storage tier: every test here runs twice, on moto and on Amazon's DynamoDB Local.

DynamoDB Local is stricter than moto (as the real service is), so a query that only
moto accepts fails here. The JVM is started once per test session and stopped after.
"""

from __future__ import annotations

import os

import pytest
from moto import mock_aws

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


@pytest.fixture(params=["moto", pytest.param("dynamodb_local", marks=pytest.mark.ddb_local)])
def ddb(request):
    """Fresh tables on the chosen backend; yields the backend's name."""
    from chalicelib.services import ttl_cache

    ttl_cache.clear_all()
    if request.param == "moto":
        with mock_aws():
            provision.create_tables(wait=False, assume_empty=True)
            yield "moto"
        return
    endpoint = request.getfixturevalue("dynamodb_local_endpoint")
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    provision.reset_model_connections()
    try:
        provision.delete_tables()
        provision.create_tables()
        yield "dynamodb_local"
    finally:
        os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
        provision.reset_model_connections()
