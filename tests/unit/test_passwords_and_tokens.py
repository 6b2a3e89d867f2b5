import time

import jwt
import pytest

from chalicelib.auth import passwords, tokens

pytestmark = pytest.mark.security  # make test-security


def test_password_hash_is_salted_and_verifies():
    a, b = passwords.hash_password("s3cret-pass"), passwords.hash_password("s3cret-pass")
    assert a != b and a.startswith("scrypt$")
    assert passwords.verify_password("s3cret-pass", a)
    assert not passwords.verify_password("wrong", a)
    assert not passwords.verify_password("s3cret-pass", "garbage")


def test_access_token_round_trip():
    token = tokens.issue_access_token(account_id="acc", user_id="usr", session_id="sid")
    claims = tokens.verify_access_token(token)
    assert (claims.account_id, claims.user_id, claims.session_id) == ("acc", "usr", "sid")


def test_expired_token_is_rejected():
    token = tokens.issue_access_token(account_id="a", user_id="u", session_id="s", now=time.time() - 3600)
    with pytest.raises(tokens.InvalidToken):
        tokens.verify_access_token(token)


def test_tampered_token_is_rejected():
    token = tokens.issue_access_token(account_id="a", user_id="u", session_id="s")
    header, payload, sig = token.split(".")
    forged_payload = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(b'"acc":"a"', b'"acc":"b"')).decode()
    with pytest.raises(tokens.InvalidToken):
        tokens.verify_access_token(f"{header}.{forged_payload}.{sig}")


@pytest.mark.parametrize("algorithm,key", [("HS512", "k" * 64), ("none", None)])
def test_other_algorithms_are_rejected(algorithm, key):
    claims = {"iss": tokens.ISSUER, "sub": "u", "acc": "a", "sid": "s", "typ": "access",
              "iat": int(time.time()), "exp": int(time.time()) + 60}
    token = jwt.encode(claims, key, algorithm=algorithm)
    with pytest.raises(tokens.InvalidToken):
        tokens.verify_access_token(token)


def test_refresh_token_format_round_trip():
    secret = tokens.new_refresh_secret()
    assert tokens.parse_refresh_token(tokens.format_refresh_token("a", "s", secret)) == ("a", "s", secret)
    with pytest.raises(tokens.InvalidToken):
        tokens.parse_refresh_token("only.two")
