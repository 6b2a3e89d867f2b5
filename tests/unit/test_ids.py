from chalicelib.ids import is_id, new_id


def test_ids_are_uuid7_and_sort_in_creation_order():
    ids = [new_id() for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(is_id(i) for i in ids[:10])


def test_is_id_rejects_other_strings():
    assert not is_id("not-an-id")
    assert not is_id("123e4567-e89b-12d3-a456-426614174000")  # a v1 uuid


def test_derived_ids_are_stable_time_sortable_and_distinct():
    from chalicelib.ids import derived_id

    parent = new_id()
    a, b = derived_id(parent, "cluster", "1"), derived_id(parent, "cluster", "2")
    assert a == derived_id(parent, "cluster", "1") and a != b
    assert is_id(a) and a[:13] == parent[:13]  # the parent's millisecond timestamp
