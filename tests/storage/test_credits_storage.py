"""Credits on both backends: no overdraft under races, one charge per key, ledger = balance."""

from __future__ import annotations

import threading

import pytest

from chalicelib.models.billing import CreditLedgerEntry
from chalicelib.services import credits


def _ledger(account_id: str) -> list[CreditLedgerEntry]:
    return list(CreditLedgerEntry.query(account_id))


def test_charge_draws_plan_first_then_pack_and_is_idempotent(ddb):
    credits.grant("acc", credit_type="content", amount=3, key="g1")
    credits.grant("acc", credit_type="content", amount=10, key="p1", bucket="pack", operation="pack_purchase")
    first = credits.charge("acc", operation="generate_content", amount=5, key="task-1")
    again = credits.charge("acc", operation="generate_content", amount=5, key="task-1")
    assert first.applied and not again.applied
    assert (first.entry.plan_delta, first.entry.pack_delta) == (-3, -2)
    assert credits.balances("acc")["content"] == {"plan": 0, "pack": 8, "available": 8}
    assert credits.grant("acc", credit_type="content", amount=3, key="g1").applied is False


def test_insufficient_credits_write_nothing(ddb):
    credits.grant("acc", credit_type="image", amount=2, key="g")
    with pytest.raises(credits.InsufficientCredits) as err:
        credits.charge("acc", operation="generate_images", amount=3, key="img")
    assert err.value.status == 402 and err.value.code == "insufficient_credits"
    assert credits.get_balance("acc").available("image") == 2
    assert len(_ledger("acc")) == 1


def test_racing_charges_never_overdraw_and_the_ledger_matches(ddb):
    credits.grant("acc", credit_type="idea", amount=7, key="g", bucket="plan")
    credits.grant("acc", credit_type="idea", amount=3, key="p", bucket="pack", operation="pack_purchase")
    outcomes: list[str] = []

    def worker(i: int) -> None:
        # Two threads per key: the same operation delivered twice, racing itself.
        try:
            r = credits.charge("acc", operation="generate_ideas", amount=1, key=f"op-{i // 2}")
            outcomes.append("charged" if r.applied else "duplicate")
        except credits.InsufficientCredits:
            outcomes.append("refused")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("charged") == 10
    assert credits.get_balance("acc").available("idea") == 0
    entries = _ledger("acc")
    assert credits.ledger_totals(entries)["idea"] == 0
    assert sum(1 for e in entries if e.kind == "debit") == 10


def test_cost_rule():
    price = credits.Price(tokens_per_credit=1000, base_credits=1)
    assert credits.cost_in_credits(credits.Usage(input_tokens=1500, output_tokens=1000), price) == 3
    assert credits.cost_in_credits(credits.Usage(input_tokens=10, output_tokens=10), price) == 1
    assert credits.cost_in_credits(credits.Usage(input_tokens=2000, cached_tokens=2000, output_tokens=0), price) == 1
    assert credits.cost_in_credits(credits.Usage(images=3), credits.Price(credits_per_image=5)) == 15
    assert credits.cost_in_credits(credits.Usage(), price) == 0


def test_a_charge_moves_its_tallies_in_its_own_write_once_and_not_for_a_missing_record(ddb):
    """The job's credits and the article's cost move with the debit: a retry of the charge adds nothing,
    and a tallied record that is gone refuses the whole charge (nothing debited)."""
    from chalicelib.errors import NotFound
    from chalicelib.models.jobs import Job
    from chalicelib.models.writer import Content

    Job("acc#site", "job-1", account_id="acc", site_id="site", stage="generate_images").save()
    Content("acc#site", "c-1", account_id="acc", site_id="site", sector_id="s", title="T",
            cost={"credits": 2, "model": "m"}).save()
    credits.grant("acc", credit_type="image", amount=10, key="g")

    def tallies(content_id: str) -> list[credits.Tally]:
        return [credits.Tally(Job("acc#site", "job-1"), [Job.credits_spent.add(3)], Job.job_id.exists(), "Job"),
                credits.Tally(Content("acc#site", content_id), [Content.cost["credits"].add(3),
                                                                 Content.cost["images"].add(1)],
                              Content.content_id.exists(), "Content")]

    for _ in range(2):  # the second is a redelivery: a no-op
        credits.charge("acc", operation="generate_images", amount=3, key="job-1#c-1#img-1", tallies=tallies("c-1"))
    assert int(Job.get("acc#site", "job-1", consistent_read=True).credits_spent) == 3
    assert Content.get("acc#site", "c-1", consistent_read=True).cost == {"credits": 5, "images": 1, "model": "m"}
    with pytest.raises(NotFound):
        credits.charge("acc", operation="generate_images", amount=3, key="job-1#gone#img-1", tallies=tallies("gone"))
    assert credits.get_balance("acc").available("image") == 7
    assert int(Job.get("acc#site", "job-1", consistent_read=True).credits_spent) == 3
