"""Get, list, create, change and delete one keyed record, with the conditions that make each safe.

Shared by the services of platform and account records: every record is (scope, natural id),
the scope being ``global`` or an account id; a missing record is a 404, a duplicate a 409.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pynamodb.models import Model

from chalicelib.errors import Conflict, NotFound
from chalicelib.models.conditions import conditional
from chalicelib.models.pages import Page, paginate

M = TypeVar("M", bound=Model)


def _range_attr(model: type[Model]) -> Any:
    return model._range_key_attribute() or model._hash_key_attribute()


def get_or_404(model: type[M], hash_key: str, range_key: str | None, what: str) -> M:
    try:
        return model.get(hash_key, range_key) if range_key is not None else model.get(hash_key)
    except model.DoesNotExist:
        raise NotFound(what) from None


def page(model: type[Model], scope: str, *, limit: int, cursor: str | None) -> Page:
    """One page of a scope's records, in key order; the cursor is bound to the table and scope."""
    return paginate(lambda **kw: model.query(scope, **kw), scope=f"{model.Meta.table_name}:{scope}",
                    limit=limit, cursor=cursor)


def create(item: M, what: str) -> M:
    with conditional(otherwise=Conflict(f"{what} already exists.", code="already_exists")):
        item.save(condition=_range_attr(type(item)).does_not_exist())
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
    with conditional(otherwise=NotFound(what)):
        item.update(actions=actions, condition=_range_attr(model).exists())
    return item


def delete(model: type[M], hash_key: str, range_key: str | None, what: str) -> None:
    item = model(hash_key, range_key) if range_key is not None else model(hash_key)
    with conditional(otherwise=NotFound(what)):
        item.delete(condition=_range_attr(model).exists())


def put_if_absent(item: Model) -> bool:
    """Seeding: write the item unless one with its key exists (never overwrites an edit)."""
    with conditional() as write:
        item.save(condition=_range_attr(type(item)).does_not_exist())
    return write.held
