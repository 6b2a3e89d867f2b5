import pytest

from chalicelib.errors import BadRequest
from chalicelib.models.pages import decode_cursor, encode_cursor

pytestmark = pytest.mark.security  # make test-security

KEY = {"account_id": {"S": "acc-a"}, "site_id": {"S": "site-1"}}


def test_cursor_round_trip():
    assert decode_cursor(encode_cursor(KEY, "sites:acc-a"), "sites:acc-a") == KEY


def test_cursor_from_another_scope_is_rejected():
    cursor = encode_cursor(KEY, "sites:acc-a")
    with pytest.raises(BadRequest) as err:
        decode_cursor(cursor, "sites:acc-b")
    assert err.value.code == "invalid_cursor"


@pytest.mark.parametrize("cursor", ["garbage", "a.b", "....", "eyJrIjp7fX0.AAAA"])
def test_forged_cursors_are_rejected(cursor):
    with pytest.raises(BadRequest):
        decode_cursor(cursor, "sites:acc-a")


def test_a_cursor_edited_to_point_elsewhere_fails_its_signature():
    import base64
    import json

    cursor = encode_cursor(KEY, "sites:acc-a")
    payload, sig = cursor.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["k"]["account_id"]["S"] = "acc-b"
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    with pytest.raises(BadRequest):
        decode_cursor(f"{forged}.{sig}", "sites:acc-a")
