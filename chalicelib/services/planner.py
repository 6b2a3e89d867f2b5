"""Planner domain: keywords, clusters, content ideas, the seed keyword library.

Callers (routes, workers) verify the site belongs to the account first
(``chalicelib.services.sites.get_site``); every key below starts with the account id, so
nothing here can reach another account's records anyway.

Cascade rules (docs/planner-writer.md):
- delete keyword: its uniqueness item goes with it; its cluster's keyword_count drops.
- delete cluster: its keywords lose cluster_id (clustered -> pending, used stays used);
  its ideas are kept, detached (cluster_id null). Written work is never deleted.
- delete idea: its tasks are kept, detached (idea_id null); the cluster's idea_count drops
  (back in "clusters without ideas" at 0).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from chalicelib.errors import ApiError, Conflict, NotFound, UnprocessableEntity
from chalicelib.ids import new_id
from chalicelib.models.accounts import site_key
from chalicelib.models.conditions import conditional
from chalicelib.models.pages import Page, paginate
from chalicelib.models.planner import (
    Cluster,
    ContentIdea,
    Keyword,
    KeywordName,
    SeedKeyword,
    keyword_name_scope,
    seed_scope,
)
from chalicelib.models.site_records import join_key
from chalicelib.models.transactions import ConditionsFailed, Transaction, optimistic
from chalicelib.models.writer import Task
from chalicelib.services import content_types, keyword_import, records, txn
from chalicelib.services.records import BulkOutcome, Kind, Records
from chalicelib.services.state_machines import illegal, state_condition, transition, transition_ops

KEYWORDS = Kind("keyword", Keyword)
CLUSTERS = Kind("cluster", Cluster)
IDEAS = Kind("idea", ContentIdea, label="Idea")

MAX_BULK_KEYWORDS = 1000


def _conn():
    return txn.shared_connection(Keyword)


# --- keywords ---------------------------------------------------------------------------

def get_keyword(account_id: str, site_id: str, keyword_id: str) -> Keyword:
    return records.get(KEYWORDS, account_id, site_id, keyword_id)


def _existing_name(account_id: str, site_id: str, sector_id: str, normalized: str) -> KeywordName | None:
    try:
        return KeywordName.get(keyword_name_scope(account_id, site_id, sector_id), normalized)
    except KeywordName.DoesNotExist:
        return None


def _duplicate(account_id: str, site_id: str, sector_id: str, normalized: str) -> Conflict:
    name = _existing_name(account_id, site_id, sector_id, normalized)
    return Conflict("This keyword is already in this sector.", code="duplicate_keyword",
                    details={"keyword_id": name.keyword_id if name else None, "normalized": normalized})


def _row(data: dict[str, Any], sector_id: str | None) -> keyword_import.Row:
    row = keyword_import.make_row(1, data, sector_id)
    if isinstance(row, keyword_import.Rejected):
        raise UnprocessableEntity(f"The keyword is not valid: {row.reason}.", details=[{"message": row.reason}])
    return row


def create_keyword(account_id: str, site_id: str, data: dict[str, Any], *, created_by: str | None = None) -> Keyword:
    """One keyword and its uniqueness item, into an open sector: one transaction."""
    row = _row(data, data["sector_id"])
    kw = keyword_import.new_keyword(account_id, site_id, row, created_by)
    name = KeywordName(keyword_name_scope(account_id, site_id, row.sector_id), row.normalized,
                       keyword_id=kw.keyword_id)
    tx = records.check_sector(Transaction("create keyword"), account_id, site_id, row.sector_id)
    tx.put(name, condition=KeywordName.normalized.does_not_exist(), label="name")
    tx.put(kw, condition=Keyword.keyword_id.does_not_exist(), label="keyword")
    records.commit_create(tx, account_id, site_id, row.sector_id,
                          name=lambda: _duplicate(account_id, site_id, row.sector_id, row.normalized))
    return kw


def update_keyword(account_id: str, site_id: str, keyword_id: str, changes: dict[str, Any]) -> Keyword:
    kw = get_keyword(account_id, site_id, keyword_id)
    status = changes.pop("status", None)
    text, sector = changes.pop("keyword", None), changes.pop("sector_id", None)
    metrics = {}
    if changes:
        row = _row({"keyword": kw.keyword, **changes}, kw.sector_id)
        metrics = {k: getattr(row, k) for k in changes}
    if text is not None or (sector is not None and sector != kw.sector_id):
        _rename_keyword(kw, text if text is not None else kw.keyword, sector or kw.sector_id, metrics)
    elif metrics:
        records.set_fields(kw, metrics, KEYWORDS)
    if status is not None and status != kw.status:
        set_keyword_status(kw, status)
    return kw


def _rename_keyword(kw: Keyword, text: str, sector_id: str, metrics: dict[str, Any]) -> None:
    """Move the keyword to a new text and/or sector, moving its uniqueness item with it."""
    if sector_id != kw.sector_id:
        if kw.cluster_id:
            raise Conflict("Remove the keyword from its cluster before moving it to another sector.",
                           code="keyword_in_cluster", details={"cluster_id": kw.cluster_id})
        records.require_sector(kw.account_id, kw.site_id, sector_id)
    row = _row({"keyword": text}, sector_id)
    if row.normalized == kw.normalized and sector_id == kw.sector_id:
        records.set_fields(kw, {"keyword": row.keyword, **metrics}, KEYWORDS)
        return
    old_name = KeywordName(keyword_name_scope(kw.account_id, kw.site_id, kw.sector_id), kw.normalized)
    new_name = KeywordName(keyword_name_scope(kw.account_id, kw.site_id, sector_id), row.normalized,
                           keyword_id=kw.keyword_id)
    actions, condition = transition_ops(kw, {"sector_id": sector_id}, check=False)
    cls = Keyword
    actions += [cls.keyword.set(row.keyword), cls.normalized.set(row.normalized)]
    actions += [getattr(cls, k).set(v) if v is not None else getattr(cls, k).remove() for k, v in metrics.items()]
    tx = Transaction("rename keyword")
    tx.delete(old_name, condition=KeywordName.keyword_id == kw.keyword_id, label="old name")
    tx.put(new_name, condition=KeywordName.normalized.does_not_exist(), label="name")
    tx.update(kw, actions, condition=condition & (Keyword.normalized == kw.normalized), label="keyword")
    try:
        tx.commit()
    except ConditionsFailed as exc:
        if "name" in exc.labels and _existing_name(kw.account_id, kw.site_id, sector_id, row.normalized):
            raise _duplicate(kw.account_id, kw.site_id, sector_id, row.normalized) from None
        raise Conflict("The keyword changed while this request ran; read it again.",
                       code="concurrent_change") from None
    kw.refresh()


def _keyword_status_unit(kw: Keyword, new: str) -> txn.Unit:
    """The writes that move one keyword to ``new`` (and its cluster counter with it)."""
    current = kw.status
    if new == "clustered" and not kw.cluster_id:
        raise UnprocessableEntity("A keyword becomes 'clustered' by being added to a cluster: "
                                  "POST /v1/sites/{site_id}/clusters/{cluster_id}/keywords.",
                                  code="cluster_required")
    also: dict[str, Any] = {}
    counters = []
    if new in ("pending", "archived") and kw.cluster_id:
        also["cluster_id"] = None
        counters.append(txn.Counter(Cluster(kw.site_key, kw.cluster_id), "keyword_count", -1))
    if new == current:
        raise illegal("keyword", "status", current, new)
    actions, condition = transition_ops(kw, {"status": new, **also})
    return txn.Unit(kw.keyword_id, [txn.Op("update", kw, condition, actions)], counters)


def set_keyword_status(kw: Keyword, new: str) -> Keyword:
    unit = _keyword_status_unit(kw, new)
    if txn.run_units([unit], _conn()).failed:
        kw.refresh(consistent_read=True)
        raise illegal("keyword", "status", kw.status, new, raced=True)
    kw.refresh()
    return kw


def bulk_keyword_status(account_id: str, site_id: str, ids: list[str], new: str) -> BulkOutcome:
    outcome = BulkOutcome()
    found = records.batch_get(KEYWORDS, account_id, site_id, ids)
    units = []
    for keyword_id in dict.fromkeys(ids):
        kw = found.get(keyword_id)
        if kw is None:
            outcome.fail(keyword_id, "not_found", "Keyword not found.")
            continue
        if kw.status == new:
            outcome.succeeded.append(keyword_id)  # already there: nothing to move
            continue
        try:
            units.append(_keyword_status_unit(kw, new))
        except ApiError as exc:
            outcome.fail_with(keyword_id, exc)
    result = txn.run_units(units, _conn())
    outcome.succeeded.extend(result.ok)
    for keyword_id in result.failed:
        outcome.fail(keyword_id, "illegal_transition", "The keyword changed while this request ran.")
    return outcome


def _keyword_delete_unit(kw: Keyword) -> txn.Unit:
    name = KeywordName(keyword_name_scope(kw.account_id, kw.site_id, kw.sector_id), kw.normalized)
    counters = [txn.Counter(Cluster(kw.site_key, kw.cluster_id), "keyword_count", -1)] if kw.cluster_id else []
    return txn.Unit(kw.keyword_id, [
        txn.Op("delete", kw, state_condition(kw)),
        txn.Op("delete", name, KeywordName.keyword_id == kw.keyword_id),
    ], counters)


def delete_keyword(account_id: str, site_id: str, keyword_id: str) -> None:
    def attempt() -> None:
        if txn.run_units([_keyword_delete_unit(get_keyword(account_id, site_id, keyword_id))], _conn()).failed:
            raise ConditionsFailed("delete keyword", frozenset({"keyword"}))  # read it again and retry

    optimistic(attempt, what="keyword")


def bulk_delete_keywords(account_id: str, site_id: str, ids: list[str]) -> BulkOutcome:
    outcome = BulkOutcome()
    found = records.batch_get(KEYWORDS, account_id, site_id, ids)
    units = []
    for keyword_id in dict.fromkeys(ids):
        kw = found.get(keyword_id)
        if kw is None:
            outcome.fail(keyword_id, "not_found", "Keyword not found.")
        else:
            units.append(_keyword_delete_unit(kw))
    result = txn.run_units(units, _conn())
    outcome.succeeded.extend(result.ok)
    for keyword_id in result.failed:
        try:
            delete_keyword(account_id, site_id, keyword_id)
            outcome.succeeded.append(keyword_id)
        except ApiError as exc:
            outcome.fail_with(keyword_id, exc)
    return outcome


def import_keywords(account_id: str, site_id: str, parsed: list, *,
                    created_by: str | None = None) -> keyword_import.ImportResult:
    return keyword_import.import_rows(account_id, site_id, parsed, created_by=created_by)


# --- clusters ---------------------------------------------------------------------------

def get_cluster(account_id: str, site_id: str, cluster_id: str, *, consistent: bool = False) -> Cluster:
    return records.get(CLUSTERS, account_id, site_id, cluster_id, consistent=consistent)


def create_cluster(account_id: str, site_id: str, *, sector_id: str, name: str, description: str = "",
                   created_by: str | None = None,
                   record_id: str | None = None) -> Cluster:
    cluster = Cluster(site_key(account_id, site_id), record_id or new_id(), account_id=account_id, site_id=site_id,
                      sector_id=sector_id, name=name, description=description, created_by=created_by)
    cluster.sync_index_keys()
    tx = records.check_sector(Transaction("create cluster"), account_id, site_id, sector_id)
    tx.put(cluster, condition=Cluster.cluster_id.does_not_exist(), label="cluster")
    records.commit_create(tx, account_id, site_id, sector_id)
    return cluster


def update_cluster(account_id: str, site_id: str, cluster_id: str, changes: dict[str, Any]) -> Cluster:
    return records.set_fields(get_cluster(account_id, site_id, cluster_id), changes, CLUSTERS)


def assign_keywords(account_id: str, site_id: str, cluster_id: str, ids: list[str]) -> BulkOutcome:
    """Put keywords into a cluster: pending -> clustered; clustered/used keywords move cluster."""
    cluster = get_cluster(account_id, site_id, cluster_id)
    outcome = BulkOutcome()
    found = records.batch_get(KEYWORDS, account_id, site_id, ids)
    units = []
    for keyword_id in dict.fromkeys(ids):
        kw = found.get(keyword_id)
        if kw is None:
            outcome.fail(keyword_id, "not_found", "Keyword not found.")
            continue
        if kw.cluster_id == cluster_id:
            outcome.succeeded.append(keyword_id)
            continue
        if kw.sector_id != cluster.sector_id:
            outcome.fail(keyword_id, "sector_mismatch", "The keyword and the cluster are in different sectors.")
            continue
        new_status = "clustered" if kw.status == "pending" else kw.status
        if new_status not in ("clustered", "used"):
            outcome.fail(keyword_id, "illegal_transition", f"A keyword in status {kw.status!r} cannot be clustered.",
                         current_status=kw.status)
            continue
        counters = [txn.Counter(Cluster(cluster.site_key, cluster_id), "keyword_count", 1)]
        if kw.cluster_id:
            counters.append(txn.Counter(Cluster(kw.site_key, kw.cluster_id), "keyword_count", -1))
        actions, condition = transition_ops(kw, {"status": new_status, "cluster_id": cluster_id})
        units.append(txn.Unit(keyword_id, [txn.Op("update", kw, condition, actions)], counters))
    result = txn.run_units(units, _conn())
    outcome.succeeded.extend(result.ok)
    for keyword_id in result.failed:
        outcome.fail(keyword_id, "concurrent_change", "The keyword or the cluster changed while this request ran.")
    return outcome


def remove_keywords(account_id: str, site_id: str, cluster_id: str, ids: list[str]) -> BulkOutcome:
    """Take keywords out of a cluster: clustered -> pending (used keywords cannot leave)."""
    get_cluster(account_id, site_id, cluster_id)
    outcome = BulkOutcome()
    found = records.batch_get(KEYWORDS, account_id, site_id, ids)
    units = []
    for keyword_id in dict.fromkeys(ids):
        kw = found.get(keyword_id)
        if kw is None or kw.cluster_id != cluster_id:
            outcome.fail(keyword_id, "not_found", "The keyword is not in this cluster.")
            continue
        if kw.status != "clustered":
            outcome.fail(keyword_id, "illegal_transition", f"A {kw.status!r} keyword stays in its cluster; "
                         "archive it instead.", current_status=kw.status)
            continue
        units.append(_keyword_status_unit(kw, "pending"))
    result = txn.run_units(units, _conn())
    outcome.succeeded.extend(result.ok)
    for keyword_id in result.failed:
        outcome.fail(keyword_id, "concurrent_change", "The keyword changed while this request ran.")
    return outcome


def _detach_cluster_children(cluster: Cluster) -> None:
    sk = cluster.site_key
    keywords = list(Keyword.by_cluster.query(join_key(sk, cluster.cluster_id)))
    units = []
    for kw in keywords:
        new_status = "pending" if kw.status == "clustered" else kw.status
        actions, condition = transition_ops(kw, {"status": new_status, "cluster_id": None}, check=False)
        units.append(txn.Unit(kw.keyword_id, [txn.Op("update", kw, condition, actions)],
                              [txn.Counter(cluster, "keyword_count", -1)]))
    for idea in ContentIdea.by_cluster.query(join_key(sk, cluster.cluster_id)):
        actions, condition = transition_ops(idea, {"cluster_id": None}, check=False)
        units.append(txn.Unit(idea.idea_id, [txn.Op("update", idea, condition, actions)],
                              [txn.Counter(cluster, "idea_count", -1)]))
    txn.run_units(units, _conn())


def delete_cluster(account_id: str, site_id: str, cluster_id: str) -> None:
    """Detach the cluster's keywords and ideas, then delete it once nothing points at it."""
    def attempt() -> None:
        cluster = get_cluster(account_id, site_id, cluster_id, consistent=True)
        _detach_cluster_children(cluster)
        # keywords or ideas added meanwhile: the condition fails and the detach runs again
        Cluster(cluster.site_key, cluster_id).delete(
            condition=Cluster.cluster_id.exists() & (Cluster.keyword_count <= 0) & (Cluster.idea_count <= 0))

    optimistic(attempt, what="cluster")


