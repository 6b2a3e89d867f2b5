"""What a deleted site left behind, found the slow way: a raw Scan of every table (tests only).

The product may never Scan (tests/conftest.py fails any Scan made through PynamoDB); a test
that checks a deletion may, with its own boto3 client, and must: it has to find what no key
or index of the product would lead to.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

from chalicelib import config
from chalicelib.models.site_scope import Kept
from chalicelib.registry import table_models


def kept_tables() -> set[str]:
    """Tables whose records of a site outlive it on purpose (the credit ledger, the deletion's record)."""
    return {m.Meta.table_name for m in table_models() if isinstance(m.site_scope, Kept)}


def mentions(marker: str, *, endpoint: str | None = None, skip: set[str] | None = None) -> dict[str, int]:
    """Table -> number of items whose any attribute mentions ``marker`` (a site or sector id)."""
    client = boto3.client("dynamodb", region_name=config.region(), endpoint_url=endpoint)
    found: dict[str, int] = {}
    for model in table_models():
        name = model.Meta.table_name
        if name in (skip or set()):
            continue
        count = 0
        for page in client.get_paginator("scan").paginate(TableName=name):
            count += sum(1 for item in page.get("Items", []) if marker in json.dumps(item))
        if count:
            found[name.removeprefix(f"{config.resource_prefix()}-")] = count
    return found


def leftovers(site_id: str, *, endpoint: str | None = None) -> dict[str, int]:
    """Items that still mention the site, outside the tables that keep them on purpose."""
    return mentions(site_id, endpoint=endpoint, skip=kept_tables())


def files(prefix: str) -> list[str]:
    s3: Any = boto3.client("s3", region_name=config.region())
    listed = s3.list_objects_v2(Bucket=config.bucket_name(), Prefix=prefix)
    return [item["Key"] for item in listed.get("Contents", [])]
