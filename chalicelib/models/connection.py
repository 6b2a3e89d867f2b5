"""One DynamoDB client per process, shared by every table and every transaction.

PynamoDB gives each model class its own ``Connection``, and each one builds its own botocore
session and client on first use. A botocore session parses the endpoint rules and the
DynamoDB service model again (~9 MiB of Python objects, ~20 MiB resident per client), and
the client keeps them. With 50 tables, a process held one such client per table it had ever
touched: the API "grew" with every route that reached a new table (the full fuzz run: 364 ->
581 MiB), and a container that touched every table would hold over 1 GiB (Lambda: 512 MB).

``SharedClientModel`` (the base of every model) and ``transactions.Transaction`` use one
``Connection`` per distinct set of connection settings; in practice one, since every table
is declared with ``table_meta``. botocore clients are thread-safe (the local stack's worker
threads share it too).
"""

from __future__ import annotations

import threading
from typing import Any

from pynamodb.connection import Connection, TableConnection
from pynamodb.exceptions import TableError
from pynamodb.models import Model
from pynamodb.settings import get_settings_value

from chalicelib import config

# Throttling and transient errors: botocore's standard retry mode, this many attempts in all.
MAX_RETRY_ATTEMPTS = 5

# The arguments of pynamodb's Connection that decide which client it builds.
_SETTINGS = ("region", "host", "connect_timeout_seconds", "read_timeout_seconds", "max_retry_attempts",
             "max_pool_connections", "extra_headers", "aws_access_key_id", "aws_secret_access_key",
             "aws_session_token")

_connections: dict[tuple[Any, ...], Connection] = {}
_lock = threading.Lock()


def _setting(name: str, value: Any) -> Any:
    if value is None and name not in ("host", "aws_access_key_id", "aws_secret_access_key", "aws_session_token"):
        value = get_settings_value(name)  # what Connection itself would fall back to
    return tuple(sorted(value.items())) if isinstance(value, dict) else value


def shared(**settings: Any) -> Connection:
    """The process's Connection for these settings (``Connection``'s own arguments)."""
    unknown = set(settings) - set(_SETTINGS)
    if unknown:
        raise TypeError(f"not a connection setting: {', '.join(sorted(unknown))}")
    key = tuple(_setting(name, settings.get(name)) for name in _SETTINGS)
    with _lock:
        connection = _connections.get(key)
        if connection is None:
            connection = _connections[key] = Connection(**settings)
    return connection


def default() -> Connection:
    """The connection of the tables declared with ``table_meta`` (transactions use it)."""
    return shared(region=config.region(), max_retry_attempts=MAX_RETRY_ATTEMPTS)


def count() -> int:
    """How many connections (so botocore clients, once used) the process holds."""
    with _lock:
        return len(_connections)


def reset() -> None:
    """Forget the connections (the endpoint changed: tests, the local stack)."""
    swap({})


def swap(connections: dict[tuple[Any, ...], Connection]) -> dict[tuple[Any, ...], Connection]:
    """Put these connections in place; return the ones they replace (the storage tests keep one
    set per backend instead of building clients again on every switch)."""
    global _connections
    with _lock:
        previous, _connections = _connections, dict(connections)
    return previous


class SharedClientModel(Model):
    """A PynamoDB model whose table is reached through the process's shared client."""

    @classmethod
    def _get_connection(cls) -> TableConnection:
        current = cls._connection
        if current is not None and current.table_name == cls.Meta.table_name:
            return current
        # PynamoDB builds the TableConnection (with the table's schema: no DescribeTable) and an
        # unused Connection of its own; the table's schema moves to the shared one, which is kept.
        table = super()._get_connection()
        own = table.connection
        connection = shared(**{name: getattr(cls.Meta, name, None) for name in _SETTINGS})
        with _lock:
            try:
                connection.get_meta_table(cls.Meta.table_name)
            except TableError:
                connection.add_meta_table(own.get_meta_table(cls.Meta.table_name))
        table.connection = connection
        return table
