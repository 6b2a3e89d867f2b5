"""A site's lists come from its records' index declarations: each index serves the filters its key
is made of, and the keys every write stores follow the same declaration."""

from __future__ import annotations

import pytest

from chalicelib.errors import UnprocessableEntity
from chalicelib.models.planner import Cluster, ContentIdea, Keyword
from chalicelib.models.writer import Content, ContentImage, Task
from chalicelib.services import planner, records, writer

MODELS = [Keyword, Cluster, ContentIdea, Task, Content, ContentImage]


def _filters(kind: records.Kind) -> set[tuple[str, ...]]:
    return {tuple(sorted(combo)) for combo in kind.lists}


def test_each_kind_serves_the_filter_combinations_of_its_indexes():
    assert _filters(planner.KEYWORDS) == {(), ("status",), ("sector_id",), ("sector_id", "status"), ("cluster_id",)}
    assert _filters(planner.CLUSTERS) == {(), ("sector_id",), ("without_ideas",), ("sector_id", "without_ideas")}
    assert _filters(planner.IDEAS) == {(), ("status",), ("sector_id",), ("sector_id", "status"), ("cluster_id",),
                                       ("cluster_id", "status")}
    assert _filters(writer.TASKS) == {(), ("status",), ("sector_id",), ("sector_id", "status"), ("idea_id",)}
    assert _filters(writer.CONTENT) == {(), ("status",), ("sector_id",), ("sector_id", "status"), ("site_status",),
                                        ("task_id",), ("ready",), ("score_band",), ("sort_by_score",)}
    assert _filters(writer.IMAGES) == {(), ("status",), ("sector_id",), ("content_id",)}


def test_a_list_reads_the_index_its_filters_name_in_the_order_it_declares():
    assert writer.CONTENT.lists[frozenset()] == records.ListSpec("by_site")  # summaries, never the table
    assert planner.KEYWORDS.lists[frozenset()] == records.ListSpec(None)
    assert writer.IMAGES.lists[frozenset({"content_id"})] == records.ListSpec("by_content", ("content_id",), True)
    spec = planner.IDEAS.lists[frozenset({"cluster_id", "status"})]
    assert spec.index == "by_cluster_status" and spec.key("a#s", {"status": "used", "cluster_id": "c"}) == "a#s#c#used"


def test_the_key_a_list_asks_for_is_the_key_a_record_stores():
    idea = ContentIdea("a#s", "i1", account_id="a", site_id="s", sector_id="x", cluster_id="c", title="t",
                       status="approved")
    stored = idea.index_keys()
    for combo, spec in planner.IDEAS.lists.items():
        if spec.index is not None:
            attr = ContentIdea._indexes[spec.index].hash_attr
            assert stored[attr] == spec.key("a#s", {name: getattr(idea, name) for name in spec.by}), combo


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_index_key_part_is_state_a_move_rewrites(model):
    for index in model.site_indexes():
        if index.derived:  # the others are written by their one owner (the content score)
            assert set(index.by) <= set(model.STATE_ATTRS), (model.__name__, index.Meta.index_name)


def test_a_sparse_index_holds_only_the_records_its_flag_names():
    cluster = Cluster("a#s", "c1", account_id="a", site_id="s", sector_id="x", name="n", idea_count=0)
    assert cluster.index_keys()["no_ideas_sector_key"] == "a#s#x"
    assert cluster.index_keys(idea_count=2)["no_ideas_sector_key"] is None
    with pytest.raises(UnprocessableEntity) as refused:
        records.list_page(planner.CLUSTERS, "a", "s", {"without_ideas": False}, limit=1, cursor=None)
    assert refused.value.code == "unsupported_filter"
