"""The optimizer module: the content score (``score``), the optimize stage's rewriting and revisions."""
