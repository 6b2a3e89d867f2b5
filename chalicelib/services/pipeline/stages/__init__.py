"""The generation stages: one module per stage, named as the stage's queue in ``chalicelib.registry``.

Every AI stage works in two steps (``plan``):
1. *plan*: make the AI calls and store what they produced on the JobItem (written only
   while this worker holds the item), then charge the usage with the item's business key;
2. *apply*: write the records, with ids derived from (job, item, ...), each write
   skipping what already exists.
A delivery that crashes anywhere is redone from the stored plan: no second AI call after
the plan is stored, no second charge, no second record.

A stage module defines ``STAGE`` (a ``StageDef``); ``get_stage`` loads it for a registry
stage queue, so a stage's name is written once, in the registry.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from importlib import import_module

from chalicelib import registry
from chalicelib.errors import UnprocessableEntity
from chalicelib.services.pipeline.stage import StageDef


@cache
def all_stages() -> dict[str, StageDef]:
    """Every stage, in pipeline order."""
    return {q.key: replace(import_module(f"{__name__}.{q.key}").STAGE, queue=q) for q in registry.STAGE_QUEUES}


def get_stage(name: str) -> StageDef:
    stages = all_stages()
    try:
        return stages[name]
    except KeyError:
        raise UnprocessableEntity(f"Unknown stage {name!r}; one of: {', '.join(sorted(stages))}.",
                                  details=[{"field": "stage", "message": "unknown stage"}]) from None
