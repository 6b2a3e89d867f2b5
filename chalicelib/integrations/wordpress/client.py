"""``WordPressClient``: every call the product makes to a WordPress site, on one object.

Usage::

    client = WordPressClient("https://blog.example.com", "editor", "abcd efgh ijkl mnop qrst uvwx")
    info = client.check_connection()           # SiteInfo, or a WPError subclass saying what is wrong
    post = client.find_post_by_content_id(cid)  # before creating: a retried publish finds its post
    if post is None:
        post = client.create_post(content_id=cid, title=..., content=html, status="future", date_gmt=when)
"""

from __future__ import annotations

from chalicelib.integrations.wordpress.media import MediaCalls
from chalicelib.integrations.wordpress.posts import PostCalls
from chalicelib.integrations.wordpress.site import SiteCalls


class WordPressClient(SiteCalls, MediaCalls, PostCalls):
    """A WordPress site, reached with one user's Application Password.

    ``site_url`` is the site's address (``https://example.com`` or ``https://example.com/blog``).
    One client per site and task; it caches the REST root, exposed meta keys and term ids.
    """
