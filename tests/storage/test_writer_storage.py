"""Writer storage on moto and DynamoDB Local: every index (summary projections, the sparse
ready-to-schedule and due indexes) and conditional schedule changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.errors import Conflict
from chalicelib.models.writer import DUE_SHARDS, Content
from chalicelib.services import identity, records, sites, writer
from infra.bench import moto_patch

moto_patch.apply()


@pytest.fixture
def site(ddb):
    account, _, _ = identity.register(account_name="A", email=f"w-{ddb}@example.com", password="x" * 12)
    site = sites.create_site(account.account_id, name="coffee")
    sectors = [sites.create_sector(account.account_id, site.site_id, name=n).sector_id for n in ("e", "p")]
    return account.account_id, site.site_id, sectors


def test_every_task_content_and_image_list_is_a_query(site):
    account_id, site_id, (s0, s1) = site
    task = writer.create_task(account_id, site_id, {"sector_id": s0, "title": "t"})
    writer.create_task(account_id, site_id, {"sector_id": s1, "title": "u", "status": "in_progress"})
    content = writer.create_content(account_id, site_id, {"task_id": task.task_id, "title": "c",
                                                          "body_html": "<p>" + "word " * 2000 + "</p>"})
    writer.create_content(account_id, site_id, {"sector_id": s1, "title": "d"})
    writer.create_image(account_id, site_id, {"content_id": content.content_id, "prompt": "p"})
    writer.create_image(account_id, site_id, {"content_id": content.content_id, "url": "https://x.example/1.png"})

    def page(kind, **filters):
        return records.list_page(kind, account_id, site_id, filters, limit=100, cursor=None).items

    assert len(page(writer.TASKS)) == 2 and len(page(writer.TASKS, status="in_progress")) == 1
    assert len(page(writer.TASKS, sector_id=s0)) == 1 and len(page(writer.TASKS, sector_id=s0, status="pending")) == 1
    listed = page(writer.CONTENT)
    assert len(listed) == 2
    assert all("body_html" not in c.attribute_values for c in listed)  # bodies live in ContentBody
    assert {c.word_count for c in listed} == {2000, 0}
    assert len(page(writer.CONTENT, status="draft")) == 2
    assert len(page(writer.CONTENT, sector_id=s1)) == 1 and len(page(writer.CONTENT, sector_id=s1, status="draft")) == 1
    assert len(page(writer.CONTENT, site_status="not_published")) == 2
    assert [c.content_id for c in page(writer.CONTENT, task_id=task.task_id)] == [content.content_id]
    assert [i.position for i in page(writer.IMAGES, content_id=content.content_id)] == [0, 1]
    assert len(page(writer.IMAGES, status="generated")) == 1 and len(page(writer.IMAGES, sector_id=s0)) == 2
    full = writer.get_content(account_id, site_id, content.content_id, with_body=True)
    assert full.word_count == 2000 and full.body_html.startswith("<p>word word")


def test_schedule_moves_between_the_sparse_indexes(site):
    account_id, site_id, (s0, _) = site
    c = writer.create_content(account_id, site_id, {"sector_id": s0, "title": "c"})
    writer.set_content_status(c, "approved")
    ready = writer.list_content(account_id, site_id, {"status": "approved", "site_status": "not_published"},
                                limit=10, cursor=None)
    assert [x.content_id for x in ready.items] == [c.content_id]
    when = datetime.now(UTC) + timedelta(minutes=5)
    writer.set_site_status(c, "scheduled", when)
    ready = writer.list_content(account_id, site_id, {"status": "approved", "site_status": "not_published"},
                                limit=10, cursor=None)
    assert ready.items == []
    due = [i for s in range(DUE_SHARDS)
           for i in Content.due.query(f"due#{s}", Content.scheduled_publish_at <= when + timedelta(seconds=1))]
    assert [i.content_id for i in due] == [c.content_id]
    stale = writer.get_content(account_id, site_id, c.content_id)
    writer.set_site_status(c, "not_published")
    with pytest.raises(Conflict):
        writer.set_site_status(stale, "publishing")  # read as scheduled; it is not any more
    assert [i for s in range(DUE_SHARDS) for i in Content.due.query(f"due#{s}")] == []
