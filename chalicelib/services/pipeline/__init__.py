"""The generation pipeline: jobs that run a stage on chosen records, one job item per record.

- ``jobs``: start a job (its items, the claims on their records, one message per item), read,
  retry, pause, resume, cancel it.
- ``items``: one delivery of one item: claim it, run its stage, finish and count it once.
- ``stage``: what a stage is (``StageDef``) and what it works with (``ItemContext``, outcomes).
- ``stages``: the stages, one module each, named as their queue in ``chalicelib.registry``.
- ``claims``: one job at a time works on a record. ``job_events``: tell the automation run.
"""
