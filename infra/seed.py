"""`make seed`: load the platform defaults into whatever DynamoDB the environment points at.

Idempotent: it creates only what is missing (``chalicelib.services.system_defaults``), so
the local stack runs it on every start and staff edits survive. Provider keys given in the
environment (OPENAI_API_KEY, RUNWARE_API_KEY) are stored encrypted, once, if the provider
has none yet; without them the engine uses the offline provider.
"""

from __future__ import annotations

import argparse
import json
import os

import boto3

from chalicelib import config
from chalicelib.services import providers
from chalicelib.services.system_defaults import seed_system_defaults

ENV_KEYS = {"openai": "OPENAI_API_KEY", "runware": "RUNWARE_API_KEY"}


def ensure_secrets_key(alias: str | None = None) -> str:
    """A KMS key for provider secrets in the local emulator (created once, found by alias).

    """
    alias = alias or f"alias/{config.resource_prefix()}-secrets"
    kms = boto3.client("kms", region_name=config.region())
    try:
        return kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
    except kms.exceptions.NotFoundException:
        key_id = kms.create_key(Description="provider secrets (local stack)")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)
        return key_id


def store_env_keys(environ: dict[str, str] | None = None) -> list[str]:
    """Store provider keys from the environment where the provider has no key yet."""
    environ = dict(os.environ if environ is None else environ)
    stored = []
    for provider_id, variable in ENV_KEYS.items():
        value = environ.get(variable, "").strip()
        if value and not providers.get_record(provider_id).api_key_enc:
            providers.update_provider(provider_id, {}, secret_values={"api_key": value}, updated_by="seed")
            stored.append(provider_id)
    return stored


def ensure_local_secrets_key() -> str | None:
    """Against an emulator (AWS_ENDPOINT_URL set) with no key configured: make one and export
    SECRETS_KMS_KEY_ID (the local stack passes its environment to the API after seeding).
    Never in the cloud: there the template provides the key."""
    if os.environ.get("SECRETS_KMS_KEY_ID") or not os.environ.get("AWS_ENDPOINT_URL"):
        return None
    os.environ["SECRETS_KMS_KEY_ID"] = ensure_secrets_key()
    return os.environ["SECRETS_KMS_KEY_ID"]


def seed_all(*, keys_from_env: bool = True) -> dict[str, int]:
    ensure_local_secrets_key()
    counts = seed_system_defaults()
    if keys_from_env:
        counts["provider_keys"] = len(store_env_keys())
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-env-keys", action="store_true", help="ignore OPENAI_API_KEY / RUNWARE_API_KEY")
    args = parser.parse_args(argv)
    counts = seed_all(keys_from_env=not args.no_env_keys)
    print(json.dumps({"created": counts}, indent=2))


if __name__ == "__main__":
    main()
