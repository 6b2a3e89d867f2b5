"""chalicelib.messages: one envelope (``"v": 1``), batches of 10, refused entries retried or raised."""

from __future__ import annotations

import json

import boto3
import pytest

from chalicelib import aws as aws_clients
from chalicelib import messages, registry
from chalicelib.messages import PublishItem

PUBLISH = registry.queue("publish_content")


def _item(n: int) -> PublishItem:
    return PublishItem(account_id="a", site_id="s", content_id=f"c{n}")


def _receive_all(queue_key: str) -> list[dict]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.get_queue_url(QueueName=registry.queue(queue_key).name)["QueueUrl"]
    out: list[dict] = []
    while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        out += [json.loads(m["Body"]) for m in got]
    return out


def test_every_message_goes_in_batches_of_ten_in_the_current_envelope(aws):
    aws_clients.reset()
    sent = messages.send(PUBLISH, [_item(n) for n in range(23)])
    bodies = _receive_all("publish_content")
    assert sent == 23 and len(bodies) == 23
    assert all(b["v"] == messages.VERSION == 1 for b in bodies)
    assert sorted(b["content_id"] for b in bodies) == sorted(f"c{n}" for n in range(23))


class _Refusing:
    """SQS answering some entries with ``Failed`` (the one thing moto never does)."""

    def __init__(self, refusals: list[dict]) -> None:
        self.refusals = refusals
        self.calls: list[list[str]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict]) -> dict:  # noqa: N803 - boto3's names
        self.calls.append([e["Id"] for e in Entries])
        failed = [{"Id": e["Id"], **self.refusals.pop(0)} for e in Entries[:1]] if self.refusals else []
        return {"Successful": [{"Id": e["Id"]} for e in Entries if e["Id"] not in {f["Id"] for f in failed}],
                "Failed": failed}


def _with_sqs(monkeypatch: pytest.MonkeyPatch, fake: _Refusing) -> None:
    monkeypatch.setattr(messages.aws, "client", lambda service: fake)
    monkeypatch.setattr(messages.aws, "queue_url", lambda name: f"https://sqs/{name}")
    monkeypatch.setattr(messages.time, "sleep", lambda seconds: None)


def test_an_entry_sqs_failed_on_its_side_is_sent_again_alone(monkeypatch):
    fake = _Refusing([{"Code": "InternalError", "SenderFault": False, "Message": "try again"}])
    _with_sqs(monkeypatch, fake)
    assert messages.send(PUBLISH, [_item(n) for n in range(3)]) == 3
    assert fake.calls == [["0", "1", "2"], ["0"]]


def test_an_entry_refused_for_good_or_again_and_again_raises(monkeypatch):
    _with_sqs(monkeypatch, _Refusing([{"Code": "InvalidMessageContents", "SenderFault": True, "Message": "bad"}]))
    with pytest.raises(messages.SendFailed, match="InvalidMessageContents"):
        messages.send(PUBLISH, [_item(1)])
    fake = _Refusing([{"Code": "ServiceUnavailable", "SenderFault": False}] * messages.SEND_ATTEMPTS)
    _with_sqs(monkeypatch, fake)
    with pytest.raises(messages.SendFailed, match="kept refusing 1"):
        messages.send(PUBLISH, [_item(1)])
    assert len(fake.calls) == messages.SEND_ATTEMPTS


class _Account(messages.Message):
    account_id: messages.Id


@pytest.mark.parametrize(("body", "error"), [
    ('{"v": 2, "account_id": "a"}', "version 2 is not supported: this code reads version 1"),
    ('{"account_id": "a"}', "version None is not supported"),
    ('{"v": 1}', "lacks account_id"),
    ("[1]", "not a JSON object"),
    ("{", "not JSON"),
])
def test_a_body_of_an_unknown_version_or_shape_is_refused_by_name(body, error):
    with pytest.raises(messages.UnsupportedMessage, match=error):
        messages.parse(_Account, body)
    assert messages.parse(_Account, '{"v": 1, "account_id": "a"}').model_dump() == {"v": 1, "account_id": "a"}


def test_a_queue_takes_only_its_own_message_model(monkeypatch):
    fake = _Refusing([])
    _with_sqs(monkeypatch, fake)
    stage = messages.StageItem(stage="create_tasks", account_id="a", site_id="s", job_id="j", item_id="i")
    with pytest.raises(TypeError, match="publish_content carries PublishItem, not StageItem"):
        messages.send(PUBLISH, [_item(1), stage])
    with pytest.raises(ValueError, match="writes message version 1, not 2"):
        messages.send(PUBLISH, [PublishItem(v=2, account_id="a", site_id="s", content_id="c")])
    assert fake.calls == []  # nothing of a refused batch is sent


@pytest.mark.parametrize(("model", "body", "error"), [
    (messages.AutomationEvent, '{"v": 1, "type": "start_stage", "account_id": "a", "site_id": "s", "run_id": "r"}',
     "a start_stage event carries stage_index"),
    (messages.AutomationEvent, '{"v": 1, "type": "job_finished", "account_id": "a", "site_id": "s", "run_id": "r"}',
     "a job_finished event carries job_id"),
    (messages.AutomationEvent, '{"v": 1, "type": "resume", "account_id": "a", "site_id": "s", "run_id": "r"}',
     "the message's type"),
    (messages.DeletionTurn, '{"v": 1, "account_id": "a", "target": "site#s", "after": "1"}', "the message's after"),
    (PublishItem, '{"v": 1, "account_id": "", "site_id": "s", "content_id": "c"}', "lacks account_id"),
])
def test_each_queue_kind_reads_only_complete_messages(model, body, error):
    with pytest.raises(messages.UnsupportedMessage, match=error):
        messages.parse(model, body)


def test_every_queue_declares_its_model_and_its_dead_letters_are_read_with_it():
    for queue in registry.consumed_queues():
        assert issubclass(queue.message, messages.Message)
        if queue.dead_letters_of is not None:
            assert queue.message is registry.queue(queue.dead_letters_of).message
    assert registry.STAGE_NAMES == tuple(q.key for q in registry.QUEUES if q.message is messages.StageItem)
