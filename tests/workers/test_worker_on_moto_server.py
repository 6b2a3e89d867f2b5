"""The worker loop as the stack runs it: threads long-polling moto's real server over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import worker_test_app as test_app

from chalicelib.registry import queue
from infra.local import provision
from infra.local.processes import free_port, spawn, venv_tool, wait_for_port
from infra.local.worker import WorkerLoop

CLUSTER = queue("cluster_keywords")


@pytest.fixture
def server_sqs(tmp_path) -> Iterator[Any]:
    port = free_port()
    moto = spawn("moto", [venv_tool("moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                 log_path=tmp_path / "moto.log")
    try:
        wait_for_port(port, timeout=30, alive=moto.alive)
        client = boto3.client("sqs", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{port}")
        provision.create_queues(client)
        test_app.reset()
        yield client
    finally:
        moto.stop()


def test_threads_settle_batches_and_redrive_on_moto_server(server_sqs):
    url = server_sqs.get_queue_url(QueueName=CLUSTER.name)["QueueUrl"]
    dlq_url = server_sqs.get_queue_url(QueueName=CLUSTER.dlq_name)["QueueUrl"]
    loop = WorkerLoop(test_app, sqs=server_sqs, concurrency=2, wait_seconds=1, backoff=lambda n: 0)
    loop.start()
    try:
        for body in ("ok-1", "fail-1", "ok-2", "raise-once:t"):
            server_sqs.send_message(QueueUrl=url, MessageBody=body)
        deadline = time.monotonic() + 30
        dead: list[dict[str, Any]] = []
        while not dead and time.monotonic() < deadline:
            dead = server_sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1).get("Messages", [])
    finally:
        loop.stop(timeout=15)

    assert [m["Body"] for m in dead] == ["fail-1"]
    seen: dict[str, list[str]] = {}
    for event in test_app.events:
        for record in event["Records"]:
            seen.setdefault(record["body"], []).append(record["attributes"]["ApproximateReceiveCount"])
    assert seen["fail-1"] == [str(n) for n in range(1, CLUSTER.max_receive_count + 1)]
    assert seen["raise-once:t"][-1] == "2"  # raised once, then succeeded
    assert all(count[-1] in ("1", "2") for body, count in seen.items() if body.startswith("ok"))
    assert loop.pending() == {CLUSTER.name: 0}
