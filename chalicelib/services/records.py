"""Generic reads and small writes shared by the planner and writer records.

Each record kind declares which filter combinations it serves and from which key or
index (``Kind.lists``); a list request with any other combination is a 422 naming the
supported ones, so no list ever falls back to a Scan or a FilterExpression.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.errors import ApiError, Conflict, NotFound, UnprocessableEntity
from chalicelib.models.accounts import Sector, site_key
from chalicelib.models.conditions import is_condition_failure
from chalicelib.models.pages import Page, paginate
from chalicelib.models.site_records import SiteRecord, join_key
from chalicelib.services import sites
from chalicelib.timeutil import utcnow

KeyFn = Callable[[str, dict[str, Any]], str]


@dataclass(frozen=True)
class ListSpec:
    index: str | None  # None: the table itself (hash = site key)
    key: KeyFn
    forward: bool = False  # False: newest first (ids are UUIDv7)


@dataclass
class Kind:
    name: str
    model: type[SiteRecord]
    id_attr: str
    lists: dict[frozenset[str], ListSpec]
    label: str = ""

    @property
    def title(self) -> str:
        return self.label or self.name.capitalize()


def site_list(sk: str, f: dict[str, Any]) -> str:
    return sk


def by(*names: str) -> KeyFn:
    return lambda sk, f: join_key(sk, *(f[n] for n in names))


def get(kind: Kind, account_id: str, site_id: str, record_id: str, *, consistent: bool = False) -> Any:
    try:
        item = kind.model.get(site_key(account_id, site_id), record_id, consistent_read=consistent)
    except kind.model.DoesNotExist:
        raise NotFound(kind.title) from None
    sites.check_writable([item])  # a writing request: 409 if the record's sector is deactivated
    return item


def list_page(kind: Kind, account_id: str, site_id: str, filters: dict[str, Any], *, limit: int,
              cursor: str | None) -> Page:
    active = {k: v for k, v in filters.items() if v is not None}
    spec = kind.lists.get(frozenset(active))
    if spec is None:
        combos = sorted(" + ".join(sorted(c)) or "(none)" for c in kind.lists)
        raise UnprocessableEntity(
            f"These {kind.name} filters cannot be combined: {', '.join(sorted(active))}. "
            f"Supported: {'; '.join(combos)}.", code="unsupported_filter",
            details={"supported": [sorted(c) for c in kind.lists]})
    sk = site_key(account_id, site_id)
    hash_value = spec.key(sk, active)
    query = getattr(kind.model, spec.index).query if spec.index else kind.model.query
    return paginate(lambda **kw: query(hash_value, **kw), scope=f"{kind.name}:{spec.index or 'table'}:{hash_value}",
                    limit=limit, cursor=cursor, scan_index_forward=spec.forward)


def require_sector(account_id: str, site_id: str, sector_id: str) -> Sector:
    """The sector new or moved records go into: 422 if unknown, 409 if deactivated or being deleted."""
    try:
        sector = sites.get_sector(account_id, site_id, sector_id)
    except NotFound:
        raise UnprocessableEntity("There is no such sector in this site; see GET /v1/sites/{site_id}/sectors.",
                                  code="unknown_sector",
                                  details=[{"field": "sector_id", "message": "not a sector of this site"}]) from None
    return sites.require_open_sector(sector)


def set_fields(item: SiteRecord, changes: dict[str, Any], kind: Kind) -> SiteRecord:
    """Change plain attributes; the item must still exist.

    A change to an attribute the derived index keys read (e.g. an idea's primary keyword,
    which keys the cannibalisation index) rewrites those keys too, conditional on the
    state the item was read with, so a concurrent status move cannot leave a stale key.
    """
    if not changes:
        return item
    from chalicelib.services.state_machines import state_condition

    cls = type(item)
    actions = [getattr(cls, name).set(value) if value is not None else getattr(cls, name).remove()
               for name, value in changes.items()]
    actions.append(cls.updated_at.set(utcnow()))
    condition = getattr(cls, kind.id_attr).exists()
    rekey = bool(set(changes) & set(item.STATE_ATTRS + item.KEY_INPUTS))
    if rekey:
        condition = condition & state_condition(item)
        for name, value in changes.items():
            setattr(item, name, value)
        actions += item.key_actions()
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if is_condition_failure(exc):
            if rekey and _exists(item, kind):
                raise Conflict(f"The {kind.title.lower()} changed while this update ran; read it and try again.",
                               code="concurrent_change") from None
            raise NotFound(kind.title) from None
        raise
    return item


def _exists(item: SiteRecord, kind: Kind) -> bool:
    try:
        type(item).get(item.site_key, getattr(item, kind.id_attr), attributes_to_get=[kind.id_attr])
    except type(item).DoesNotExist:
        return False
    return True


def batch_get(kind: Kind, account_id: str, site_id: str, ids: Iterable[str]) -> dict[str, Any]:
    sk = site_key(account_id, site_id)
    wanted = list(dict.fromkeys(ids))
    found = {getattr(i, kind.id_attr): i for i in kind.model.batch_get([(sk, rid) for rid in wanted])}
    sites.check_writable(found.values())
    return found


@dataclass
class BulkOutcome:
    succeeded: list[str] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, record_id: str, code: str, message: str, **extra: Any) -> None:
        self.failed.append({"id": record_id, "code": code, "message": message, **extra})

    def fail_with(self, record_id: str, exc: ApiError) -> None:
        extra = {}
        if isinstance(exc.details, dict) and "current_status" in exc.details:
            extra["current_status"] = exc.details["current_status"]
        self.fail(record_id, exc.code, exc.message, **extra)


def bulk_each(kind: Kind, account_id: str, site_id: str, ids: list[str],
              fn: Callable[[Any], None]) -> BulkOutcome:
    """Apply ``fn`` to each record (one request's worth); per-item errors go into the outcome."""
    outcome = BulkOutcome()
    found = batch_get(kind, account_id, site_id, ids)
    for record_id in dict.fromkeys(ids):
        item = found.get(record_id)
        if item is None:
            outcome.fail(record_id, "not_found", f"{kind.title} not found.")
            continue
        try:
            fn(item)
        except ApiError as exc:
            outcome.fail_with(record_id, exc)
            continue
        outcome.succeeded.append(record_id)
    return outcome
