"""Every table reaches DynamoDB through one botocore client per process.

PynamoDB's default is a client per model class; each parses botocore's endpoint and service
data again (~9 MiB of Python objects): 50 tables held ~450 MiB traced, 1.1 GiB resident.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator

import pytest

from chalicelib.models import connection, transactions
from chalicelib.registry import table_models

MiB = 1024 * 1024


@pytest.fixture
def fresh_connections() -> Iterator[None]:
    """No client built yet (as in a new container); the suite's own clients are put back after."""
    models = table_models()
    saved_tables = {m: m._connection for m in models}
    saved = connection.swap({})
    for model in models:
        model._connection = None
    yield
    connection.swap(saved)
    for model in models:
        model._connection = saved_tables[model]


def test_every_table_and_every_transaction_share_one_connection(fresh_connections: None) -> None:
    shared = {id(model._get_connection().connection) for model in table_models()}
    assert shared == {id(connection.default())}
    assert transactions.connection() is connection.default()
    assert connection.count() == 1


def test_each_table_keeps_its_own_schema_on_the_shared_connection(fresh_connections: None) -> None:
    for model in table_models():
        meta = model._get_connection().get_meta_table()
        assert meta.table_name == model.Meta.table_name
        assert (meta.hash_keyname, meta.range_keyname) == (model._hash_keyname, model._range_keyname)


def test_other_settings_get_their_own_connection(fresh_connections: None) -> None:
    assert connection.shared(region="eu-west-1") is not connection.default()
    assert connection.shared(region="eu-west-1") is connection.shared(region="eu-west-1")
    with pytest.raises(TypeError):
        connection.shared(table_name="x")


def test_touching_every_table_builds_one_client_not_fifty(fresh_connections: None) -> None:
    """A memory bound, not a timing: the clients of all 50 tables cost what one costs."""
    gc.collect()
    tracemalloc.start()
    try:
        first = table_models()[0]
        first._get_connection().connection.client  # noqa: B018 - building it is the point
        gc.collect()
        one, _ = tracemalloc.get_traced_memory()
        for model in table_models():
            model._get_connection().connection.client  # noqa: B018
        gc.collect()
        every, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert one > 2 * MiB, "a botocore client parses MiBs of service data (else this measures nothing)"
    assert every - one < 1 * MiB, f"{len(table_models())} tables added {(every - one) / MiB:.1f} MiB"
