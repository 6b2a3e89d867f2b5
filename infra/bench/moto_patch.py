"""Make moto's TransactWriteItems fast and atomic (dev/test only; moto is a test double).

moto 5.2 deep-copies a whole table for every item of a transaction, to roll back on
failure: a 100-item transaction against a table of N items copies 100 x N items, so a
10,000-keyword import takes hours instead of seconds. This replaces the table copies with
copies of just the items the transaction touches, restored in reverse order if it is
cancelled: the same observable behaviour. It also serialises transactions with a lock,
since moto's in-process backend otherwise lets two threads' condition checks interleave
(real DynamoDB and DynamoDB Local are atomic; the storage tests run there too).
"""

from __future__ import annotations

import copy
import threading
from types import SimpleNamespace
from typing import Any

_LOCK = threading.RLock()
_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    import moto.dynamodb.models as models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = models.DynamoDBBackend.transact_write_items

    def keep_table(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with _LOCK:
            snapshots = []
            for entry in transact_items[:100]:
                op_type, op = next(iter(entry.items()))
                table = self.tables.get(op.get("TableName"))
                if table is None:
                    continue
                key = op.get("Item") if op_type == "Put" else op.get("Key")
                if not key or table.hash_key_attr not in key:
                    continue
                hash_value = DynamoType(key[table.hash_key_attr])
                range_value = None
                if table.range_key_attr is not None:
                    if table.range_key_attr not in key:
                        continue
                    range_value = DynamoType(key[table.range_key_attr])
                current = table.get_item(hash_value, range_value)
                snapshots.append((table, hash_value, range_value, copy.deepcopy(current) if current else None))
            saved_copy = models.copy
            models.copy = SimpleNamespace(deepcopy=keep_table, copy=copy.copy)
            try:
                original(self, transact_items)
            except Exception:
                for table, hash_value, range_value, item in reversed(snapshots):
                    if item is None:
                        table.delete_item(hash_value, range_value)
                    elif range_value is not None:
                        table.items[hash_value][range_value] = item
                    else:
                        table.items[hash_value] = item
                raise
            finally:
                models.copy = saved_copy

    models.DynamoDBBackend.transact_write_items = transact_write_items
    _applied = True
