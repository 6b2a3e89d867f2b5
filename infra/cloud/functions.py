"""Every Lambda function of the app and every resource name of a stage, from the registry.

The API is one function (Chalice's ``api_handler``); each queue of ``registry.QUEUES`` has a
worker (``worker_<key>``) and each schedule of ``registry.SCHEDULES`` a tick (``tick_<key>``).
Names are computed by the very code the functions run (``QueueDef.name``,
``models.base.table_name``) with the stage's ``RESOURCE_PREFIX``, so a function always finds
the resource the template created.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parents[2]
CHALICE_DIR = ROOT / ".chalice"
CHALICE_CONFIG = CHALICE_DIR / "config.json"

API_FUNCTION = "api_handler"
# API Gateway gives up after 29 s: the function stops first, so the failure is logged as ours.
API_TIMEOUT = 28
# CPU is proportional to memory: a cold start's first request imports its blueprint module and the
# libraries it needs (app.py registers routes lazily), 1 GB keeps it short.
API_MEMORY_MB = 1024
SCHEDULE_MEMORY_MB = 512
# One tick at a time: a slow tick is not overtaken by the next one (writes are conditional
# anyway; this only avoids wasted work).
SCHEDULE_RESERVED_CONCURRENCY = 1

Kind = Literal["api", "worker", "schedule"]


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function: its Chalice name and the settings the registry gives it."""

    name: str
    kind: Kind
    timeout: int
    memory_mb: int
    reserved_concurrency: int | None = None
    queue_key: str | None = None
    schedule_key: str | None = None

    @property
    def cfn_name(self) -> str:
        """The logical id ``chalice package`` gives the function in sam.json."""
        return to_cfn_resource_name(self.name)


def to_cfn_resource_name(name: str) -> str:
    from chalice.utils import to_cfn_resource_name as chalice_cfn_name

    return chalice_cfn_name(name)


def all_functions() -> list[FunctionSpec]:
    from chalicelib.registry import SCHEDULES, consumed_queues

    specs = [FunctionSpec(API_FUNCTION, "api", API_TIMEOUT, API_MEMORY_MB)]
    specs += [FunctionSpec(q.handler_name, "worker", q.function_timeout, q.memory_mb, q.reserved_concurrency,
                           queue_key=q.key) for q in consumed_queues()]
    specs += [FunctionSpec(s.handler_name, "schedule", s.function_timeout, SCHEDULE_MEMORY_MB,
                           SCHEDULE_RESERVED_CONCURRENCY, schedule_key=s.key) for s in SCHEDULES]
    return specs


def function(name: str) -> FunctionSpec:
    for spec in all_functions():
        if spec.name == name:
            return spec
    raise KeyError(name)


# --- the Chalice configuration -----------------------------------------------------------

def load_chalice_config(path: Path = CHALICE_CONFIG) -> dict[str, Any]:
    return json.loads(path.read_text())


def app_name(cfg: dict[str, Any] | None = None) -> str:
    return str((cfg or load_chalice_config())["app_name"])


def api_gateway_stage(stage: str, cfg: dict[str, Any] | None = None) -> str:
    """The API Gateway stage Chalice deploys the API to: the first segment of every API address."""
    cfg = cfg or load_chalice_config()
    return str(cfg["stages"][stage].get("api_gateway_stage", cfg.get("api_gateway_stage", "api")))


def stages(cfg: dict[str, Any] | None = None) -> list[str]:
    return sorted((cfg or load_chalice_config())["stages"])


def stage_environment(stage: str, cfg: dict[str, Any] | None = None) -> dict[str, str]:
    """The environment Chalice gives every function of ``stage`` (top level, then stage)."""
    cfg = cfg or load_chalice_config()
    if stage not in cfg["stages"]:
        raise KeyError(f"no stage {stage!r} in .chalice/config.json (stages: {', '.join(stages(cfg))})")
    env = dict(cfg.get("environment_variables", {}))
    env.update(cfg["stages"][stage].get("environment_variables", {}))
    env.setdefault("APP_STAGE", stage)
    return env


def deployed_function_name(stage: str, fn: FunctionSpec, cfg: dict[str, Any] | None = None) -> str:
    """The function's name in AWS: the one ``chalice deploy`` uses, which the template sets too,
    so a policy can name the function's log group exactly under either way of deploying."""
    base = f"{app_name(cfg)}-{stage}"
    return base if fn.kind == "api" else f"{base}-{fn.name}"


# --- resource names of a stage -------------------------------------------------------------

