"""The renewal index on both backends: sparse, sharded, ranged by the period's end; renewed once."""

from __future__ import annotations

from datetime import timedelta

from chalicelib import timeutil
from chalicelib.models.billing import RENEWAL_SHARD, CreditBalance
from chalicelib.models.shards import shard, shard_keys
from chalicelib.services import identity, plan_renewals
from chalicelib.services.ledger import get_balance


def due(now) -> set[str]:
    return {item.account_id for key in shard_keys(RENEWAL_SHARD)
            for item in CreditBalance.renewals_due.query(key, CreditBalance.period_end <= now)}


def test_a_free_account_is_due_at_its_period_end_and_renewed_once(ddb, monkeypatch):
    emitted: list[str] = []  # no queues here: the event's key is what matters (tests/workers send it)
    monkeypatch.setattr(plan_renewals.account_events, "emit", lambda account_id, event, data, key: emitted.append(key))
    account, _, _ = identity.register(account_name="Free", email="free@example.com", password="x" * 12)
    bal = get_balance(account.account_id)
    assert bal.renewal_shard == shard(account.account_id, RENEWAL_SHARD)
    assert account.account_id not in due(timeutil.utcnow())
    later = bal.period_end + timedelta(seconds=1)
    assert due(later) == {account.account_id}
    assert plan_renewals.renew(account.account_id, later) == "renewed"
    assert plan_renewals.renew(account.account_id, later) == "not_due"  # a duplicate tick
    assert due(later) == set()
    assert get_balance(account.account_id).period_start == bal.period_end
    assert len(emitted) == 1
