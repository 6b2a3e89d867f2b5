"""The local worker loop: Lambda's SQS event shape and partial-batch semantics, on moto."""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from typing import Any

import boto3
import pytest
import worker_test_app as test_app

from chalicelib.registry import DEAD_LETTER_QUEUES, consumed_queues, queue
from infra.local.worker import BatchResult, WorkerLoop, exponential_backoff, failed_message_ids

CLUSTER = queue("cluster_keywords")


@pytest.fixture
def sqs(aws) -> Any:
    test_app.reset()
    return boto3.client("sqs", region_name="us-east-1")


def make_loop(**kw: Any) -> WorkerLoop:
    kw.setdefault("backoff", lambda receive_count: 0)
    return WorkerLoop(test_app, **kw)


def send(sqs: Any, *bodies: str, **kw: Any) -> list[str]:
    url = sqs.get_queue_url(QueueName=CLUSTER.name)["QueueUrl"]
    return [sqs.send_message(QueueUrl=url, MessageBody=b, **kw)["MessageId"] for b in bodies]


def records_by_body() -> dict[str, list[dict[str, Any]]]:
    seen: dict[str, list[dict[str, Any]]] = {}
    for event in test_app.events:
        for record in event["Records"]:
            seen.setdefault(record["body"], []).append(record)
    return seen


def dlq_bodies(sqs: Any) -> list[str]:
    url = sqs.get_queue_url(QueueName=CLUSTER.dlq_name)["QueueUrl"]
    bodies: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return sorted(bodies)
        bodies += [m["Body"] for m in got]
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])


def test_binds_only_queues_whose_handler_is_registered(sqs):
    loop = make_loop()
    assert [b.queue.key for b in loop.bindings] == ["cluster_keywords"]
    # worker_generate_ideas exists on the module but is not an SQS event source.
    assert {q.key for q in loop.unhandled} == {q.key for q in consumed_queues()} - {"cluster_keywords"}
    binding = loop.bindings[0]
    assert binding.batch_size == CLUSTER.batch_size
    assert binding.arn.endswith(f":{CLUSTER.name}")


def test_accepts_the_app_object_as_well_as_the_module(sqs):
    assert [b.queue.key for b in WorkerLoop(test_app.app).bindings] == ["cluster_keywords"]


def test_real_app_builds_a_loop(sqs):
    import app as real_app

    loop = WorkerLoop(real_app)
    assert len(loop.bindings) + len(loop.unhandled) == len(consumed_queues())
    # every dead-letter queue with a consumer is drained locally as in the cloud
    assert {b.queue.key for b in loop.bindings} >= {q.key for q in DEAD_LETTER_QUEUES}