# --- ideas ------------------------------------------------------------------------------

def get_idea(account_id: str, site_id: str, idea_id: str) -> ContentIdea:
    return records.get(IDEAS, account_id, site_id, idea_id)


def _count_idea(tx: Transaction, cluster: Cluster, delta: int) -> Transaction:
    """Optimistic idea_count change that also keeps the "without ideas" sparse keys right."""
    new_count = max(0, int(cluster.idea_count or 0) + delta)
    actions = [Cluster.idea_count.set(new_count), *cluster.key_actions(idea_count=new_count)]
    unchanged = Cluster.cluster_id.exists() & (Cluster.idea_count == cluster.idea_count)
    return tx.update(cluster, actions, condition=unchanged, label="cluster")


def _with_cluster_count(cluster: Cluster, delta: int, build: Callable[[], Transaction]) -> None:
    """Commit ``build()``'s writes with the cluster's idea count moved by ``delta``; read the
    cluster again (consistently) while concurrent writers move the count first."""
    read = [cluster]

    def attempt() -> None:
        current = read.pop() if read else get_cluster(cluster.account_id, cluster.site_id, cluster.cluster_id,
                                                      consistent=True)
        tx = _count_idea(build(), current, delta)
        try:
            tx.commit()
        except ConditionsFailed as exc:
            records.sector_refusal(exc, cluster.account_id, cluster.site_id, cluster.sector_id)
            raise  # the count moved: read the cluster again

    optimistic(attempt, what="cluster")


