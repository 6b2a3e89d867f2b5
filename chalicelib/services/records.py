"""Generic reads and small writes shared by the planner and writer records.

A record kind's lists come from its model's index declarations (``gsi(by=..., only=...)`` in
``models.site_records``): each index under the site serves exactly the filters its key is made
of, so a key shape is written once, on the model. A list request with any other combination
of filters is a 422 naming the supported ones, so no list ever falls back to a Scan or a
FilterExpression.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from chalicelib.errors import ApiError, Conflict, NotFound, UnprocessableEntity
from chalicelib.models.accounts import Sector, site_key
from chalicelib.models.conditions import conditional
from chalicelib.models.pages import Page, paginate
from chalicelib.models.site_records import SiteRecord, join_key
from chalicelib.models.transactions import ConditionsFailed, Transaction
from chalicelib.services import sites
from chalicelib.services.state_machines import state_condition


@dataclass(frozen=True)
class ListSpec:
    """One list of a site's records: the table (``index`` None) or an index, keyed by ``by``."""

    index: str | None
    by: tuple[str, ...] = ()
    forward: bool = False  # False: newest first (ids are UUIDv7)

    def key(self, site_key_value: str, filters: dict[str, Any]) -> str:
        return join_key(site_key_value, *(filters[name] for name in self.by))


def site_lists(model: type[SiteRecord]) -> tuple[dict[frozenset[str], ListSpec], frozenset[str]]:
    """The lists the model's indexes serve, by filter set; and the flag filters (sparse indexes)."""
    lists: dict[frozenset[str], ListSpec] = {frozenset(): ListSpec(None)}
    flags: set[str] = set()
    for index in model.site_indexes():
        filters = set(index.by)
        if index.only is not None:
            filters.add(index.only.flag)
            flags.add(index.only.flag)
        lists[frozenset(filters)] = ListSpec(index.Meta.index_name, index.by, index.forward)
    return lists, frozenset(flags)


@dataclass
class Kind:
    """A Site+Sector record kind: its model, and the words errors use for it."""

    name: str
    model: type[SiteRecord]
    label: str = ""

    @property
    def id_attr(self) -> str:
        return self.model._range_keyname

    @property
    def title(self) -> str:
        return self.label or self.name.capitalize()

    @cached_property
    def lists(self) -> dict[frozenset[str], ListSpec]:
        return site_lists(self.model)[0]

    @cached_property
    def flags(self) -> frozenset[str]:
        return site_lists(self.model)[1]


def get(kind: Kind, account_id: str, site_id: str, record_id: str, *, consistent: bool = False) -> Any:
    item = read(kind, account_id, site_id, record_id, consistent=consistent)
    sites.check_writable([item])  # a writing request: 409 if the record's sector is deactivated
    return item


def read(kind: Kind, account_id: str, site_id: str, record_id: str, *, consistent: bool = False) -> Any:
    """The record or 404, its sector unchecked (its caller checks it in its own write)."""
    try:
        return kind.model.get(site_key(account_id, site_id), record_id, consistent_read=consistent)
    except kind.model.DoesNotExist:
        raise NotFound(kind.title) from None


def parent(kind: Kind, account_id: str, site_id: str, record_id: str | None) -> Any:
    """The parent a new record names (None: it names none); 422 ``unknown_<kind>`` if there is no such.

    Its sector is not read: the create's transaction checks the sector the new record goes into.
    """
    if not record_id:
        return None
    try:
        return read(kind, account_id, site_id, record_id)
    except NotFound:
        raise UnprocessableEntity(f"There is no such {kind.name} in this site.", code=f"unknown_{kind.name}") from None


def list_page(kind: Kind, account_id: str, site_id: str, filters: dict[str, Any], *, limit: int,
              cursor: str | None) -> Page:
    active = {k: v for k, v in filters.items() if v is not None}
    for flag in kind.flags & set(active):
        if active[flag] is not True:
            raise UnprocessableEntity(f"{flag} takes only 'true'; leave it out for every {kind.name}.",
                                      code="unsupported_filter")
    spec = kind.lists.get(frozenset(active))
    if spec is None:
        combos = sorted(" + ".join(sorted(c)) or "(none)" for c in kind.lists)
        raise UnprocessableEntity(
            f"These {kind.name} filters cannot be combined: {', '.join(sorted(active))}. "
            f"Supported: {'; '.join(combos)}.", code="unsupported_filter",
            details={"supported": [sorted(c) for c in kind.lists]})
    hash_value = spec.key(site_key(account_id, site_id), active)
    query = getattr(kind.model, spec.index).query if spec.index else kind.model.query
    return paginate(lambda **kw: query(hash_value, **kw), scope=f"{kind.name}:{spec.index or 'table'}:{hash_value}",
                    limit=limit, cursor=cursor, scan_index_forward=spec.forward)


def unknown_sector() -> UnprocessableEntity:
    return UnprocessableEntity("There is no such sector in this site; see GET /v1/sites/{site_id}/sectors.",
                               code="unknown_sector",
                               details=[{"field": "sector_id", "message": "not a sector of this site"}])


