"""services.pipeline.stages: a stage is declared once, as a registry queue of StageItems; its code is the
module of that name."""

from __future__ import annotations

import pytest

from chalicelib import registry
from chalicelib.errors import UnprocessableEntity
from chalicelib.services.pipeline.stages import all_stages, get_stage


def test_every_stage_queue_has_its_stage_and_every_stage_its_queue():
    stages = all_stages()
    assert tuple(stages) == registry.STAGE_NAMES
    for name, stage in stages.items():
        assert stage.name == name and stage.work_queue is registry.queue(name)
        assert stage.module in ("planner", "writer", "optimizer", "linker") and stage.ids_field.endswith("_ids")


def test_an_unknown_stage_is_a_422_naming_the_known_ones():
    with pytest.raises(UnprocessableEntity) as caught:
        get_stage("translate")
    assert all(name in caught.value.message for name in registry.STAGE_NAMES)


def test_a_stage_samples_the_items_of_an_estimate():
    assert [s.payload for s in get_stage("cluster_keywords").sample(3)] == [{"keyword_ids": ["k", "k", "k"]}]
    assert len(get_stage("generate_content").sample(4)) == 4