@contextmanager
def stage_env(stage: str, cfg: dict[str, Any] | None = None) -> Iterator[dict[str, str]]:
    """Run with the stage's APP_STAGE and RESOURCE_PREFIX, as its functions will."""
    env = stage_environment(stage, cfg)
    keys = ("APP_STAGE", "RESOURCE_PREFIX")
    saved = {k: os.environ.get(k) for k in keys}
    try:
        for k in keys:
            if k in env:
                os.environ[k] = env[k]
            else:
                os.environ.pop(k, None)
        yield env
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass(frozen=True)
class TableInfo:
    model: type
    module: str  # last part of the models module: accounts, billing, ...
    short_name: str
    name: str  # the table's name in the stage
    index_names: tuple[str, ...]


@dataclass(frozen=True)
class QueueInfo:
    key: str
    name: str
    dlq_name: str | None  # None: this is a dead-letter queue (its consumer's)
    handler_name: str
    visibility_timeout: int
    max_receive_count: int
    function_timeout: int
    dead_letters_of: str | None = None


@dataclass(frozen=True)
class StageNames:
    stage: str
    prefix: str
    app_name: str
    tables: tuple[TableInfo, ...]
    queues: tuple[QueueInfo, ...]  # the work queues (each with its DLQ)
    kms_alias: str
    bucket_prefix: str  # the bucket is <prefix>-media-<account>-<region>: names are global
    env: dict[str, str] = field(default_factory=dict)

    dead_letter_consumers: tuple[QueueInfo, ...] = ()  # the DLQs a function drains

    def queue(self, key: str) -> QueueInfo:
        for q in self.queues + self.dead_letter_consumers:
            if q.key == key:
                return q
        raise KeyError(key)

    def dead_letter_consumer(self, key: str) -> QueueInfo | None:
        """The consumer of the work queue ``key``'s DLQ, if any."""
        return next((q for q in self.dead_letter_consumers if q.dead_letters_of == key), None)

    def table(self, short_name: str) -> TableInfo:
        for t in self.tables:
            if t.short_name == short_name:
                return t
        raise KeyError(short_name)


def _short_name(model: type, import_prefix: str) -> str:
    name = str(model.Meta.table_name)
    if not name.startswith(import_prefix + "-"):
        raise RuntimeError(f"{model.__name__}'s table {name!r} does not start with the prefix {import_prefix!r} "
                           "in effect: RESOURCE_PREFIX changed after the models were imported")
    return name[len(import_prefix) + 1:]


def index_names(model: type) -> tuple[str, ...]:
    schema = model._get_schema()  # type: ignore[attr-defined]
    return tuple(sorted(i["index_name"] for i in
                        schema.get("global_secondary_indexes", []) + schema.get("local_secondary_indexes", [])))


@cache
def _names_cached(stage: str, cfg_text: str) -> StageNames:
    from chalicelib import config
    from chalicelib.models.base import table_name
    from chalicelib.registry import DEAD_LETTER_QUEUES, MODEL_MODULES, QUEUES, table_models

    cfg = json.loads(cfg_text)
    import_prefix = config.resource_prefix()
    models = table_models()
    module_of = {m: m.__module__.rsplit(".", 1)[-1] for m in models}
    shorts = {m: _short_name(m, import_prefix) for m in models}
    assert all(m.__module__ in MODEL_MODULES for m in models)
    with stage_env(stage, cfg) as env:
        prefix = config.resource_prefix()
        tables = tuple(TableInfo(m, module_of[m], shorts[m], table_name(shorts[m]), index_names(m)) for m in models)
        queues = tuple(QueueInfo(q.key, q.name, q.dlq_name, q.handler_name, q.visibility_timeout,
                                 q.max_receive_count, q.function_timeout) for q in QUEUES)
        consumers = tuple(QueueInfo(q.key, q.name, None, q.handler_name, q.visibility_timeout, q.max_receive_count,
                                    q.function_timeout, q.dead_letters_of) for q in DEAD_LETTER_QUEUES)
    duplicates = {t.name for t in tables if sum(1 for u in tables if u.name == t.name) > 1}
    if duplicates:
        raise RuntimeError(f"two models share a table: {sorted(duplicates)}")
    return StageNames(stage=stage, prefix=prefix, app_name=str(cfg["app_name"]), tables=tables, queues=queues,
                      kms_alias=f"alias/{prefix}-secrets", bucket_prefix=f"{prefix}-media", env=env,
                      dead_letter_consumers=consumers)


def names(stage: str, cfg: dict[str, Any] | None = None) -> StageNames:
    cfg = cfg or load_chalice_config()
    return _names_cached(stage, json.dumps(cfg, sort_keys=True))
