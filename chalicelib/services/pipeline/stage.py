"""What a generation stage is, and what it works with while it handles one job item."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.models.jobs import Job, JobItem
from chalicelib.services.activity import Gates

if TYPE_CHECKING:
    from chalicelib.registry import QueueDef

FINAL = ("done", "failed", "skipped")


class ItemFailed(Exception):
    """The item cannot succeed as it is (bad input, no credits...): fail it now, no retry."""

    def __init__(self, message: str, code: str = "item_failed") -> None:
        super().__init__(message)
        self.code = code


class ItemSkipped(Exception):
    """Nothing to do for this item (already done elsewhere, or no longer eligible)."""


class ItemBusy(Exception):
    """Another worker holds the item's lease: let SQS deliver it again later."""


class ItemHeld(Exception):
    """The item's account, site or sector is deactivated: the item waits, queued, unchanged;
    ``jobs.requeue_held_items`` sends it again once it is active."""


@dataclass
class ItemSpec:
    item_id: str
    payload: dict[str, Any] = field(default_factory=dict)
    sector_id: str | None = None  # the sector of the record the item works on


@dataclass
class ItemContext:
    account_id: str
    site_id: str
    job: Job
    item: JobItem
    gates: Gates = field(default_factory=Gates)
    records: list[str] = field(default_factory=list)  # the records this delivery holds (pipeline.claims)

    @property
    def charge_key(self) -> str:
        """Idempotency key of this item's credit charge: the business key, not the message."""
        return f"{self.job.job_id}#{self.item.item_id}"

    def require_open_sector(self, sector_id: str | None) -> None:
        """Before a stage works on a record: its sector deactivated -> held; being deleted -> skipped."""
        gate = self.gates.sector(self.account_id, self.site_id, sector_id)
        if gate.gone:
            raise ItemSkipped(gate.message)
        if not gate.open:
            raise ItemHeld(gate.message)


@dataclass
class ItemOutcome:
    """What a stage made of one item. Its credits are counted by the charge itself (stages.plan.charge)."""

    result: dict[str, Any] = field(default_factory=dict)


def _each_item(count: int) -> list[ItemSpec]:
    return [ItemSpec(f"estimate-{n}") for n in range(count)]


@dataclass
class StageDef:
    """A stage's code. Its name is its queue's key in the registry (``stages.get_stage`` sets the queue)."""

    module: str  # the product module that must be enabled (planner, writer)
    ids_field: str  # the selection field naming chosen records (keyword_ids, cluster_ids...)
    select: Callable[[str, str, dict[str, Any]], list[ItemSpec]]
    run: Callable[[ItemContext], ItemOutcome]
    estimate: Callable[[str, str, list[ItemSpec]], dict[str, int]] = lambda *_: {}
    description: str = ""
    # What an item works on, claimed for its job (pipeline.claims): the kind of record, and
    # the records of an item (by default the item itself; clustering: its keywords).
    record_kind: str = "record"
    records: Callable[[ItemSpec], list[str]] = lambda spec: [spec.item_id]
    # The payload changes for an item left with only some of its records (the others are held elsewhere).
    narrow: Callable[[ItemSpec, list[str]], dict[str, Any]] = lambda spec, records: {}
    # Items standing for ``count`` records, for an estimate before any exists (an automation run's).
    sample: Callable[[int], list[ItemSpec]] = _each_item
    queue: QueueDef | None = None  # set by stages.get_stage: the registry's queue of this stage

    def records_of(self, item: JobItem) -> list[str]:
        return self.records(ItemSpec(item.item_id, dict(item.payload or {})))

    @property
    def work_queue(self) -> QueueDef:
        if self.queue is None:
            raise ValueError("a stage's queue is set when it is loaded (stages.get_stage)")
        return self.queue

    @property
    def name(self) -> str:
        return self.work_queue.key
