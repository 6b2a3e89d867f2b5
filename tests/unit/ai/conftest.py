"""A light AWS for the system module's unit tests: moto in-process with only the tables the
system services touch (plus plans and industries, which seeding writes), and a KMS key.

PynamoDB's clients are kept between tests: building one costs about 0.35 s here, and a
client made after moto was imported is intercepted by every later ``mock_aws``. Only a
client bound to an explicit endpoint (left by a DynamoDB Local test) is dropped.
"""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from chalicelib.models import accounts, modules, payments, system
from chalicelib.registry import table_models
from chalicelib.services.ttl_cache import clear_all

_MODULES = {system.__name__, modules.__name__}
_EXTRA = {accounts.Plan, accounts.Industry, payments.CreditPack}  # seeding writes plans and packs


def _models():
    return [m for m in table_models() if m.__module__ in _MODULES or m in _EXTRA]


@pytest.fixture
def system_db(monkeypatch):
    with mock_aws():
        for model in _models():
            if model._connection is not None and model._connection.connection.host:
                model._connection = None
            model.create_table(wait=False, billing_mode="PAY_PER_REQUEST")
        key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
        monkeypatch.setenv("SECRETS_KMS_KEY_ID", key_id)
        clear_all()
        yield key_id
    clear_all()