def create_idea(account_id: str, site_id: str, data: dict[str, Any], *, created_by: str | None = None,
                record_id: str | None = None) -> ContentIdea:
    cluster_id = data.get("cluster_id")
    sector_id = data.get("sector_id")
    cluster = records.parent(CLUSTERS, account_id, site_id, cluster_id)
    if cluster is not None:
        if sector_id and sector_id != cluster.sector_id:
            raise UnprocessableEntity("The idea's sector must be its cluster's sector.", code="sector_mismatch")
        sector_id = cluster.sector_id
    elif not sector_id:
        raise UnprocessableEntity("Give a sector_id or a cluster_id.", code="sector_required",
                                  details=[{"field": "sector_id", "message": "required without cluster_id"}])
    fields = {k: v for k, v in data.items() if k not in ("cluster_id", "sector_id") and v is not None}
    fields["content_type"] = content_types.validate(fields.get("content_type") or content_types.DEFAULT)
    idea = ContentIdea(site_key(account_id, site_id), record_id or new_id(), account_id=account_id, site_id=site_id,
                       sector_id=sector_id, cluster_id=cluster_id, created_by=created_by, **fields)
    idea.sync_index_keys()

    def put() -> Transaction:
        tx = records.check_sector(Transaction("create idea"), account_id, site_id, sector_id)
        return tx.put(idea, condition=ContentIdea.idea_id.does_not_exist(), label="idea")

    if cluster is not None:
        _with_cluster_count(cluster, +1, put)
    else:
        records.commit_create(put(), account_id, site_id, sector_id)
    return idea


