"""Schemathesis over the whole API, in-process (the fast profile of ``make fuzz``, in ``make test``).

The same generator and checks as the full run against the running local stack
(test_fuzz_stack.py), here through the Chalice test client (no socket, moto in-process):
every operation of ``/v1/openapi.json``, a few positive and negative cases each.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import requests

from tests.security import figures
from tests.security.fuzz import (
    ChaliceAdapter,
    Target,
    auth_by_operation,
    configure_platform,
    module_repair,
    run_fuzz,
)
from tests.security.world import World, login, path_params

pytestmark = pytest.mark.fuzz

POSITIVE, NEGATIVE = figures.fuzz_examples(fast=(3, 2), full=(8, 5))


def only_selected(operation: Any) -> bool:
    """FUZZ_ONLY="PATCH /v1/users" (a part of the label) runs only the operations it names."""
    wanted = os.environ.get("FUZZ_ONLY", "")
    return not wanted or wanted in operation.label


def fuzz_ids(world: World) -> dict[str, str]:
    """The fuzzing account's records (A's), plus a stand-in for any newer path parameter."""
    from chalicelib.api.routing import ROUTES

    ids = world.a_ids()
    for spec in ROUTES:
        for name in path_params(spec.path) - set(ids):
            ids[name] = f"no-such-{name.replace('_', '-')}"
    return ids


def test_every_operation_survives_schemathesis(module_api: Any, world: World, monkeypatch) -> None:
    import boto3
    import schemathesis

    from chalicelib.api.openapi import build_openapi
    from infra.seed import seed_all

    # As the local stack and the cloud have: a KMS key for provider secrets, the platform's defaults
    # (providers, models, prompts: the staff routes find real records) and a payment provider.
    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("SECRETS_KMS_KEY_ID", key_id)
    seed_all(keys_from_env=False)
    configure_platform(module_api.request, world.staff.token)
    from chalicelib.services.ttl_cache import clear_all

    clear_all()  # the provider cache would hide the new provider for a few seconds
    session = requests.Session()
    session.mount("http://api.test", ChaliceAdapter(module_api.client))
    owner = world.a.owner
    target = Target(base_url="http://api.test", session=session, owner_token=owner.token,
                    staff_token=world.staff.token, ids=fuzz_ids(world),
                    fresh_token=lambda: login(module_api, owner).token,
                    repair=module_repair(module_api.request, owner.token), auth_of=auth_by_operation())
    schema = schemathesis.openapi.from_dict(build_openapi())
    result = run_fuzz(schema, target, positive=POSITIVE, negative=NEGATIVE, seed=20261125, include=only_selected)
    figures.record("fuzz (in-process)", operations=result.operations, cases=result.cases,
                   examples_per_operation=f"{POSITIVE} positive + {NEGATIVE} negative",
                   server_errors=result.server_errors, lenient_operations=sorted(result.lenient),
                   seconds=round(result.seconds, 1))
    if not os.environ.get("FUZZ_ONLY"):
        assert result.operations >= 100, "every operation of the OpenAPI document is fuzzed"
    assert not result.failures, f"{result.summary()}\n{result.report()}"
