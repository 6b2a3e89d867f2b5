"""Publishing: time slots inside the site's limits, and exactly-once publishes to WordPress.

- ``integration``: connecting a site's WordPress, syncing its structure, the client.
- ``settings``: a site's limits, publish days and time slots. ``slots``: the slot arithmetic.
- ``reservations``: a slot and its day, week and month counters taken or given back in one
  transaction; finding the next free slot; a time a person chose.
- ``scheduling``: what a person does with a content's publishing (schedule, unschedule,
  publish now, retry) and re-planning after a settings change. ``auto``: slotting on approval.
- ``worker``: the publish queue and its worker; ``post``: what a publish sends to WordPress.
- ``tick``: the schedule (slot what waits everywhere, queue what is due). ``calendar``: the view.
- ``webhooks``: the companion plugin telling us what happened to a post in WordPress.
"""