def test_batch_has_lambdas_sqs_event_shape(sqs):
    ids = send(sqs, "alpha", "beta")
    ids += send(sqs, "gamma", MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "keyword"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    })
    results = make_loop().drain()

    assert len(results) == 1 and results[0].size == 3 and results[0].failed_ids == []
    assert len(test_app.events) == 1
    records = test_app.events[0]["Records"]
    assert sorted(r["messageId"] for r in records) == sorted(ids)
    assert len({r["messageId"] for r in records}) == 3
    assert len({r["receiptHandle"] for r in records}) == 3
    arn = make_loop().bindings[0].arn
    for r in records:
        assert set(r) >= {"messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
                          "eventSource", "eventSourceARN", "awsRegion"}
        assert r["eventSource"] == "aws:sqs"
        assert r["eventSourceARN"] == arn
        assert r["awsRegion"] == "us-east-1"
        assert r["md5OfBody"] == hashlib.md5(r["body"].encode(), usedforsecurity=False).hexdigest()
        attrs = r["attributes"]
        assert attrs["ApproximateReceiveCount"] == "1"
        assert attrs["SentTimestamp"].isdigit()
        assert attrs["ApproximateFirstReceiveTimestamp"].isdigit()
        assert "SenderId" in attrs
    gamma = next(r for r in records if r["body"] == "gamma")
    assert gamma["messageAttributes"]["kind"] == {
        "stringValue": "keyword", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
    assert gamma["messageAttributes"]["blob"]["binaryValue"] == "AAE="
    assert "md5OfMessageAttributes" in gamma
    assert next(r for r in records if r["body"] == "alpha")["messageAttributes"] == {}

    context = test_app.contexts[0]
    assert context.function_name == "worker-test-app-dev-worker_cluster_keywords"
    assert 0 < context.get_remaining_time_in_millis() <= CLUSTER.function_timeout * 1000
    assert context.aws_request_id


def test_partial_failure_deletes_successes_and_dead_letters_the_failure(sqs):
    ok1, bad, ok2 = send(sqs, "ok-1", "fail-1", "ok-2")
    results = make_loop().drain(max_seconds=20)

    first: BatchResult = results[0]
    assert first.failed_ids == [bad] and sorted(first.succeeded_ids) == sorted([ok1, ok2])
    seen = records_by_body()
    # Succeeded records were deleted: delivered once, never again.
    assert len(seen["ok-1"]) == 1 and len(seen["ok-2"]) == 1
    # The failed one was re-delivered until maxReceiveCount, then SQS's redrive moved it.
    counts = [int(r["attributes"]["ApproximateReceiveCount"]) for r in seen["fail-1"]]
    assert counts == list(range(1, CLUSTER.max_receive_count + 1))
    assert {r["messageId"] for r in seen["fail-1"]} == {bad}
    assert make_loop().pending() == {CLUSTER.name: 0}
    assert dlq_bodies(sqs) == ["fail-1"]


def test_handler_exception_retries_the_whole_batch(sqs):
    send(sqs, "ok-a", "raise-once:x")
    results = make_loop().drain(max_seconds=20)

    assert results[0].error and "RuntimeError" in results[0].error
    assert sorted(results[0].failed_ids) == sorted(results[0].message_ids)
    seen = records_by_body()
    assert [r["attributes"]["ApproximateReceiveCount"] for r in seen["ok-a"]] == ["1", "2"]
    assert [r["attributes"]["ApproximateReceiveCount"] for r in seen["raise-once:x"]] == ["1", "2"]
    assert results[-1].failed_ids == [] and results[-1].error is None
    assert dlq_bodies(sqs) == []


def test_invalid_item_identifier_fails_the_whole_batch(sqs):
    send(sqs, "bad-id", "ok-z")
    results = make_loop().drain(max_seconds=20)

    assert "invalid itemIdentifier" in (results[0].error or "")
    assert Counter(len(v) for v in records_by_body().values()) == {CLUSTER.max_receive_count: 2}
    assert dlq_bodies(sqs) == ["bad-id", "ok-z"]


def test_failed_message_waits_out_its_backoff(sqs):
    send(sqs, "fail-slow")
    loop = make_loop(backoff=lambda receive_count: 30)
    assert len(loop.drain(until_empty=False)) == 1
    assert loop.drain(until_empty=False) == []  # invisible for 30 s: not retried at once
    assert loop.pending() == {CLUSTER.name: 1}
    with pytest.raises(TimeoutError):
        loop.drain(until_empty=True, max_seconds=0.3)


def test_background_threads_process_and_stop(sqs):
    loop = make_loop(concurrency=2, wait_seconds=1)
    loop.start()
    try:
        assert loop.running
        send(sqs, *(f"msg-{i}" for i in range(7)))
        deadline = time.monotonic() + 15
        while loop.stats.messages < 7 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        loop.stop(timeout=10)
    assert not loop.running
    assert loop.stats.messages == 7 and loop.stats.failed == 0
    assert sorted(records_by_body()) == sorted(f"msg-{i}" for i in range(7))
    assert loop.pending() == {CLUSTER.name: 0}


def test_a_shared_pool_of_threads_serves_every_queue(sqs):
    loop = make_loop(pool=3, wait_seconds=1)
    loop.start()
    try:
        assert len(loop._threads) == 3
        send(sqs, *(f"pool-{i}" for i in range(7)))
        deadline = time.monotonic() + 15
        while loop.stats.messages < 7 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        loop.stop(timeout=10)
    assert not loop.running and loop.stats.messages == 7
    assert sorted(records_by_body()) == sorted(f"pool-{i}" for i in range(7))
    with pytest.raises(ValueError):
        make_loop(pool=0)


def test_failed_message_ids_follows_lambdas_rules():
    ids = ["a", "b", "c"]
    assert failed_message_ids(None, ids) == ([], None)
    assert failed_message_ids({}, ids) == ([], None)
    assert failed_message_ids({"batchItemFailures": []}, ids) == ([], None)
    assert failed_message_ids({"batchItemFailures": None}, ids) == ([], None)
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "b"}, {"itemIdentifier": "b"}]},
                              ids) == (["b"], None)
    for bad in ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"batchItemFailures": [{"itemIdentifier": None}]},
                {"batchItemFailures": [{"id": "a"}]}, {"batchItemFailures": [{"itemIdentifier": "zz"}]},
                {"batchItemFailures": "a"}, ["a"], {"batchItemFailures": [{"itemIdentifier": object()}]}):
        failed, error = failed_message_ids(bad, ids)
        assert failed == ids and error, bad


def test_exponential_backoff():
    delay = exponential_backoff(1.0, cap_seconds=30)
    assert [delay(n) for n in (1, 2, 3, 4, 5, 6, 9)] == [1, 2, 4, 8, 16, 30, 30]
    assert exponential_backoff(0)(3) == 0
