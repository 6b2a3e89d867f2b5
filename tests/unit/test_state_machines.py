"""The status machines: declared once, every status reachable, the reference's values."""

from __future__ import annotations

import pytest

from chalicelib.errors import Conflict
from chalicelib.models.planner import Keyword
from chalicelib.services.state_machines import TRANSITIONS, allowed, is_allowed, statuses, transition_ops


def test_the_reference_statuses():
    assert set(statuses("keyword")) == {"pending", "clustered", "used", "archived"}
    assert set(statuses("idea")) == {"pending", "approved", "used", "archived"}
    assert set(statuses("task")) == {"pending", "in_progress", "completed", "cancelled"}
    assert set(statuses("content")) == {"draft", "review", "approved", "published"}
    assert set(statuses("content", "site_status")) == {"not_published", "scheduled", "publishing", "published",
                                                      "failed"}


@pytest.mark.parametrize(("record", "attr"), [(r, a) for r, m in TRANSITIONS.items() for a in m])
def test_every_target_is_a_status_and_every_status_is_reachable(record, attr):
    machine = TRANSITIONS[record][attr]
    targets = set().union(*machine.values())
    assert targets <= set(machine)
    start = next(iter(machine))
    seen, todo = {start}, [start]
    while todo:
        for nxt in machine[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(machine)


def test_examples():
    assert is_allowed("task", "pending", "in_progress")
    assert not is_allowed("task", "pending", "completed")
    assert not is_allowed("content", "draft", "published")
    assert is_allowed("content", "scheduled", "publishing", "site_status")
    assert allowed("keyword", "archived") == ["pending"]


def test_an_illegal_move_is_a_409_with_the_current_status_and_the_allowed_ones():
    kw = Keyword("a#s", "k1", account_id="a", site_id="s", sector_id="x", keyword="k", normalized="k",
                 status="archived")
    with pytest.raises(Conflict) as exc:
        transition_ops(kw, {"status": "used"})
    assert exc.value.code == "illegal_transition"
    assert exc.value.details["current_status"] == "archived" and exc.value.details["allowed"] == ["pending"]


def test_a_move_rewrites_the_derived_index_keys_and_conditions_on_the_old_state():
    kw = Keyword("a#s", "k1", account_id="a", site_id="s", sector_id="x", keyword="k", normalized="k",
                 status="pending")
    actions, condition = transition_ops(kw, {"status": "archived"})
    rendered = " ".join(str(a) for a in actions)
    assert "a#s#archived" in rendered and "a#s#x#archived" in rendered
    assert "pending" in str(condition)
