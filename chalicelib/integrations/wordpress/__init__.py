"""WordPress: the REST client (Application Password auth, every call through the SSRF guard) and
the companion plugin's webhooks.

- ``client``: ``WordPressClient``, made of
  ``transport`` (REST root discovery, requests, 401 diagnosis),
  ``site`` (connection check, companion plugin, categories, tags, authors, post types),
  ``media`` (uploads found again by their key) and ``posts`` (posts found by our content id);
- ``results``: the records the client returns; ``fields``: markers, keys, dates and text as
  stored in WordPress; ``errors``: one exception per cause, and how an answer maps to one;
- ``webhooks``: verifying the companion plugin's signed webhooks.

Import from the module that defines a name (``from chalicelib.integrations.wordpress.client
import WordPressClient``); this package exports nothing itself.
"""
