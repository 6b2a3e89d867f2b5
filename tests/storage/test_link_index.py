"""The link index on both backends: a suggestion reads what ``candidate_reads`` says (the bench's model),
however many articles the site has; the score indexes list lowest first."""

from __future__ import annotations

from chalicelib.models.linker import LinkProfile
from chalicelib.models.planner import Cluster
from chalicelib.models.site_records import join_key
from chalicelib.models.writer import Content
from chalicelib.services.linker import index
from chalicelib.services.optimizer import scoring
from chalicelib.services.optimizer.score import band

SKEY = "acct#site"


def _profile(n: int, cluster: str) -> LinkProfile:
    return LinkProfile(SKEY, f"c{n:05d}", account_id="acct", site_id="site", sector_id="s1", cluster_id=cluster,
                       title=f"article {n}", vector=[1.0, 0.0], terms=["article"])


def _site(clusters: dict[str, int]) -> None:
    n = 0
    with LinkProfile.batch_write() as batch:
        for cluster, size in clusters.items():
            for _ in range(size):
                batch.save(_with_keys(_profile(n, cluster)))
                n += 1
    names = sorted(clusters)
    for i, cluster in enumerate(names):
        Cluster(SKEY, cluster, account_id="acct", site_id="site", sector_id="s1", name=cluster,
                neighbours=[names[(i + k) % len(names)] for k in (1, 2, 3)]).save()


def _with_keys(profile: LinkProfile) -> LinkProfile:
    profile.sync_index_keys()
    return profile


def _counting(monkeypatch) -> list[int]:
    read = [0]
    query, get = LinkProfile.by_cluster.query, Cluster.get

    def counted_query(*args, **kwargs):
        for item in query(*args, **kwargs):
            read[0] += 1
            yield item

    def counted_get(*args, **kwargs):
        read[0] += 1
        return get(*args, **kwargs)

    monkeypatch.setattr(LinkProfile.by_cluster, "query", counted_query)
    monkeypatch.setattr(Cluster, "get", counted_get)
    return read


def test_a_suggestion_reads_what_the_model_says_and_no_more_on_a_bigger_site(ddb, monkeypatch):
    sizes = {"k0": 40, "k1": 6, "k2": 12, "k3": 30, "k4": 3}
    _site(sizes)
    read = _counting(monkeypatch)
    source = LinkProfile.get(SKEY, "c00000")  # in k0; neighbours k1, k2, k3
    read[0] = 1  # the source's profile
    found = index.candidates(source)
    assert read[0] == index.candidate_reads(sizes["k0"], [sizes["k1"], sizes["k2"], sizes["k3"]])
    assert len(found) == read[0] - 2 - 1  # less the profile, the cluster and the source itself
    assert {p.cluster_id for p in found} == {"k0", "k1", "k2", "k3"}  # k4 is not a neighbour: not read


def test_an_article_without_a_cluster_reads_a_bounded_page_of_its_sector(ddb):
    with LinkProfile.batch_write() as batch:
        for n in range(index.PER_CLUSTER * 3):
            batch.save(_with_keys(_profile(n, "")))
    source = LinkProfile.get(SKEY, "c00000")
    assert len(index.candidates(source)) <= index.PER_CLUSTER * 2


def test_the_score_index_lists_every_scored_article_lowest_first(ddb):
    for n, score in enumerate((71, 12, 55, 90)):
        c = Content(SKEY, f"c{n}", account_id="acct", site_id="site", sector_id="s1", title="t",
                    **scoring.summary_fields({"score": score, "band": band(score)}, SKEY))
        c.save()
    c = Content(SKEY, "unscored", account_id="acct", site_id="site", sector_id="s1", title="t")
    c.sync_index_keys()
    c.save()
    assert [int(c.score) for c in Content.by_score.query(join_key(SKEY))] == [12, 55, 71, 90]
    assert [int(c.score) for c in Content.by_score_band.query(join_key(SKEY, "medium"))] == [55, 71]
