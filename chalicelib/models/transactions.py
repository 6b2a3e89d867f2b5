"""Writing several items at once: a labelled transaction with one conflict policy.

Every write of a ``Transaction`` carries a label. When DynamoDB cancels the transaction
because conditions failed, ``ConditionsFailed.labels`` names those writes -- never their
positions, which depend on PynamoDB's grouping. A cancellation that is only a conflict with
another transaction in flight (two transactions on one counter) says nothing about the
conditions: it is retried under ``CONFLICT``, the one retry policy of the data layer.

    tx = Transaction("charge")
    tx.put(entry, condition=CreditLedgerEntry.entry_key.does_not_exist(), label="ledger")
    tx.update(balance, [CreditBalance.available.add(-n)], condition=CreditBalance.available >= n,
              label="balance")
    try:
        tx.commit()
    except ConditionsFailed as exc:
        if "ledger" in exc.labels: ...   # charged already

A read-decide-write that must read again when another writer came first wraps its body in
``optimistic(attempt, what=...)`` instead of writing its own loop. Puts and updates of
timestamped models are stamped with ``updated_at`` here, as ``Model.update`` and ``save`` stamp them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.errors import Conflict
from chalicelib.models import connection as shared_connections
from chalicelib.models.base import stamped
from chalicelib.models.conditions import is_condition_failure
from chalicelib.timeutil import utcnow

T = TypeVar("T")
MAX_ITEMS = 100  # DynamoDB's limit for one TransactWriteItems


@dataclass(frozen=True)
class RetryPolicy:
    """How often, and how patiently, a write that lost a race to a concurrent one is tried again."""

    attempts: int = 9
    base_seconds: float = 0.005
    cap_seconds: float = 0.4

    def pause(self, attempt: int) -> None:
        time.sleep(random.uniform(self.base_seconds, min(self.cap_seconds, self.base_seconds * 2 ** (attempt + 1))))


CONFLICT = RetryPolicy()


class ConditionsFailed(Exception):
    """A transaction was cancelled because the conditions of ``labels`` did not hold."""

    is_condition_failure = True

    def __init__(self, transaction: str, labels: frozenset[str]) -> None:
        super().__init__(f"transaction {transaction!r}: conditions failed: {', '.join(sorted(labels))}")
        self.transaction = transaction
        self.labels = labels


class TransactionConflict(Exception):
    """Still conflicting with concurrent transactions after every retry of ``CONFLICT``."""


def is_transaction_conflict(exc: BaseException) -> bool:
    """Cancelled only because another transaction held one of the items: nothing failed for good."""
    reasons = getattr(exc, "cancellation_reasons", None) or []
    codes = {r.code for r in reasons if r is not None and r.code not in (None, "None")}
    if codes:
        return codes <= {"TransactionConflict"}
    # A cancellation without reasons names the conflict only in its message.
    return isinstance(exc, TransactWriteError) and "TransactionConflict" in str(getattr(exc, "cause", "") or exc)


def connection() -> Connection:
    # The tables' own client (chalicelib.models.connection): building one costs ~0.1 s and ~20 MiB.
    return shared_connections.default()


_ORDER = ("check", "delete", "put", "update")  # the order PynamoDB sends a TransactWrite's items in


@dataclass
class _Write:
    kind: str
    label: str
    item: Model | None
    condition: Condition | None = None
    actions: list[Action] = field(default_factory=list)
    check: tuple[type[Model], Any, Any] | None = None


class Transaction:
    """Up to 100 labelled writes committed all together or not at all.

    ``connection``: the PynamoDB connection to send on (default: one shared by all transactions);
    ``sent`` counts the TransactWriteItems calls ``commit`` made (conflicts retried included).
    """

    def __init__(self, name: str, *, connection: Connection | None = None) -> None:
        self.name = name
        self._connection = connection
        self._writes: list[_Write] = []
        self.sent = 0

    def __len__(self) -> int:
        return len(self._writes)

    def check(self, model: type[Model], hash_key: Any, range_key: Any = None, *, condition: Condition,
              label: str) -> Transaction:
        self._writes.append(_Write("check", label, None, condition, check=(model, hash_key, range_key)))
        return self

    def put(self, item: Model, *, condition: Condition | None = None, label: str) -> Transaction:
        if hasattr(type(item), "updated_at"):
            item.updated_at = utcnow()
        self._writes.append(_Write("put", label, item, condition))
        return self

    def update(self, item: Model, actions: Sequence[Action], *, condition: Condition | None = None,
               label: str) -> Transaction:
        self._writes.append(_Write("update", label, item, condition, stamped(type(item), actions)))
        return self

    def delete(self, item: Model, *, condition: Condition | None = None, label: str) -> Transaction:
        self._writes.append(_Write("delete", label, item, condition))
        return self

    def commit(self, policy: RetryPolicy = CONFLICT) -> None:
        """Commit; raise ``ConditionsFailed`` naming what did not hold. Conflicts are retried."""
        if not self._writes:
            return
        if len(self._writes) > MAX_ITEMS:
            raise ValueError(f"transaction {self.name!r} has {len(self._writes)} writes; DynamoDB takes {MAX_ITEMS}")
        ordered = [w for kind in _ORDER for w in self._writes if w.kind == kind]
        for attempt in range(policy.attempts):
            try:
                self._send(ordered)
                return
            except TransactWriteError as exc:
                reasons = exc.cancellation_reasons or []
                failed = frozenset(ordered[i].label for i, r in enumerate(reasons)
                                   if r is not None and r.code == "ConditionalCheckFailed" and i < len(ordered))
                if failed:
                    raise ConditionsFailed(self.name, failed) from None
                if is_transaction_conflict(exc) and attempt + 1 < policy.attempts:
                    policy.pause(attempt)
                    continue
                if is_transaction_conflict(exc):
                    raise TransactionConflict(f"transaction {self.name!r} kept conflicting") from exc
                raise

    def _send(self, ordered: list[_Write]) -> None:
        self.sent += 1
        with TransactWrite(connection=self._connection or connection()) as tx:
            for w in ordered:
                if w.kind == "check":
                    model, hash_key, range_key = w.check  # type: ignore[misc]
                    tx.condition_check(model, hash_key, range_key, condition=w.condition)
                elif w.kind == "delete":
                    tx.delete(w.item, condition=w.condition)
                elif w.kind == "put":
                    tx.save(w.item, condition=w.condition)
                else:
                    tx.update(w.item, actions=w.actions, condition=w.condition)


def optimistic(attempt: Callable[[], T], *, what: str, policy: RetryPolicy = CONFLICT) -> T:
    """Run a read-decide-write ``attempt`` again, reading afresh, while concurrent writers beat it.

    ``attempt`` reads the state, decides, and writes conditionally on what it read (a version,
    an expected status). A failed condition or a transaction conflict means another writer
    came first: the attempt is run again on the new state, which may now say "nothing to do"
    (return normally) or raise a domain error. Past ``policy.attempts``: 409 concurrent_change.
    """
    for n in range(policy.attempts):
        try:
            return attempt()
        except Exception as exc:
            lost = is_condition_failure(exc) or is_transaction_conflict(exc) or isinstance(exc, TransactionConflict)
            if not lost:
                raise
            if n + 1 == policy.attempts:
                raise Conflict(f"The {what} is changing too fast; try again.", code="concurrent_change") from None
            policy.pause(n)
    raise AssertionError("unreachable")
