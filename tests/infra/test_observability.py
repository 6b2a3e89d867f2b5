"""Logger, metrics and tracer behave in Lambda and stay quiet and harmless outside it."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib import observability
from chalicelib.observability import log_context, logger, metric, recorded_metrics

LogLines = Callable[[], list[dict[str, Any]]]


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    observability.reset_metrics()
    monkeypatch.setattr(observability, "_tracer_checked", False)
    monkeypatch.setattr(observability, "_tracer", None)
    yield
    observability.reset_metrics()


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    """What the logger writes, as parsed JSON lines (read it after logging)."""
    handler = logger.registered_handler
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    finally:
        handler.setStream(previous)


def _lambda_event() -> SimpleNamespace:
    context = SimpleNamespace(aws_request_id="req-123", function_name="seo-content-engine-prod-worker_x",
                              memory_limit_in_mb=512, invoked_function_arn="arn:aws:lambda:us-east-1:1:function:x")
    return SimpleNamespace(context=context)


def _emf(stdout: str) -> list[dict[str, Any]]:
    blobs = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return [b for b in blobs if "_aws" in b]


def test_outside_lambda_metrics_are_recorded_not_printed(capsys: pytest.CaptureFixture[str]) -> None:
    metric("ItemsProcessed", 1, "Count", stage="generate_content")
    metric("CreditsSpent", 3, credit_type="content")
    assert observability.flush_metrics() == 2
    assert capsys.readouterr().out == ""
    assert [(m.name, m.value, m.dimensions) for m in recorded_metrics()] == [
        ("ItemsProcessed", 1.0, {"stage": "generate_content"}), ("CreditsSpent", 3.0, {"credit_type": "content"})]


def test_a_bad_metric_never_raises() -> None:
    metric("Broken", "not a number")  # type: ignore[arg-type]
    assert recorded_metrics("Broken") == []


def test_in_lambda_the_middleware_flushes_emf_and_binds_the_request(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], log_lines: LogLines) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "seo-content-engine-prod-worker_x")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")

    def handler(event: Any) -> dict[str, Any]:
        metric("ItemsProcessed", 1, "Count", stage="generate_ideas")
        metric("ItemsProcessed", 1, "Count", stage="generate_ideas")
        metric("ItemsFailed", 1, "Count", stage="generate_ideas")
        with log_context(account_id="acc-1"):
            logger.warning("worked")
        return {"batchItemFailures": []}

    assert observability.invocation_middleware(_lambda_event(), handler) == {"batchItemFailures": []}
    logger.warning("after")
    blobs = _emf(capsys.readouterr().out)
    assert len(blobs) == 1
    blob = blobs[0]
    directive = blob["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "SeoContentEngine"
    assert set(directive["Dimensions"][0]) == {"service", "stage"}
    assert blob["stage"] == "generate_ideas" and blob["ItemsProcessed"] == [1.0, 1.0]
    assert blob["ItemsFailed"] in (1.0, [1.0])
    lines = log_lines()
    worked = next(line for line in lines if line["message"] == "worked")
    assert worked["function_request_id"] == "req-123" and worked["account_id"] == "acc-1"
    assert worked["cold_start"] in (True, False)
    after = next(line for line in lines if line["message"] == "after")
    assert "function_request_id" not in after and "account_id" not in after


def test_metrics_are_flushed_even_when_the_handler_raises(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "f")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")

    def handler(event: Any) -> None:
        metric("PublishOutcome", 1, outcome="failed")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        observability.invocation_middleware(_lambda_event(), handler)
    assert _emf(capsys.readouterr().out)[0]["outcome"] == "failed"


def test_secrets_are_masked_in_log_fields(log_lines: LogLines) -> None:
    logger.warning("provider saved", extra={"api_key": "sk-live-123", "provider": "openai",
                                            "body": {"password": "hunter2", "input_tokens": 12},
                                            "refresh_token": "rt-1", "input_tokens": 7})
    lines = log_lines()
    text = json.dumps(lines)
    assert "sk-live-123" not in text and "hunter2" not in text and "rt-1" not in text
    line = lines[0]
    assert line["api_key"] == "***" and line["body"]["password"] == "***"
    assert line["input_tokens"] == 7 and line["body"]["input_tokens"] == 12 and line["provider"] == "openai"


def test_no_tracer_outside_lambda_or_when_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    assert observability.tracer() is None
    monkeypatch.setattr(observability, "_tracer_checked", False)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "f")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    assert observability.tracer() is None
    with observability.traced("## anything") as segment:
        assert segment is None


def test_app_registers_the_invocation_middleware_for_every_event_type() -> None:
    from app import app

    assert (observability.invocation_middleware, "all") in app.middleware_handlers


def test_a_warm_lambda_container_keeps_no_metric_after_the_flush(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Inside Lambda the EMF lines are the record: 10,000 kept metrics would be ~5 MiB for nothing."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "f")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")

    def handler(event: Any) -> None:
        for _ in range(500):
            metric("ItemsProcessed", 1, "Count", stage="generate_ideas")

    observability.invocation_middleware(_lambda_event(), handler)
    assert _emf(capsys.readouterr().out)
    assert recorded_metrics() == []
    assert observability.flush_metrics() == 0, "nothing is left buffered"
