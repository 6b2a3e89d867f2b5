"""A real WordPress for the e2e tests (see server.py and docs/wordpress.md)."""
