"""Many small all-or-nothing changes, packed into as few TransactWriteItems calls as possible.

A *unit* is a group of writes that must happen together (a Keyword and its KeywordName;
a keyword update and the counter of its cluster). Units are packed up to 100 items per
``Transaction`` (``models.transactions``), each write labelled with its unit. If a
transaction is cancelled because some conditions failed, the labels say which units
failed: those are reported as failed and the rest is committed again as a (smaller)
transaction, so one duplicate never costs its 49 neighbours more than one extra call.
Counter updates (``Counter``) of the units in one transaction are summed into one update
per counted item. Conflicts with concurrent transactions are retried by ``Transaction``
under the data layer's one policy.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pynamodb.connection import Connection
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from chalicelib.models.transactions import MAX_ITEMS, ConditionsFailed, Transaction


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
    calls: int = 0  # TransactWriteItems calls made


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


def _add(tx: Transaction, op: Op, label: str) -> None:
    if op.kind == "check":
        _table, hash_value, range_value = _item_key(op.item)
        tx.check(type(op.item), hash_value, range_value, condition=op.condition, label=label)
    elif op.kind == "delete":
        tx.delete(op.item, condition=op.condition, label=label)
    elif op.kind == "put":
        tx.put(op.item, condition=op.condition, label=label)
    elif op.kind == "update":
        tx.update(op.item, op.actions, condition=op.condition, label=label)
    else:
        raise ValueError(f"unknown write kind {op.kind!r}")


def _transaction(batch: list[Unit], connection: Connection) -> tuple[Transaction, dict[str, list[int]]]:
    """The batch as one transaction, and for each label the indexes of the units it stands for."""
    tx = Transaction("units", connection=connection)
    owners: dict[str, list[int]] = {}
    totals: dict[tuple, tuple[Model, dict[str, int], list[int]]] = {}
    for index, unit in enumerate(batch):
        label = f"unit {index}"
        owners[label] = [index]
        for op in unit.ops:
            _add(tx, op, label)
        for c in unit.counters:
            item, deltas, counting = totals.setdefault(c.key, (c.item, {}, []))
            deltas[c.attr] = deltas.get(c.attr, 0) + c.delta
            counting.append(index)
    for n, (item, deltas, counting) in enumerate(totals.values()):
        # A counted item that is gone fails every unit counting on it.
        label = f"counter {n}"
        owners[label] = counting
        cls = type(item)
        tx.update(item, [getattr(cls, attr).add(delta) for attr, delta in deltas.items()],
                  condition=getattr(cls, cls._hash_keyname).exists(), label=label)
    return tx, owners


def run_units(units: list[Unit], connection: Connection, *, max_items: int = MAX_ITEMS) -> Outcome:
    """Commit every unit whose conditions hold; report the others. Never half a unit."""
    outcome = Outcome()
    for batch in _pack(units, max_items):
        pending = list(batch)
        while pending:
            tx, owners = _transaction(pending, connection)
            try:
                tx.commit()
            except ConditionsFailed as exc:
                bad = {index for label in exc.labels for index in owners[label]}
                outcome.failed.extend(pending[i].ref for i in sorted(bad))
                pending = [u for i, u in enumerate(pending) if i not in bad]
                continue
            finally:
                outcome.calls += tx.sent
            outcome.ok.extend(u.ref for u in pending)
            break
    return outcome
