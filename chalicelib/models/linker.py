"""Linker module: LinkProfile (what the linker knows of each article) and LinkSuggestion (source -> target).

- LinkProfile: one per article, same key as its Content, rewritten on every save (no AI call: the
  vector is the local lexical embedder's). ``by_cluster``: the articles of one keyword cluster, how a
  suggestion finds its candidates (the article's cluster and its nearest clusters).
- LinkSuggestion: ``suggestion_id = source#target`` (suggesting again rewrites the same record; one
  link per target). ``by_target``: the links into an article (re-pointed or removed when it is
  published, unpublished or deleted); ``by_status``: the site's accepted links (the link report).
"""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute, ListAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.models.base import TimestampedModel, table_meta
from chalicelib.models.site_records import SiteRecord, gsi
from chalicelib.models.site_scope import Item

SUGGESTION_STATUSES = ("suggested", "accepted", "dismissed", "removed")


class LinkProfile(SiteRecord):
    Meta = table_meta("link_profiles")
    site_key = UnicodeAttribute(hash_key=True)
    content_id = UnicodeAttribute(range_key=True)
    sector_id = UnicodeAttribute()
    cluster_id = UnicodeAttribute(null=True)
    title = UnicodeAttribute(default="")
    keywords = ListAttribute(of=UnicodeAttribute, default=list)
    terms = ListAttribute(of=UnicodeAttribute, default=list)
    vector = JSONAttribute(default=list)
    status = UnicodeAttribute(default="draft")  # the content's status
    url = UnicodeAttribute(null=True)  # the WordPress permalink once published

    sector_key = UnicodeAttribute(null=True)
    cluster_key = UnicodeAttribute(null=True)

    by_sector = gsi("by_sector", "sector_key", "content_id", by=("sector_id",))
    by_cluster = gsi("by_cluster", "cluster_key", "content_id", by=("cluster_id",))

    STATE_ATTRS = ("sector_id", "cluster_id")


class LinkSuggestion(SiteRecord):
    Meta = table_meta("link_suggestions")
    site_key = UnicodeAttribute(hash_key=True)
    suggestion_id = UnicodeAttribute(range_key=True)  # source_id#target_id
    sector_id = UnicodeAttribute()  # the source's
    source_id = UnicodeAttribute()
    target_id = UnicodeAttribute()
    target_title = UnicodeAttribute(default="")
    anchor = UnicodeAttribute()
    block = NumberAttribute(default=0)  # the prose block of the source the anchor is in
    relevance = NumberAttribute(default=0)
    reason = UnicodeAttribute(default="")
    status = UnicodeAttribute(default="suggested")
    href = UnicodeAttribute(null=True)  # what the inserted link points to now
    accepted_by = UnicodeAttribute(null=True)  # a user id, or "auto"
    accepted_at = UTCDateTimeAttribute(null=True)
    removed_reason = UnicodeAttribute(null=True)
    history = JSONAttribute(default=list)  # hrefs it pointed to before (re-pointed on publish)

    sector_key = UnicodeAttribute(null=True)
    target_key = UnicodeAttribute(null=True)
    status_key = UnicodeAttribute(null=True)

    by_sector = gsi("by_sector", "sector_key", "suggestion_id", by=("sector_id",))
    by_target = gsi("by_target", "target_key", "suggestion_id", by=("target_id",))
    by_status = gsi("by_status", "status_key", "suggestion_id", by=("status",))

    STATE_ATTRS = ("status", "sector_id", "target_id")


class LinkerSettings(TimestampedModel):
    """A site's linking rules: how many links an article gets at most, how many of the best are accepted
    without review (0: every suggestion waits for a person)."""

    Meta = table_meta("linker_settings")
    site_scope = Item()
    account_id = UnicodeAttribute(hash_key=True)
    site_id = UnicodeAttribute(range_key=True)
    max_links = NumberAttribute(default=5)
    auto_accept = NumberAttribute(default=0)
