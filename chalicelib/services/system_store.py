"""Get, create, change and delete one keyed record, with the conditions that make each safe.

Shared by the system module's services: every global record is (``global``, natural id),
every account record is (account id, id); a missing record is a 404, a duplicate a 409.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pynamodb.exceptions import DeleteError, PutError, UpdateError
from pynamodb.models import Model

from chalicelib.errors import Conflict, NotFound
from chalicelib.models.conditions import is_condition_failure
from chalicelib.timeutil import utcnow

M = TypeVar("M", bound=Model)


def _range_attr(model: type[Model]) -> Any:
    return model._range_key_attribute() or model._hash_key_attribute()


def get_or_404(model: type[M], hash_key: str, range_key: str | None, what: str) -> M:
    try:
        return model.get(hash_key, range_key) if range_key is not None else model.get(hash_key)
    except model.DoesNotExist:
        raise NotFound(what) from None


def create(item: M, what: str) -> M:
    try:
        item.save(condition=_range_attr(type(item)).does_not_exist())
    except PutError as exc:
        if is_condition_failure(exc):
            raise Conflict(f"{what} already exists.", code="already_exists") from None
        raise
    return item


def update(item: M, changes: dict[str, Any], *, updated_by: str | None = None, what: str) -> M:
    """Set (or, for None, remove) the given attributes; 404 if the record went away."""
    model = type(item)
    actions = [getattr(model, name).remove() if value is None else getattr(model, name).set(value)
               for name, value in changes.items()]
    if not actions:
        return item
    if updated_by is not None and "updated_by" in model.get_attributes():
        actions.append(model.updated_by.set(updated_by))
    actions.append(model.updated_at.set(utcnow()))
    try:
        item.update(actions=actions, condition=_range_attr(model).exists())
    except UpdateError as exc:
        if is_condition_failure(exc):
            raise NotFound(what) from None
        raise
    return item


def delete(model: type[M], hash_key: str, range_key: str | None, what: str) -> None:
    item = model(hash_key, range_key) if range_key is not None else model(hash_key)
    try:
        item.delete(condition=_range_attr(model).exists())
    except DeleteError as exc:
        if is_condition_failure(exc):
            raise NotFound(what) from None
        raise


def put_if_absent(item: Model) -> bool:
    """Seeding: write the item unless one with its key exists (never overwrites an edit)."""
    try:
        item.save(condition=_range_attr(type(item)).does_not_exist())
        return True
    except PutError as exc:
        if is_condition_failure(exc):
            return False
        raise
