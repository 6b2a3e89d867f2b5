"""Send a published article to WordPress again after its body changed here (a link re-pointed, added or
removed): through the ordinary publish path, once per change.

published -> publishing (no lease) is conditional on the state as read, so one change queues one
update; the publish worker claims it, updates the post it already has (``post.publish_to_wordpress``
finds it by id) and sets it published again, and a second delivery of the message finds it
published ("duplicate"). A lost message is found again by the publishing tick (the due index holds
publishing items).
"""

from __future__ import annotations

from collections.abc import Iterable

from chalicelib import messages, registry
from chalicelib.messages import PublishItem
from chalicelib.models.conditions import conditional
from chalicelib.models.writer import Content
from chalicelib.services.state_machines import transition_ops
from chalicelib.timeutil import utcnow


def republish(contents: Iterable[Content]) -> list[str]:
    """Queue a WordPress update of each published article; the ids queued."""
    queued = []
    for content in contents:
        content.refresh()
        if content.site_status != "published" or not content.external_id:
            continue
        when = content.scheduled_publish_at or utcnow()
        actions, condition = transition_ops(content, {"site_status": "publishing", "scheduled_publish_at": when},
                                            check=False, extra_actions=[Content.publish_lease_until.remove()])
        with conditional() as write:
            content.update(actions=actions, condition=condition)
        if write.held:
            queued.append(content)
    if queued:
        messages.send(registry.queue("publish_content"), [
            PublishItem(account_id=c.account_id, site_id=c.site_id, content_id=c.content_id) for c in queued])
    return [c.content_id for c in queued]
