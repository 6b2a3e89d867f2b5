"""Every status machine of the planner and writer records, and the one way to move them.

``TRANSITIONS[record][attribute]`` maps a status to the statuses it may move to. A move is
a conditional update: it only happens if the item still has the status (and the other
state attributes) it was read with, and it rewrites the derived GSI keys in the same
update. So a retry or a race cannot move a record twice, and an index never lags behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.errors import Conflict, NotFound
from chalicelib.models.conditions import conditional
from chalicelib.models.site_records import SiteRecord

TRANSITIONS: dict[str, dict[str, dict[str, frozenset[str]]]] = {
    "keyword": {"status": {
        # clustered <-> pending is driven by cluster assignment (it sets/removes cluster_id)
        "pending": frozenset({"clustered", "archived"}),
        "clustered": frozenset({"pending", "used", "archived"}),
        "used": frozenset({"clustered", "archived"}),
        "archived": frozenset({"pending"}),
    }},
    "idea": {"status": {
        "pending": frozenset({"approved", "archived"}),
        "approved": frozenset({"pending", "used", "archived"}),
        "used": frozenset({"approved", "archived"}),
        "archived": frozenset({"pending"}),
    }},
    "task": {"status": {
        "pending": frozenset({"in_progress", "cancelled"}),
        "in_progress": frozenset({"pending", "completed", "cancelled"}),
        "completed": frozenset({"in_progress"}),
        "cancelled": frozenset({"pending"}),
    }},
    "content": {
        "status": {
            "draft": frozenset({"review", "approved"}),
            "review": frozenset({"draft", "approved"}),
            "approved": frozenset({"draft", "review", "published"}),
            "published": frozenset({"draft"}),
        },
        "site_status": {
            "not_published": frozenset({"scheduled", "publishing"}),
            "scheduled": frozenset({"not_published", "publishing"}),
            "publishing": frozenset({"published", "failed"}),
            "published": frozenset({"not_published", "publishing"}),
            "failed": frozenset({"not_published", "scheduled", "publishing"}),
        },
    },
    "image": {"status": {
        "pending": frozenset({"generated", "failed"}),
        "generated": frozenset({"pending"}),
        "failed": frozenset({"pending", "generated"}),
    }},
}

RECORD_OF_MODEL = {
    "Keyword": "keyword",
    "ContentIdea": "idea",
    "Task": "task",
    "Content": "content",
    "ContentImage": "image",
}


def machine(record: str, attr: str = "status") -> dict[str, frozenset[str]]:
    return TRANSITIONS[record][attr]


def statuses(record: str, attr: str = "status") -> tuple[str, ...]:
    return tuple(machine(record, attr))


def allowed(record: str, current: str, attr: str = "status") -> list[str]:
    return sorted(machine(record, attr).get(current, frozenset()))


def is_allowed(record: str, current: str, new: str, attr: str = "status") -> bool:
    return new in machine(record, attr).get(current, frozenset())


def record_name(item: SiteRecord) -> str:
    return RECORD_OF_MODEL[type(item).__name__]


def illegal(record: str, attr: str, current: str, new: str, *, raced: bool = False) -> Conflict:
    label = "Status" if attr == "status" else attr.replace("_", " ").capitalize()
    reason = ("it changed while this request ran" if raced
              else f"a {record} cannot move from {current!r} to {new!r}")
    return Conflict(f"{label} is now {current!r}; {reason}.", code="illegal_transition",
                    details={"attribute": attr, "current_status": current, "requested": new,
                             "allowed": allowed(record, current, attr)})


def state_condition(item: SiteRecord) -> Condition:
    """The item still has exactly the state it was read with (every STATE_ATTRS value)."""
    cls = type(item)
    condition: Condition | None = None
    for name in item.STATE_ATTRS:
        attr = getattr(cls, name)
        value = getattr(item, name)
        part = attr.does_not_exist() if value is None else attr == value
        condition = part if condition is None else condition & part
    assert condition is not None
    return condition


def transition_ops(item: SiteRecord, changes: dict[str, Any], *, check: bool = True,
                   extra_actions: Sequence[Action] = ()) -> tuple[list[Action], Condition]:
    """(actions, condition) moving ``item`` to the state ``changes``; raise 409 if illegal.

    ``changes`` may set any STATE_ATTRS (a status attribute is checked against its machine,
    other attributes such as cluster_id simply move with it). Usable in a transaction.
    """
    record = record_name(item)
    cls = type(item)
    if check:
        for attr, new in changes.items():
            if attr in TRANSITIONS[record]:
                current = getattr(item, attr)
                if new != current and not is_allowed(record, current, new, attr):
                    raise illegal(record, attr, current, new)
    actions: list[Action] = []
    for attr, new in changes.items():
        field = getattr(cls, attr)
        actions.append(field.remove() if new is None else field.set(new))
    actions.extend(item.key_actions(**changes))
    actions.extend(extra_actions)
    return actions, state_condition(item)


def transition(item: SiteRecord, attr: str, new: str, *, also: dict[str, Any] | None = None,
               extra_actions: Sequence[Action] = (), condition: Condition | None = None) -> SiteRecord:
    """Move ``item.attr`` to ``new`` if allowed, conditional on the state it was read with.

    ``also`` changes further state attributes in the same update (e.g. cluster_id);
    ``condition`` adds a guard (e.g. content must be approved to be scheduled). On a lost
    race the item is re-read and the 409 reports the status it has now.
    """
    record = record_name(item)
    current = getattr(item, attr)
    if current == new and not also:
        return item
    changes = {attr: new, **(also or {})}
    actions, cond = transition_ops(item, changes, extra_actions=extra_actions)
    if condition is not None:
        cond = cond & condition
    with conditional() as write:
        item.update(actions=actions, condition=cond)
    if write.held:
        return item
    try:
        item.refresh(consistent_read=True)
    except type(item).DoesNotExist:
        raise NotFound(record.capitalize()) from None
    now = getattr(item, attr)
    if now == current:
        # Same status, so the extra guard (or another state attribute) failed.
        raise Conflict(f"This {record} cannot move to {new!r} in its current state.", code="illegal_transition",
                       details={"attribute": attr, "current_status": now, "requested": new,
                                "allowed": allowed(record, now, attr)})
    raise illegal(record, attr, now, new, raced=True)

