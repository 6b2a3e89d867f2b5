"""A TransactWrite bound to the configured region (and endpoint, via the environment)."""

from __future__ import annotations

from pynamodb.connection import Connection
from pynamodb.transactions import TransactWrite

from chalicelib import config

_connection: Connection | None = None


def transact_write() -> TransactWrite:
    # One Connection for all transactions: building a botocore client costs ~0.1 s.
    global _connection
    if _connection is None:
        _connection = Connection(region=config.region())
    return TransactWrite(connection=_connection)


def reset() -> None:
    """Forget the cached connection (the endpoint changed: tests, the local stack)."""
    global _connection
    _connection = None
