"""Items of several tables in one BatchGetItem (models.batch), on moto and DynamoDB Local."""

from __future__ import annotations

import pytest

from chalicelib.models.accounts import Account, Site, User
from chalicelib.models.batch import MAX_KEYS, Key, get_many
from chalicelib.models.modules import ModuleEnableSettings


def test_one_read_answers_every_key_and_none_for_a_missing_item(ddb):
    Account("acc-1", name="Acme", plan_id="free", owner_user_id="u-1").save()
    User("acc-1", "u-1", email="a@example.com", role="owner", password_hash="x").save()
    Site("acc-1", "s-1", name="Coffee").save()
    keys = [Key(User, "acc-1", "u-1"), Key(Account, "acc-1"), Key(ModuleEnableSettings, "acc-1"),
            Key(Site, "acc-1", "s-1"), Key(Site, "acc-1", "s-2"), Key(Site, "acc-2", "s-1"), Key(Account, "acc-1")]
    found = get_many(keys)
    assert len(found) == 6  # a repeated key is asked for once
    assert found[Key(User, "acc-1", "u-1")].email == "a@example.com"
    assert found[Key(Account, "acc-1")].name == "Acme"
    assert found[Key(Site, "acc-1", "s-1")].name == "Coffee"
    assert found[Key(ModuleEnableSettings, "acc-1")] is None
    assert found[Key(Site, "acc-1", "s-2")] is None and found[Key(Site, "acc-2", "s-1")] is None


def test_more_keys_than_one_batch_takes_are_refused(ddb):
    with pytest.raises(ValueError):
        get_many([Key(Account, f"acc-{n}") for n in range(MAX_KEYS + 1)])
    assert get_many([]) == {}
