"""The local stand-in for Lambda's SQS event source mappings.

For each queue a function drains (``registry.consumed_queues()``: the work queues, then the
dead-letter queues with a consumer) whose handler is registered on the Chalice app
(``@app.on_sqs_message`` on a function named ``QueueDef.handler_name``), the loop receives
messages, builds the event Lambda would build, calls the very same handler function and
then does what the event source mapping does with ``ReportBatchItemFailures`` switched on
(the cloud template sets it; Chalice cannot):

* records not listed in ``batchItemFailures`` are deleted;
* listed records, or every record when the handler raises or answers with an invalid
  response, stay on the queue. Lambda leaves them invisible for the queue's visibility
  timeout (12 minutes here); locally that is shortened to a small backoff with
  ChangeMessageVisibility so retries are seen in seconds.

Dead-lettering is SQS's own: once a message has been received ``maxReceiveCount`` times, the
next ReceiveMessage moves it to the DLQ named in the queue's RedrivePolicy. moto implements
that on receive exactly like SQS (checked in moto 5.2: ``SQSBackend.receive_message``), so
the loop does not move anything itself; tests/workers prove the message lands in the DLQ.

Two ways to run it: ``start()`` / ``stop()`` (threads that long-poll, used by the local
stack: ``concurrency`` threads per queue, or with ``pool=N`` N threads in all that go from
queue to queue) and ``drain()`` (synchronous, for tests and scripts).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
from chalice import Chalice

from chalicelib import config
from chalicelib.registry import QueueDef, consumed_queues
from infra.local.lambda_shim import AppHandlers, Handler, LambdaContext, sqs_record

log = logging.getLogger("infra.worker")

SQS_MAX_BATCH = 10


def exponential_backoff(base_seconds: float = 1.0, cap_seconds: int = 30) -> Callable[[int], int]:
    """Visibility delay before retry ``n`` (n = receives so far): base, 2*base, 4*base, ... capped."""

    def delay(receive_count: int) -> int:
        if base_seconds <= 0:
            return 0
        return int(min(cap_seconds, base_seconds * 2 ** max(0, receive_count - 1)))

    return delay


@dataclass
class QueueBinding:
    """A registry queue bound to its registered handler."""

    queue: QueueDef
    handler: Handler
    url: str
    arn: str
    batch_size: int
    function_name: str


@dataclass
class BatchResult:
    queue: str
    message_ids: list[str]
    failed_ids: list[str]
    error: str | None
    millis: float
    response: Any = None

    @property
    def size(self) -> int:
        return len(self.message_ids)

    @property
    def succeeded_ids(self) -> list[str]:
        failed = set(self.failed_ids)
        return [m for m in self.message_ids if m not in failed]


@dataclass
class WorkerStats:
    batches: int = 0
    messages: int = 0
    failed: int = 0
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, result: BatchResult) -> None:
        with self.lock:
            self.batches += 1
            self.messages += result.size
            self.failed += len(result.failed_ids)
            self.errors += 1 if result.error else 0


def failed_message_ids(response: Any, message_ids: list[str]) -> tuple[list[str], str | None]:
    """The ids Lambda would treat as failed, given a handler's return value.

    As documented for ReportBatchItemFailures: no response, an empty response or an empty
    list is full success; a response that is not JSON, or an itemIdentifier that is
    missing, empty or not one of the batch's message ids, fails the whole batch.
    """
    if response is None:
        return [], None
    try:
        response = json.loads(json.dumps(response))
    except (TypeError, ValueError):
        return list(message_ids), "handler returned a response that is not JSON"
    if not isinstance(response, dict):
        return list(message_ids), f"handler returned {type(response).__name__}, not an object"
    failures = response.get("batchItemFailures")
    if not failures:
        return [], None
    if not isinstance(failures, list):
        return list(message_ids), "batchItemFailures is not a list"
    known = set(message_ids)
    failed: list[str] = []
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in known:
            return list(message_ids), f"invalid itemIdentifier {identifier!r}"
        if identifier not in failed:
            failed.append(identifier)
    return failed, None


class WorkerLoop:
    """Polls the queues that have handlers and calls those handlers as Lambda would."""

    def __init__(
        self,
        app: ModuleType | Chalice,
        *,
        queues: Iterable[QueueDef] | None = None,
        sqs: Any | None = None,
        concurrency: int = 1,
        wait_seconds: int = 1,
        backoff: Callable[[int], int] | None = None,
        region: str | None = None,
        pool: int | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if pool is not None and pool < 1:
            raise ValueError("pool must be at least 1")
        # pool: this many threads in all, shared by every queue (an account's Lambda concurrency),
        # instead of ``concurrency`` threads per queue.
        self.pool = pool
        self.handlers = AppHandlers(app)
        self.region = region or config.region()
        self.sqs = sqs or boto3.client("sqs", region_name=self.region)
        self.concurrency = concurrency
        self.wait_seconds = wait_seconds
        self.backoff = backoff or exponential_backoff()
        self.stats = WorkerStats()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.bindings: list[QueueBinding] = []
        self.unhandled: list[QueueDef] = []
        # Every queue a function drains: the work queues and the dead-letter queues with a consumer.
        for q in consumed_queues() if queues is None else queues:
            found = self.handlers.sqs_handler(q.handler_name)
            if found is None:
                self.unhandled.append(q)
                continue
            handler, source = found
            if source.queue and source.queue != q.name:
                log.warning("%s is registered on queue %s but the registry names it %s; polling %s",
                            q.handler_name, source.queue, q.name, q.name)
            url = self.sqs.get_queue_url(QueueName=q.name)["QueueUrl"]
            arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            self.bindings.append(QueueBinding(
                queue=q, handler=handler, url=url, arn=arn,
                batch_size=max(1, min(SQS_MAX_BATCH, source.batch_size or q.batch_size)),
                function_name=self.handlers.function_name(q.handler_name),
            ))

    # -- one batch ------------------------------------------------------------------------

    def receive(self, binding: QueueBinding, wait_seconds: int = 0) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=binding.url,
            MaxNumberOfMessages=binding.batch_size,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def process(self, binding: QueueBinding, messages: list[dict[str, Any]]) -> BatchResult:
        """Invoke the handler with one batch and settle each message as Lambda would."""
        event = {"Records": [sqs_record(m, queue_arn=binding.arn, region=self.region) for m in messages]}
        ids = [m["MessageId"] for m in messages]
        context = LambdaContext(binding.function_name, timeout_seconds=binding.queue.function_timeout,
                                memory_limit_in_mb=binding.queue.memory_mb, region=self.region)
        started = time.perf_counter()
        response: Any = None
        try:
            response = binding.handler(event, context)
            failed, error = failed_message_ids(response, ids)
        except Exception as exc:
            log.exception("%s raised; the whole batch of %d will be retried", binding.queue.handler_name, len(ids))
            failed, error = list(ids), f"{type(exc).__name__}: {exc}"
        millis = (time.perf_counter() - started) * 1000
        self._settle(binding, messages, set(failed))
        result = BatchResult(binding.queue.name, ids, failed, error, millis, response)
        self.stats.add(result)
        log.info("batch queue=%s size=%d failed=%d ms=%.0f%s", binding.queue.name, result.size,
                 len(failed), millis, f" error={error}" if error else "")
        return result

    def _settle(self, binding: QueueBinding, messages: list[dict[str, Any]], failed: set[str]) -> None:
        done = [m for m in messages if m["MessageId"] not in failed]
        retry = [m for m in messages if m["MessageId"] in failed]
        if done:
            self.sqs.delete_message_batch(QueueUrl=binding.url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        if retry:
            self.sqs.change_message_visibility_batch(QueueUrl=binding.url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"],
                 "VisibilityTimeout": self.backoff(int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")))}
                for i, m in enumerate(retry)])

    # -- synchronous: tests and scripts ---------------------------------------------------

    def pending(self) -> dict[str, int]:
        """Messages still on each bound queue, visible or in flight (waiting for a retry)."""
        counts: dict[str, int] = {}
        for b in self.bindings:
            attrs = self.sqs.get_queue_attributes(QueueUrl=b.url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed"])["Attributes"]
            counts[b.queue.name] = sum(int(v) for v in attrs.values())
        return counts

    def drain(self, until_empty: bool = True, max_seconds: float = 30.0) -> list[BatchResult]:
        """Process messages on the calling thread and return the batches handled.

        ``until_empty``: keep going until every bound queue is empty, waiting out retry
        backoffs (so a failing message ends in its DLQ); otherwise stop as soon as no
        message is visible. Raises TimeoutError after ``max_seconds``.
        """
        deadline = time.monotonic() + max_seconds
        results: list[BatchResult] = []
        while True:
            progressed = False
            for binding in self.bindings:
                messages = self.receive(binding)
                if messages:
                    results.append(self.process(binding, messages))
                    progressed = True
            if time.monotonic() > deadline:
                raise TimeoutError(f"queues not drained after {max_seconds}s: {self.pending()}")
            if progressed:
                continue
            if not until_empty or not any(self.pending().values()):
                return results
            time.sleep(0.05)

    # -- background threads: the local stack ----------------------------------------------

    def start(self) -> None:
        if self._threads:
            raise RuntimeError("the worker loop is already running")
        self._stop.clear()
        if self.pool is not None:
            for n in range(self.pool if self.bindings else 0):
                thread = threading.Thread(target=self._run_shared, args=(n,), daemon=True, name=f"worker-{n}")
                thread.start()
                self._threads.append(thread)
            return
        for binding in self.bindings:
            for n in range(self.concurrency):
                thread = threading.Thread(target=self._run, args=(binding,), daemon=True,
                                          name=f"worker-{binding.queue.key}-{n}")
                thread.start()
                self._threads.append(thread)

    def _run(self, binding: QueueBinding) -> None:
        while not self._stop.is_set():
            try:
                messages = self.receive(binding, wait_seconds=self.wait_seconds)
                if messages:
                    self.process(binding, messages)
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("polling %s failed; retrying in 1s", binding.queue.name)
                self._stop.wait(1.0)

    def _run_shared(self, offset: int) -> None:
        """A pool thread: stays on a queue while it has messages, else long-polls the next one."""
        index = offset % len(self.bindings)
        while not self._stop.is_set():
            binding = self.bindings[index]
            try:
                messages = self.receive(binding, wait_seconds=self.wait_seconds)
                if messages:
                    self.process(binding, messages)
                    continue
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("polling %s failed; retrying in 1s", binding.queue.name)
                self._stop.wait(1.0)
            index = (index + 1) % len(self.bindings)

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask every thread to finish its current batch and wait for them."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in self._threads if t.is_alive()]
        if stuck:
            log.warning("worker threads still busy after %.0fs: %s", timeout, ", ".join(stuck))
        self._threads = []
