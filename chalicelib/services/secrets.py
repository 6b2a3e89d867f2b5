"""Secrets at rest: KMS encryption of provider keys, and the masked form shown to people.

Every stage encrypts with KMS (the cloud's key, or the key the local stack creates in its
emulator): one code path, no local crypto library, and no key material in the process.
A provider secret is a few hundred bytes, well under KMS Encrypt's 4 KB limit, so the
value is encrypted directly rather than under a data key.

Each ciphertext is bound to its record and field through the KMS encryption context, so
a ciphertext copied into another provider's record, or into another field, fails to
decrypt instead of handing out the wrong key.
"""

from __future__ import annotations

import base64
import contextvars
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import config

PREFIX = "kms1:"
MASK = "••••"
# Below this length the last four characters would give away too much of the secret.
MIN_LENGTH_FOR_HINT = 12


T = TypeVar("T")


class SecretStoreError(RuntimeError):
    """KMS refused or could not be reached. The message never contains the secret."""


# botocore logs request and response bodies at DEBUG: for Encrypt and Decrypt that is the
# secret, base64-encoded. While this module talks to KMS, botocore's records are dropped.
_talking_to_kms: contextvars.ContextVar[bool] = contextvars.ContextVar("talking_to_kms", default=False)


class _DropWhileTalkingToKMS(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _talking_to_kms.get()


_FILTER = _DropWhileTalkingToKMS()


@contextmanager
def _quiet_botocore() -> Iterator[None]:
    # A filter acts only on records of the logger it is attached to, so it goes on every
    # botocore logger (they are created as botocore's modules load).
    for name, item in list(logging.root.manager.loggerDict.items()):
        if name.startswith("botocore") and isinstance(item, logging.Logger) and _FILTER not in item.filters:
            item.addFilter(_FILTER)
    token = _talking_to_kms.set(True)
    try:
        yield
    finally:
        _talking_to_kms.reset(token)


def _call_kms(operation: str, call: Callable[[Any], T]) -> T:
    # A client per call: boto3 honours AWS_ENDPOINT_URL (local stack) and moto's mock
    # (tests) only for clients created inside it; decrypted keys are cached by callers.
    client = boto3.client("kms", region_name=config.region())
    try:
        with _quiet_botocore():
            return call(client)
    except (ClientError, BotoCoreError, ValueError) as exc:
        raise SecretStoreError(f"KMS could not {operation} the secret: {type(exc).__name__}") from None


def encrypt(plaintext: str, context: dict[str, str]) -> str:
    key_id = config.secrets_kms_key_id()
    blob = _call_kms("encrypt", lambda kms: kms.encrypt(KeyId=key_id, Plaintext=plaintext.encode("utf-8"),
                                                        EncryptionContext=context)["CiphertextBlob"])
    return PREFIX + base64.b64encode(blob).decode("ascii")


def decrypt(token: str, context: dict[str, str]) -> str:
    if not token.startswith(PREFIX):
        raise SecretStoreError("The stored secret is not in a known format.")
    try:
        blob = base64.b64decode(token[len(PREFIX):], validate=True)
    except ValueError:
        raise SecretStoreError("The stored secret is not valid base64.") from None
    plain = _call_kms("decrypt", lambda kms: kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"])
    return plain.decode("utf-8")


def hint(plaintext: str) -> str:
    """What may be kept in clear to recognise a secret: its last four characters, if long."""
    return plaintext[-4:] if len(plaintext) >= MIN_LENGTH_FOR_HINT else ""


def mask(stored_hint: str | None) -> str:
    return MASK + (stored_hint or "")
