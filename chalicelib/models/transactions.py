"""A TransactWrite bound to the configured region (and endpoint, via the environment)."""

from __future__ import annotations

from pynamodb.connection import Connection
from pynamodb.transactions import TransactWrite

from chalicelib import config


def transact_write() -> TransactWrite:
    return TransactWrite(connection=Connection(region=config.region()))
