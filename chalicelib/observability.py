"""Logger, metrics, tracing and request context shared by every handler.

- ``logger``: Powertools Logger (created on first use, so ``import app`` does not load
  Powertools), one JSON object per line. Every line carries the request id
  (API Gateway's for HTTP, set by ``api.middleware``), the account id once known
  (``api.routing``; workers: ``log_context(account_id=...)``) and, inside Lambda, the
  invocation's own request id and cold start (``invocation_middleware``). Extra fields whose
  name says secret (password, token, api_key, ...) are masked before they are written.
- ``metric(name, value, unit, **dimensions)``: buffered in memory and written as CloudWatch
  Embedded Metric Format (EMF) lines at the end of each invocation, which CloudWatch turns
  into metrics without any API call. Outside Lambda (tests, the local stack) nothing is
  printed: the values are kept for ``recorded_metrics()`` (the last 10,000; a warm Lambda
  container keeps none). It never raises.
- ``tracer()``: Powertools Tracer, created on the first invocation inside Lambda when
  ``aws_xray_sdk`` is installed (it is a dev requirement, not shipped: the functions run
  with Lambda's Active tracing, which needs no SDK); ``None`` otherwise.

Dimensions cost money (each distinct combination is a custom metric): use low-cardinality
ones (pipeline stage, credit type, outcome), never an account or record id.
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

SERVICE = "seo-content-engine"
DEFAULT_NAMESPACE = "SeoContentEngine"

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()


def in_lambda() -> bool:
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


# --- no secrets in logs -------------------------------------------------------------------

# Whole name parts: "refresh_token" and "api_key" are masked, "input_tokens" and "max_tokens" are not.
SECRET_FIELD = re.compile(r"(?:^|_)(?:pass(?:word)?|passwd|secrets?|token|api_?key|apikey|key_material|"
                          r"authori[sz]ation|signature|cookie|credentials?|private_key)(?:$|_)", re.I)
MASK = "***"
_STANDARD_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class _SecretFilter(logging.Filter):
    """Masks extra fields named like secrets (``extra={"api_key": ...}``), however nested."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in list(vars(record).items()):
            if name in _STANDARD_RECORD_FIELDS:
                continue
            if SECRET_FIELD.search(name):
                setattr(record, name, MASK)
            elif isinstance(value, dict | list):
                setattr(record, name, _mask(value))
        return True


def _mask(value: Any, depth: int = 0) -> Any:
    if depth > 5:
        return value
    if isinstance(value, dict):
        return {k: MASK if isinstance(k, str) and SECRET_FIELD.search(k) else _mask(v, depth + 1)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, depth + 1) for v in value]
    return value


_powertools_logger: Any = None
_logger_lock = threading.Lock()


def _real_logger() -> Logger:
    global _powertools_logger
    if _powertools_logger is None:
        with _logger_lock:
            if _powertools_logger is None:
                from aws_lambda_powertools import Logger

                real = Logger(service=SERVICE)
                real.addFilter(_SecretFilter())
                _powertools_logger = real
    return cast("Logger", _powertools_logger)


