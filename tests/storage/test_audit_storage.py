"""The audit log's access patterns on both backends: newest first, by action, append-only."""

from __future__ import annotations

import pytest

from chalicelib.models.audit import AuditEntry
from chalicelib.models.conditions import is_condition_failure
from chalicelib.services import audit


def test_entries_list_newest_first_and_by_action(ddb):
    for action in (audit.SIGN_IN, audit.SIGN_IN_FAILED, audit.SIGN_IN, audit.ROLE_CHANGED):
        audit.record("acc-a", action, "user:u1")
    audit.record("acc-b", audit.SIGN_IN, "user:u2")
    page = audit.entries("acc-a", action=None, limit=10, cursor=None)
    assert [e.action for e in page.items] == [audit.ROLE_CHANGED, audit.SIGN_IN, audit.SIGN_IN_FAILED, audit.SIGN_IN]
    first = audit.entries("acc-a", action=audit.SIGN_IN, limit=1, cursor=None)
    rest = audit.entries("acc-a", action=audit.SIGN_IN, limit=1, cursor=first.next_cursor)
    sign_ins = [e.entry_id for e in page.items if e.action == audit.SIGN_IN]
    assert [e.entry_id for e in first.items + rest.items] == sign_ins


def test_an_entry_is_never_overwritten(ddb):
    entry = audit.record("acc-a", audit.SIGN_IN, "user:u1")
    again = AuditEntry("acc-a", entry.entry_id, action="x.y", action_key="acc-a#x.y", actor="user:evil", at=entry.at,
                       expires_epoch=entry.expires_epoch)
    with pytest.raises(Exception) as raised:
        again.save(condition=AuditEntry.entry_id.does_not_exist())
    assert is_condition_failure(raised.value)
    assert AuditEntry.get("acc-a", entry.entry_id).action == audit.SIGN_IN
