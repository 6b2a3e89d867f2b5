"""Planner storage on moto and DynamoDB Local: duplicate-free imports under races, every
index query, conditional transitions, counters and partial transaction failures."""

from __future__ import annotations

import threading

import pytest

from chalicelib.errors import Conflict
from chalicelib.models.planner import Cluster, Keyword, KeywordName, keyword_name_scope
from chalicelib.services import identity, keyword_import, planner, records, sites, txn
from infra.bench import moto_patch

moto_patch.apply()


@pytest.fixture
def site(ddb):
    account, _, _ = identity.register(account_name="A", email=f"p-{ddb}@example.com", password="x" * 12)
    site = sites.create_site(account.account_id, name="coffee")
    sectors = [sites.create_sector(account.account_id, site.site_id, name=n).sector_id for n in ("e", "p")]
    return account.account_id, site.site_id, sectors


def _rows(words, sector):
    return keyword_import.rows_from_json(list(words), sector)


def test_concurrent_overlapping_imports_never_duplicate(site):
    account_id, site_id, (sector, _) = site
    base = [f"espresso tip {i}" for i in range(120)]
    # every list overlaps the others, with case/space variants of the same keywords
    lists = [base[0:80], [w.upper() for w in base[40:120]], [f" {w}  " for w in base[20:100]], base[::2]]
    results = []
    errors = []

    def run(words):
        try:
            results.append(keyword_import.import_rows(account_id, site_id, _rows(words, sector)))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(words,)) for words in lists]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sum(r.created for r in results) == 120
    assert sum(r.created + r.skipped_duplicates for r in results) == sum(len(w) for w in lists)
    stored = list(Keyword.by_sector.query(f"{account_id}#{site_id}#{sector}"))
    assert len(stored) == 120 and len({k.normalized for k in stored}) == 120
    names = list(KeywordName.query(keyword_name_scope(account_id, site_id, sector)))
    assert {n.keyword_id for n in names} == {k.keyword_id for k in stored}


def test_a_partially_failing_transaction_keeps_the_rest(site):
    account_id, site_id, (sector, _) = site
    keyword_import.import_rows(account_id, site_id, _rows(["b", "d"], sector))
    rows = [r for r in _rows(["a", "b", "c", "d", "e"], sector)]
    kws = {r.row: keyword_import.new_keyword(account_id, site_id, r, None) for r in rows}
    outcome = txn.run_units([keyword_import.keyword_unit(kws[r.row], r.row) for r in rows],
                            txn.shared_connection(Keyword))
    assert sorted(outcome.failed) == [2, 4] and sorted(outcome.ok) == [1, 3, 5]
    assert outcome.calls == 2  # one cancelled transaction, one retry without the losers
    assert len(list(Keyword.query(f"{account_id}#{site_id}"))) == 5


def test_every_keyword_cluster_and_idea_list_is_a_query(site):
    account_id, site_id, (s0, s1) = site
    keyword_import.import_rows(account_id, site_id, _rows(["k1", "k2", "k3"], s0))
    keyword_import.import_rows(account_id, site_id, _rows(["k4"], s1))
    cluster = planner.create_cluster(account_id, site_id, sector_id=s0, name="c")
    empty = planner.create_cluster(account_id, site_id, sector_id=s1, name="empty")
    ids = [k.keyword_id for k in Keyword.by_sector.query(f"{account_id}#{site_id}#{s0}")]
    planner.assign_keywords(account_id, site_id, cluster.cluster_id, ids[:2])
    planner.create_idea(account_id, site_id, {"cluster_id": cluster.cluster_id, "title": "i"})
    planner.create_idea(account_id, site_id, {"sector_id": s1, "title": "j"})

    def count(kind, **filters):
        return len(records.list_page(kind, account_id, site_id, filters, limit=100, cursor=None).items)

    assert count(planner.KEYWORDS) == 4
    assert count(planner.KEYWORDS, status="clustered") == 2
    assert count(planner.KEYWORDS, sector_id=s0) == 3
    assert count(planner.KEYWORDS, sector_id=s0, status="pending") == 1
    assert count(planner.KEYWORDS, cluster_id=cluster.cluster_id) == 2
    assert count(planner.CLUSTERS) == 2 and count(planner.CLUSTERS, sector_id=s1) == 1
    assert count(planner.CLUSTERS, without_ideas=True) == 1
    assert count(planner.CLUSTERS, sector_id=s1, without_ideas=True) == 1
    assert count(planner.CLUSTERS, sector_id=s0, without_ideas=True) == 0
    assert count(planner.IDEAS) == 2 and count(planner.IDEAS, status="pending") == 2
    assert count(planner.IDEAS, sector_id=s1) == 1 and count(planner.IDEAS, sector_id=s1, status="pending") == 1
    assert count(planner.IDEAS, cluster_id=cluster.cluster_id) == 1
    assert count(planner.IDEAS, cluster_id=cluster.cluster_id, status="approved") == 0
    got = Cluster.get(f"{account_id}#{site_id}", cluster.cluster_id)
    assert (got.keyword_count, got.idea_count) == (2, 1)
    assert Cluster.get(f"{account_id}#{site_id}", empty.cluster_id).no_ideas_key == f"{account_id}#{site_id}"


def test_a_status_race_moves_the_record_once(site):
    account_id, site_id, (sector, _) = site
    idea = planner.create_idea(account_id, site_id, {"sector_id": sector, "title": "race"})
    outcomes = []
    barrier = threading.Barrier(4)

    def approve():
        mine = planner.get_idea(account_id, site_id, idea.idea_id)
        barrier.wait()
        try:
            planner.set_idea_status(mine, "approved")
            outcomes.append("moved")
        except Conflict as exc:
            outcomes.append(exc.details["current_status"])

    threads = [threading.Thread(target=approve) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("moved") == 1 and outcomes.count("approved") == 3
    assert planner.get_idea(account_id, site_id, idea.idea_id).status == "approved"


def test_cluster_delete_cascade_and_counters(site):
    account_id, site_id, (sector, _) = site
    keyword_import.import_rows(account_id, site_id, _rows(["a", "b", "c"], sector))
    ids = [k.keyword_id for k in Keyword.query(f"{account_id}#{site_id}")]
    cluster = planner.create_cluster(account_id, site_id, sector_id=sector, name="c")
    planner.assign_keywords(account_id, site_id, cluster.cluster_id, ids)
    planner.create_idea(account_id, site_id, {"cluster_id": cluster.cluster_id, "title": "x"})
    planner.delete_cluster(account_id, site_id, cluster.cluster_id)
    assert {k.status for k in Keyword.query(f"{account_id}#{site_id}")} == {"pending"}
    assert list(Keyword.by_cluster.query(f"{account_id}#{site_id}#{cluster.cluster_id}")) == []
    bulk = planner.bulk_delete_keywords(account_id, site_id, ids)
    assert sorted(bulk.succeeded) == sorted(ids)
    assert list(KeywordName.query(keyword_name_scope(account_id, site_id, sector))) == []