def update_idea(account_id: str, site_id: str, idea_id: str, changes: dict[str, Any]) -> ContentIdea:
    if changes.get("content_type") is not None:
        changes = {**changes, "content_type": content_types.validate(changes["content_type"])}
    return records.change(get_idea(account_id, site_id, idea_id), changes, IDEAS, set_idea_status)


def set_idea_status(idea: ContentIdea, new: str) -> None:
    if idea.status == new:
        return
    transition(idea, "status", new)


def delete_idea(account_id: str, site_id: str, idea_id: str) -> None:
    idea = get_idea(account_id, site_id, idea_id)
    sk = idea.site_key
    units = []
    for task in Task.by_idea.query(join_key(sk, idea_id)):
        actions, condition = transition_ops(task, {"idea_id": None}, check=False)
        units.append(txn.Unit(task.task_id, [txn.Op("update", task, condition, actions)]))
    txn.run_units(units, _conn())

    def delete() -> Transaction:
        return Transaction("delete idea").delete(idea, condition=state_condition(idea), label="idea")

    if idea.cluster_id:
        try:
            _with_cluster_count(get_cluster(account_id, site_id, idea.cluster_id, consistent=True), -1, delete)
        except NotFound:  # the cluster is gone (a detach is racing this delete): nothing to count
            idea.delete()
        return
    with conditional(otherwise=Conflict("The idea changed while deleting it; try again.", code="concurrent_change")):
        delete().commit()


