"""The data toolkit on both backends: conditional writes, labelled transactions, stamped updates."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from chalicelib.errors import Conflict, NotFound
from chalicelib.models.accounts import Account, Industry
from chalicelib.models.conditions import conditional, is_condition_failure
from chalicelib.models.transactions import ConditionsFailed, Transaction, optimistic
from chalicelib.timeutil import utcnow


def _account(account_id: str = "acc-1", **extra) -> Account:
    account = Account(account_id, name="Acme", plan_id="free", owner_user_id="u-1", **extra)
    account.save()
    return account


def test_a_failed_condition_becomes_the_error_the_caller_names(ddb):
    ghost = Account("missing", name="x", plan_id="free", owner_user_id="u")
    with pytest.raises(NotFound) as caught:
        with conditional(otherwise=NotFound("Account")):
            ghost.update(actions=[Account.name.set("y")], condition=Account.account_id.exists())
    assert caught.value.message == "Account not found."


def test_a_failed_condition_without_an_error_is_recorded_and_swallowed(ddb):
    account = _account()
    with conditional() as write:
        account.update(actions=[Account.site_count.add(1)], condition=Account.site_count > 5)
    assert write.held is False
    with conditional() as write:
        account.update(actions=[Account.site_count.add(1)], condition=Account.site_count < 5)
    assert write.held is True
    assert Account.get("acc-1").site_count == 1


def test_other_errors_pass_through_conditional(ddb):
    with pytest.raises(ZeroDivisionError):
        with conditional(otherwise=NotFound("x")):
            _ = 1 / 0


def test_a_transaction_names_the_writes_whose_conditions_failed(ddb):
    _account("acc-1")
    _account("acc-2")
    tx = Transaction("two accounts")
    tx.update(Account("acc-1"), [Account.site_count.add(1)], condition=Account.site_count < 1, label="first")
    tx.update(Account("acc-2"), [Account.site_count.add(1)], condition=Account.site_count > 1, label="second")
    tx.put(Industry("global", "ind-1", name="Coffee"), condition=Industry.industry_id.does_not_exist(), label="new")
    with pytest.raises(ConditionsFailed) as caught:
        tx.commit()
    assert caught.value.labels == frozenset({"second"})
    assert is_condition_failure(caught.value)
    assert Account.get("acc-1").site_count == 0  # all or nothing
    with pytest.raises(Industry.DoesNotExist):
        Industry.get("global", "ind-1")


def test_a_committed_transaction_stamps_updated_at(ddb):
    account = _account()
    before = Account.get("acc-1").updated_at
    Transaction("stamp").update(account, [Account.site_count.add(2)], label="a").commit()
    after = Account.get("acc-1")
    assert after.site_count == 2 and after.updated_at > before


def test_model_update_stamps_updated_at_unless_the_caller_sets_it(ddb):
    account = _account()
    before = Account.get("acc-1").updated_at
    account.update(actions=[Account.name.set("Acme 2")])
    assert Account.get("acc-1").updated_at > before
    chosen = utcnow() - timedelta(days=3)
    account.update(actions=[Account.name.set("Acme 3"), Account.updated_at.set(chosen)])
    assert Account.get("acc-1").updated_at == chosen


def test_optimistic_reads_again_until_it_wins_a_race(ddb):
    _account()
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def bump() -> None:
        def attempt() -> None:
            current = Account.get("acc-1", consistent_read=True)
            Account("acc-1").update(actions=[Account.user_count.set(int(current.user_count) + 1)],
                                    condition=Account.user_count == current.user_count)

        barrier.wait()
        try:
            optimistic(attempt, what="account")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert Account.get("acc-1").user_count == 4  # no lost update


def test_optimistic_gives_up_with_a_conflict_when_it_never_wins(ddb):
    _account()

    def attempt() -> None:
        Account("acc-1").update(actions=[Account.name.set("x")], condition=Account.site_count > 100)

    with pytest.raises(Conflict) as caught:
        optimistic(attempt, what="account")
    assert caught.value.code == "concurrent_change"