def require_sector(account_id: str, site_id: str, sector_id: str) -> Sector:
    """The sector new or moved records go into: 422 if unknown, 409 if deactivated or being deleted."""
    try:
        sector = sites.get_sector(account_id, site_id, sector_id)
    except NotFound:
        raise unknown_sector() from None
    return sites.require_open_sector(sector)


SECTOR = "sector"  # the label of a transaction's check that its sector takes records


def check_sector(tx: Transaction, account_id: str, site_id: str, sector_id: str) -> Transaction:
    """Add to ``tx`` the check that the sector exists and takes records (active, not being deleted).

    A new record is checked this way inside its create's transaction: no read of the sector first.
    """
    open_sector = Sector.sector_id.exists() & (Sector.is_active == True) & Sector.deleting_since.does_not_exist()  # noqa: E712
    return tx.check(Sector, site_key(account_id, site_id), sector_id, condition=open_sector, label=SECTOR)


def sector_refusal(exc: ConditionsFailed, account_id: str, site_id: str, sector_id: str) -> None:
    """After a cancelled transaction: if its sector check failed, the error ``require_sector`` gives."""
    if SECTOR in exc.labels:
        require_sector(account_id, site_id, sector_id)
        raise Conflict("The sector changed while this request ran; try again.", code="concurrent_change")


def commit_create(tx: Transaction, account_id: str, site_id: str, sector_id: str,
                  **otherwise: Callable[[], ApiError]) -> None:
    """Commit a create's transaction; a failed check answers as its label says (``otherwise``)."""
    try:
        tx.commit()
    except ConditionsFailed as exc:
        sector_refusal(exc, account_id, site_id, sector_id)
        for label, error in otherwise.items():
            if label in exc.labels:
                raise error() from None
        raise


def set_fields(item: SiteRecord, changes: dict[str, Any], kind: Kind) -> SiteRecord:
    """Change plain attributes; the item must still exist.

    A change to an attribute the derived index keys read (e.g. an idea's primary keyword,
    which keys the cannibalisation index) rewrites those keys too, conditional on the
    state the item was read with, so a concurrent status move cannot leave a stale key.
    """
    if not changes:
        return item
    cls = type(item)
    actions = [getattr(cls, name).set(value) if value is not None else getattr(cls, name).remove()
               for name, value in changes.items()]
    condition = getattr(cls, kind.id_attr).exists()
    rekey = bool(set(changes) & set(item.STATE_ATTRS + item.KEY_INPUTS))
    if rekey:
        condition = condition & state_condition(item)
        for name, value in changes.items():
            setattr(item, name, value)
        actions += item.key_actions()
    with conditional() as write:
        item.update(actions=actions, condition=condition)
    if not write.held:
        if rekey and _exists(item, kind):
            raise Conflict(f"The {kind.title.lower()} changed while this update ran; read it and try again.",
                           code="concurrent_change")
        raise NotFound(kind.title)
    return item


def change(item: SiteRecord, changes: dict[str, Any], kind: Kind, set_status: Callable[[Any, str], Any]) -> Any:
    """A PATCH of a record: its plain fields, then its status (a move its machine allows)."""
    status = changes.pop("status", None)
    set_fields(item, changes, kind)
    if status is not None:
        set_status(item, status)
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


@dataclass(frozen=True)
class Records:
    """The operations on one record kind that its routes serve (``api.resources`` builds them).

    ``create(account_id, site_id, data, created_by)``, ``get(account_id, site_id, id)``,
    ``update(account_id, site_id, id, changes)``, ``delete(account_id, site_id, id)``;
    ``set_status(item, status)`` moves one record (bulk-status applies it to each);
    ``bulk_status`` / ``bulk_delete`` / ``list`` replace the generic ones where a kind does
    them otherwise (all in transactions, a filter of its own).
    """

    kind: Kind
    create: Callable[..., Any]
    get: Callable[[str, str, str], Any]
    update: Callable[[str, str, str, dict[str, Any]], Any]
    delete: Callable[[str, str, str], None]
    set_status: Callable[[Any, str], Any] | None = None
    bulk_status: Callable[[str, str, list[str], str], BulkOutcome] | None = None
    bulk_delete: Callable[[str, str, list[str]], BulkOutcome] | None = None
    list: Callable[..., Page] | None = None

    def list_page(self, account_id: str, site_id: str, filters: dict[str, Any], *, limit: int,
                  cursor: str | None) -> Page:
        if self.list is not None:
            return self.list(account_id, site_id, filters, limit=limit, cursor=cursor)
        return list_page(self.kind, account_id, site_id, filters, limit=limit, cursor=cursor)

    def change_status(self, account_id: str, site_id: str, ids: list[str], status: str) -> BulkOutcome:
        if self.bulk_status is not None:
            return self.bulk_status(account_id, site_id, ids, status)
        assert self.set_status is not None
        move = self.set_status
        return bulk_each(self.kind, account_id, site_id, ids, lambda item: move(item, status))

    def delete_many(self, account_id: str, site_id: str, ids: list[str]) -> BulkOutcome:
        if self.bulk_delete is not None:
            return self.bulk_delete(account_id, site_id, ids)
        delete, id_attr = self.delete, self.kind.id_attr
        return bulk_each(self.kind, account_id, site_id, ids,
                         lambda item: delete(account_id, site_id, getattr(item, id_attr)))
