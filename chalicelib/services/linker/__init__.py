"""The linker module: internal link suggestions (``rank``, ``anchors``), the link index, accepting and the report."""