class _LazyLogger:
    """Stands for the Powertools Logger, created on first use: importing Powertools costs
    ~50 ms (it loads every utility's package and patches botocore's user agent), which a
    cold start would pay in ``import app`` even for an invocation that logs nothing."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        return getattr(_real_logger(), name)

    def __repr__(self) -> str:
        return f"<lazy {_real_logger()!r}>"


logger = cast("Logger", _LazyLogger())


@contextmanager
def log_context(**keys: Any) -> Iterator[None]:
    """Add keys (e.g. ``account_id``, ``job_id``) to every log line inside the block."""
    logger.append_keys(**keys)
    try:
        yield
    finally:
        logger.remove_keys(list(keys))


# --- metrics -------------------------------------------------------------------------------

@dataclass(frozen=True)
class RecordedMetric:
    name: str
    value: float
    unit: str
    dimensions: dict[str, str]


_lock = threading.Lock()
# dimensions (sorted pairs) -> metric name -> (unit, values)
_buffer: dict[tuple[tuple[str, str], ...], dict[str, tuple[str, list[float]]]] = {}
_buffered = 0
_recorded: deque[RecordedMetric] = deque(maxlen=10_000)
# EMF takes at most 100 values per metric and 100 metrics per line; flush well before.
_FLUSH_AT = 90


def metric(name: str, value: float = 1, unit: str = "Count", **dimensions: Any) -> None:
    """Count or measure something, e.g. ``metric("ItemsProcessed", 1, "Count", stage="generate_content")``.

    ``unit``: a CloudWatch unit (Count, Milliseconds, Seconds, Bytes, Percent, None...).
    Safe anywhere: a bad value is logged and dropped, never raised.
    """
    global _buffered
    try:
        number = float(value)
        dims = tuple(sorted((str(k), str(v)) for k, v in dimensions.items()))
        with _lock:
            group = _buffer.setdefault(dims, {})
            entry = group.setdefault(name, (unit, []))
            entry[1].append(number)
            _buffered += 1
            if not in_lambda():  # inside Lambda the EMF lines are the record: keep nothing
                _recorded.append(RecordedMetric(name, number, unit, dict(dims)))
            full = _buffered >= _FLUSH_AT or len(entry[1]) >= _FLUSH_AT
        if full:
            flush_metrics()
    except Exception as exc:  # noqa: BLE001 - metrics must never break the work they describe
        logger.warning("metric dropped", extra={"metric": name, "error": type(exc).__name__})


def flush_metrics() -> int:
    """Write the buffered metrics as EMF (inside Lambda); return how many values were flushed."""
    global _buffered
    with _lock:
        pending = dict(_buffer)
        count = _buffered
        _buffer.clear()
        _buffered = 0
    if not pending or not in_lambda():
        return count
    try:
        from aws_lambda_powertools.metrics import EphemeralMetrics

        namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE
        for dims, metrics in pending.items():
            emf = EphemeralMetrics(namespace=namespace, service=os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE)
            for key, value in dims:
                emf.add_dimension(name=key, value=value)
            for name, (unit, values) in metrics.items():
                for v in values:
                    emf.add_metric(name=name, unit=unit, value=v)
            emf.flush_metrics()
    except Exception as exc:  # noqa: BLE001 - same: a lost metric is a warning, not a failure
        logger.warning("metrics not flushed", extra={"error": type(exc).__name__, "detail": str(exc)[:200]})
    return count


def recorded_metrics(name: str | None = None) -> list[RecordedMetric]:
    """Every metric recorded by this process outside Lambda (most recent 10,000), for tests and the local stack."""
    with _lock:
        return [m for m in _recorded if name is None or m.name == name]


def reset_metrics() -> None:
    global _buffered
    with _lock:
        _buffer.clear()
        _buffered = 0
        _recorded.clear()


# --- tracing -------------------------------------------------------------------------------

_tracer: Any = None
_tracer_checked = False


def tracer() -> Any:
    """The Powertools Tracer inside Lambda when aws_xray_sdk is installed; else None."""
    global _tracer, _tracer_checked
    if _tracer_checked:
        return _tracer
    _tracer_checked = True
    if not in_lambda() or os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() in ("1", "true"):
        return None
    try:
        import aws_xray_sdk  # noqa: F401 - only probing: the Tracer needs it
    except ImportError:
        return None
    from aws_lambda_powertools import Tracer

    # Patches botocore, requests and httpx: each DynamoDB, SQS, KMS and provider call is a subsegment.
    _tracer = Tracer(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE)
    return _tracer


@contextmanager
def traced(name: str, **annotations: str | int | bool) -> Iterator[Any]:
    """An X-Ray subsegment around a block when tracing is on; a no-op otherwise."""
    active = tracer()
    if active is None:
        yield None
        return
    with active.provider.in_subsegment(name) as subsegment:
        for key, value in annotations.items():
            subsegment.put_annotation(key, value)
        yield subsegment


# --- per invocation ------------------------------------------------------------------------

_cold_start = True
_LAMBDA_KEYS = ["cold_start", "function_name", "function_memory_size", "function_arn", "function_request_id"]


def _lambda_context(event: Any) -> Any:
    return getattr(event, "context", None) or getattr(event, "lambda_context", None)


def invocation_middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice middleware for every event type (``app.register_middleware(..., "all")``).

    Puts the invocation's context on every log line, wraps the handler in a subsegment when
    tracing is on, and flushes the metrics the handler recorded, whatever it returned or raised.
    """
    global _cold_start
    context = _lambda_context(event)
    cold, _cold_start = _cold_start, False
    if context is not None and getattr(context, "aws_request_id", None):
        logger.append_keys(cold_start=cold, function_name=getattr(context, "function_name", None),
                           function_memory_size=getattr(context, "memory_limit_in_mb", None),
                           function_arn=getattr(context, "invoked_function_arn", None),
                           function_request_id=context.aws_request_id)
    try:
        with traced(f"## {getattr(context, 'function_name', None) or 'handler'}", ColdStart=cold, Service=SERVICE):
            return get_response(event)
    finally:
        flush_metrics()
        logger.remove_keys([*_LAMBDA_KEYS, "account_id"])