# --- seed keywords (global library, per industry) -------------------------------------

MAX_SEEDS_PER_INDUSTRY = 10_000


def seed_id_for(normalized: str) -> str:
    # Deterministic, path-safe key: the same keyword can exist once per industry.
    return hashlib.sha256(normalized.encode()).hexdigest()[:32]


def add_seeds(industry_id: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    from chalicelib.services.sites import get_industry

    get_industry(industry_id)
    created, skipped, rejected = 0, 0, []
    for row in keyword_import.rows_from_json(items, "-"):
        if isinstance(row, keyword_import.Rejected):
            rejected.append({"row": row.row, "keyword": row.keyword, "reason": row.reason})
            continue
        seed = SeedKeyword(seed_scope(industry_id), seed_id_for(row.normalized), industry_id=industry_id,
                           keyword=row.keyword, normalized=row.normalized, search_volume=row.search_volume,
                           difficulty=row.difficulty, cpc=row.cpc)
        with conditional() as write:
            seed.save(condition=SeedKeyword.seed_id.does_not_exist())
        created, skipped = (created + 1, skipped) if write.held else (created, skipped + 1)
    return {"created": created, "skipped_duplicates": skipped, "rejected": len(rejected), "rejected_rows": rejected}


def delete_seed(industry_id: str, seed_id: str) -> None:
    with conditional(otherwise=NotFound("Seed keyword")):
        SeedKeyword(seed_scope(industry_id), seed_id).delete(condition=SeedKeyword.seed_id.exists())


def list_seeds(industry_id: str | None, *, limit: int, cursor: str | None) -> Page:
    """A page of an industry's seed keywords (none without an industry)."""
    if not industry_id:
        return Page([], None)
    return paginate(lambda **kw: SeedKeyword.query(seed_scope(industry_id), **kw), scope=f"seeds:{industry_id}",
                    limit=limit, cursor=cursor)


def seeds_of_industry(industry_id: str, limit: int) -> list[SeedKeyword]:
    """The industry's seeds with the highest search volume first (a bounded library)."""
    seeds = list(SeedKeyword.query(seed_scope(industry_id), limit=MAX_SEEDS_PER_INDUSTRY))
    seeds.sort(key=lambda s: (-(s.search_volume or 0), s.normalized))
    return seeds[:limit]


def add_keywords_from_seeds(account_id: str, site_id: str, industry_id: str | None, sector_id: str, limit: int, *,
                            created_by: str | None = None) -> keyword_import.ImportResult:
    if not industry_id:
        raise UnprocessableEntity("This site has no industry; set one (PATCH /v1/sites/{site_id}) to use its "
                                  "seed keywords.", code="site_without_industry")
    rows: list = []
    for i, seed in enumerate(seeds_of_industry(industry_id, limit), start=1):
        rows.append(keyword_import.make_row(i, {"keyword": seed.keyword, "search_volume": seed.search_volume,
                                                "difficulty": seed.difficulty, "cpc": seed.cpc}, sector_id))
    return keyword_import.import_rows(account_id, site_id, rows, created_by=created_by)



# --- the operations the record routes serve (api.resources) ---------------------------

KEYWORD_RECORDS = Records(KEYWORDS, create=create_keyword, get=get_keyword, update=update_keyword,
                          delete=delete_keyword, bulk_status=bulk_keyword_status, bulk_delete=bulk_delete_keywords)
CLUSTER_RECORDS = Records(
    CLUSTERS, get=get_cluster, update=update_cluster, delete=delete_cluster,
    create=lambda account_id, site_id, data, created_by=None: create_cluster(account_id, site_id, **data,
                                                                             created_by=created_by))
IDEA_RECORDS = Records(IDEAS, create=create_idea, get=get_idea, update=update_idea, delete=delete_idea,
                       set_status=set_idea_status)
