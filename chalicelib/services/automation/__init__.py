"""Automation runs: the whole pipeline for a site, stage after stage, on a schedule or by hand.

A run walks ``runs.RUN_STAGES`` in order. A job stage starts a Job of the generation pipeline
(fan-out: one SQS message per item) with the run's id on it; when the job's last item
finishes, the job completes exactly once (its counters are atomic, its completion
conditional) and tells the run through the ``automation_events`` queue (fan-in). The run
then advances exactly once: every change to a run is a save conditional on its
``version``, and an event that does not match the run's current stage and job changes
nothing. An inline stage (review, publish) is done by the event handler itself, with
operations that are no-ops when repeated.

Only one run per site is active (running or paused): starting one sets the config's
``active_run_id`` where it does not exist, in the same transaction as the run's put.

- ``config``: a site's automation settings and when it runs next (``schedule``: the arithmetic).
- ``runs``: reading a run, and the writes every change to one goes through.
- ``advance``: starting a stage, closing it, moving on. ``events``: the queue's messages.
- ``control``: start, pause, resume, cancel. ``tick``: due runs, overdue runs, stalled runs.
"""
