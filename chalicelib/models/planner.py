"""Planner module: Keyword (+ its uniqueness item KeywordName), Cluster, ContentIdea, SeedKeyword.

Keys (see docs/planner-writer.md for the access-pattern table):
- every table: hash ``site_key = f"{account_id}#{site_id}"``, range the record's UUIDv7 id;
- GSI hash keys are composites that start with the site key, derived from the record's
  state by ``index_keys`` and rewritten by every save and status transition;
- sparse GSIs (``cluster_key``, ``no_ideas_key``...) hold only the items that qualify.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import JSONAttribute, ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import KeysOnlyProjection

from chalicelib.models.base import TimestampedModel, table_meta
from chalicelib.models.site_records import SiteRecord, Sparse, gsi, join_key
from chalicelib.models.site_scope import PLATFORM, ChildOf, SectorPartition
from chalicelib.text import normalize_keyword

KEYWORD_STATUSES = ("pending", "clustered", "used", "archived")
IDEA_STATUSES = ("pending", "approved", "used", "archived")


class Keyword(SiteRecord):
    Meta = table_meta("keywords")
    site_key = UnicodeAttribute(hash_key=True)
    keyword_id = UnicodeAttribute(range_key=True)
    sector_id = UnicodeAttribute()
    keyword = UnicodeAttribute()  # as imported (NFKC, whitespace collapsed), case kept
    normalized = UnicodeAttribute()  # the uniqueness form: see services.keyword_import.normalize_keyword
    cluster_id = UnicodeAttribute(null=True)
    search_volume = NumberAttribute(null=True)
    difficulty = NumberAttribute(null=True)
    cpc = NumberAttribute(null=True)
    status = UnicodeAttribute(default="pending")
    created_by = UnicodeAttribute(null=True)

    status_key = UnicodeAttribute(null=True)
    sector_key = UnicodeAttribute(null=True)
    sector_status_key = UnicodeAttribute(null=True)
    cluster_key = UnicodeAttribute(null=True)

    by_status = gsi("by_status", "status_key", "keyword_id", by=("status",))
    by_sector = gsi("by_sector", "sector_key", "keyword_id", by=("sector_id",))
    by_sector_status = gsi("by_sector_status", "sector_status_key", "keyword_id", by=("sector_id", "status"))
    by_cluster = gsi("by_cluster", "cluster_key", "keyword_id", by=("cluster_id",))

    STATE_ATTRS = ("status", "sector_id", "cluster_id")


class KeywordName(TimestampedModel):
    """One item per normalised keyword of a site+sector: what makes imports duplicate-free.

    Written with attribute_not_exists in the same transaction as its Keyword, deleted in
    the same transaction as it, so two racing imports can never both create the keyword.
    """

    Meta = table_meta("keyword_names")
    # One per keyword, deleted with it; a sector's are its own partition.
    site_scope = ChildOf(Keyword, lambda kw: (keyword_name_scope(kw.account_id, kw.site_id, kw.sector_id),
                                              kw.normalized))
    sector_scope = SectorPartition(lambda account_id, site_id, sector_id: keyword_name_scope(
        account_id, site_id, sector_id))
    scope_key = UnicodeAttribute(hash_key=True)  # account_id#site_id#sector_id
    normalized = UnicodeAttribute(range_key=True)
    keyword_id = UnicodeAttribute()


def keyword_name_scope(account_id: str, site_id: str, sector_id: str) -> str:
    return join_key(account_id, site_id, sector_id)


WITHOUT_IDEAS = Sparse("without_ideas", lambda state: int(state["idea_count"] or 0) == 0)


class Cluster(SiteRecord):
    Meta = table_meta("clusters")
    site_key = UnicodeAttribute(hash_key=True)
    cluster_id = UnicodeAttribute(range_key=True)
    sector_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    # Counters move only in transactions with the keyword/idea that changes them.
    keyword_count = NumberAttribute(default=0)
    idea_count = NumberAttribute(default=0)
    created_by = UnicodeAttribute(null=True)
    # Mean embedding of the members (rounded), and the model that made it: new keywords
    # are matched to existing clusters by it, only when embedded by the same model.
    centroid = JSONAttribute(null=True)
    centroid_model = UnicodeAttribute(null=True)
    neighbours = ListAttribute(of=UnicodeAttribute, null=True)  # nearest clusters by centroid (linker.graph)

    sector_key = UnicodeAttribute(null=True)
    no_ideas_key = UnicodeAttribute(null=True)  # sparse: set while idea_count == 0
    no_ideas_sector_key = UnicodeAttribute(null=True)

    by_sector = gsi("by_sector", "sector_key", "cluster_id", by=("sector_id",))
    without_ideas = gsi("without_ideas", "no_ideas_key", "cluster_id", by=(), only=WITHOUT_IDEAS)
    without_ideas_by_sector = gsi("without_ideas_by_sector", "no_ideas_sector_key", "cluster_id",
                                  by=("sector_id",), only=WITHOUT_IDEAS)

    STATE_ATTRS = ("sector_id", "idea_count")


class ContentIdea(SiteRecord):
    Meta = table_meta("ideas")
    site_key = UnicodeAttribute(hash_key=True)
    idea_id = UnicodeAttribute(range_key=True)
    sector_id = UnicodeAttribute()
    cluster_id = UnicodeAttribute(null=True)
    title = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    content_type = UnicodeAttribute(default="article")
    primary_keyword = UnicodeAttribute(default="")
    secondary_keywords = ListAttribute(of=UnicodeAttribute, default=list)
    keyword_ids = ListAttribute(of=UnicodeAttribute, default=list)
    outline = JSONAttribute(default=list)  # [{heading, subheadings}] from the ideas stage
    status = UnicodeAttribute(default="pending")
    created_by = UnicodeAttribute(null=True)

    status_key = UnicodeAttribute(null=True)
    sector_key = UnicodeAttribute(null=True)
    sector_status_key = UnicodeAttribute(null=True)
    cluster_key = UnicodeAttribute(null=True)
    cluster_status_key = UnicodeAttribute(null=True)
    # sparse: the sector + normalised primary keyword of a live idea (the cannibalisation guard
    # asks "is this intent taken?" with one keys-only Query, however many ideas the sector has)
    intent_key = UnicodeAttribute(null=True)

    by_status = gsi("by_status", "status_key", "idea_id", by=("status",))
    by_sector = gsi("by_sector", "sector_key", "idea_id", by=("sector_id",))
    by_sector_status = gsi("by_sector_status", "sector_status_key", "idea_id", by=("sector_id", "status"))
    by_cluster = gsi("by_cluster", "cluster_key", "idea_id", by=("cluster_id",))
    by_cluster_status = gsi("by_cluster_status", "cluster_status_key", "idea_id", by=("cluster_id", "status"))
    by_intent = gsi("by_intent", "intent_key", "idea_id", projection=KeysOnlyProjection())

    STATE_ATTRS = ("status", "sector_id", "cluster_id", "primary_keyword")

    def other_keys(self, state: dict[str, Any]) -> dict[str, str | None]:
        live = state["status"] != "archived"
        return {"intent_key": intent_key(self.site_key_value, state["sector_id"], state["primary_keyword"])
                if live else None}


def intent_key(site_key_value: str, sector_id: str, primary_keyword: str | None) -> str | None:
    """The key under which an idea or article claims its search intent (None: no primary keyword)."""
    normal = normalize_keyword(primary_keyword or "")
    return join_key(site_key_value, sector_id, normal) if normal else None


class SeedKeyword(TimestampedModel):
    """The platform's seed keyword library, one partition per industry (staff-managed).

    The range key is derived from the normalised keyword, so a seed exists once per
    industry without any extra uniqueness item.
    """

    Meta = table_meta("seed_keywords")
    site_scope = PLATFORM
    scope = UnicodeAttribute(hash_key=True)  # global#<industry_id>
    seed_id = UnicodeAttribute(range_key=True)
    industry_id = UnicodeAttribute()
    keyword = UnicodeAttribute()
    normalized = UnicodeAttribute()
    search_volume = NumberAttribute(null=True)
    difficulty = NumberAttribute(null=True)
    cpc = NumberAttribute(null=True)


def seed_scope(industry_id: str) -> str:
    return f"global#{industry_id}"
