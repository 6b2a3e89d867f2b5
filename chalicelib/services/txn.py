"""Many small all-or-nothing changes, packed into as few TransactWriteItems calls as possible.

A *unit* is a group of writes that must happen together (a Keyword and its KeywordName;
a keyword update and the counter of its cluster). Units are packed up to 100 items per
transaction. If a transaction is cancelled because some conditions failed, the
cancellation reasons say which items failed: those units are reported as failed and the
rest is retried as a (smaller) transaction, so one duplicate never costs its 49
neighbours more than one extra call. Counter updates (``Counter``) of the units in one
transaction are summed into one update per counted item.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

MAX_ITEMS = 100  # DynamoDB's limit for one TransactWriteItems
CONFLICT_RETRIES = 6


@dataclass
class Op:
    kind: str  # "check" | "delete" | "put" | "update"
    item: Model
    condition: Condition | None = None
    actions: Sequence[Action] = ()


@dataclass
class Counter:
    """Add ``delta`` to ``attr`` of ``item`` (which must exist) when the unit commits."""

    item: Model
    attr: str
    delta: int

    @property
    def key(self) -> tuple[str, Any, Any]:
        return _item_key(self.item)


@dataclass
class Unit:
    ref: Hashable
    ops: list[Op]
    counters: list[Counter] = field(default_factory=list)


@dataclass
class Outcome:
    ok: list[Hashable] = field(default_factory=list)
    failed: list[Hashable] = field(default_factory=list)  # a condition of the unit failed
    calls: int = 0


def _item_key(item: Model) -> tuple[str, Any, Any]:
    cls = type(item)
    hash_name = cls._hash_keyname
    range_name = cls._range_keyname
    return (cls.Meta.table_name, getattr(item, hash_name), getattr(item, range_name) if range_name else None)


def shared_connection(model: type[Model]) -> Connection:
    """The process's one DynamoDB client (every model shares it): creating one per transaction would
    cost more than the call."""
    return model._get_connection().connection


def _pack(units: list[Unit], max_items: int) -> list[list[Unit]]:
    batches: list[list[Unit]] = []
    current: list[Unit] = []
    size = 0
    counter_keys: set[tuple] = set()
    for unit in units:
        new_keys = {c.key for c in unit.counters} - counter_keys
        need = len(unit.ops) + len(new_keys)
        if current and size + need > max_items:
            batches.append(current)
            current, size, counter_keys = [], 0, set()
            new_keys = {c.key for c in unit.counters}
            need = len(unit.ops) + len(new_keys)
        current.append(unit)
        size += need
        counter_keys |= new_keys
    if current:
        batches.append(current)
    return batches


def _commit(batch: list[Unit], connection: Connection) -> list[tuple[str, Any]] | None:
    """Run one transaction; None on success, else the owners of the failed items."""
    groups: dict[str, list[tuple[tuple[str, Any], Op]]] = {"check": [], "delete": [], "put": [], "update": []}
    totals: dict[tuple, tuple[Model, dict[str, int]]] = {}
    for index, unit in enumerate(batch):
        for op in unit.ops:
            groups[op.kind].append((("unit", index), op))
        for c in unit.counters:
            item, deltas = totals.setdefault(c.key, (c.item, {}))
            deltas[c.attr] = deltas.get(c.attr, 0) + c.delta
    for key, (item, deltas) in totals.items():
        cls = type(item)
        actions = [getattr(cls, attr).add(delta) for attr, delta in deltas.items()]
        groups["update"].append((("counter", key), Op("update", item, getattr(cls, cls._hash_keyname).exists(),
                                                      actions)))
    owners: list[tuple[str, Any]] = []
    try:
        with TransactWrite(connection=connection) as tx:
            # PynamoDB sends condition checks, deletes, puts, then updates: positions follow that order.
            for owner, op in groups["check"]:
                hash_value, range_value = _item_key(op.item)[1:]
                tx.condition_check(type(op.item), hash_value, range_value, condition=op.condition)
                owners.append(owner)
            for owner, op in groups["delete"]:
                tx.delete(op.item, condition=op.condition)
                owners.append(owner)
            for owner, op in groups["put"]:
                tx.save(op.item, condition=op.condition)
                owners.append(owner)
            for owner, op in groups["update"]:
                tx.update(op.item, actions=list(op.actions), condition=op.condition)
                owners.append(owner)
    except TransactWriteError as exc:
        reasons = exc.cancellation_reasons or []
        failed = [owners[i] for i, r in enumerate(reasons) if r is not None and r.code == "ConditionalCheckFailed"]
        if failed:
            return failed
        if any(r is not None and r.code == "TransactionConflict" for r in reasons):
            return []  # nothing failed for good: retry the same batch
        raise
    return None


def run_units(units: list[Unit], connection: Connection, *, max_items: int = MAX_ITEMS) -> Outcome:
    """Commit every unit whose conditions hold; report the others. Never half a unit."""
    outcome = Outcome()
    for batch in _pack(units, max_items):
        pending = list(batch)
        conflicts = 0
        while pending:
            outcome.calls += 1
            failed_owners = _commit(pending, connection)
            if failed_owners is None:
                outcome.ok.extend(u.ref for u in pending)
                break
            if not failed_owners:
                conflicts += 1
                if conflicts > CONFLICT_RETRIES:
                    raise RuntimeError("transaction kept conflicting with concurrent writes")
                time.sleep(0.02 * 2 ** conflicts)
                continue
            bad: set[int] = set()
            for kind, value in failed_owners:
                if kind == "unit":
                    bad.add(value)
                else:  # a counted item is gone: every unit counting on it fails
                    bad.update(i for i, u in enumerate(pending) if any(c.key == value for c in u.counters))
            outcome.failed.extend(pending[i].ref for i in sorted(bad))
            pending = [u for i, u in enumerate(pending) if i not in bad]
    return outcome
