"""The demo's people step: invite a teammate and read the invitation from the stack's mailbox.

The mail worker sends the invite through SES (moto) and keeps a copy in ``<state dir>/mail``
(``MAIL_OUTBOX_DIR``); the step waits for it, takes the accept link from its text and checks
the link with the public preview route (which does not spend it: the link printed still works).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlparse

from infra.local import mailbox

if TYPE_CHECKING:
    from infra.demo import Demo

ACCEPT_PAGE = "/accept-invite"


def step_invite_teammate(demo: Demo) -> str:
    email = f"teammate-{uuid.uuid4().hex[:8]}@example.com"
    invite = demo.http.post("/v1/users/invites", {"email": email, "role": "editor", "first_name": "Tomas"},
                            expect=201)
    box = mailbox.Mailbox(demo.stack.state_dir / "mail")
    message = demo.wait_until(f"the invitation to {email} in {box.directory}",
                              lambda: box.messages(to=email)[-1:] or None, timeout=60)[0]
    link = mailbox.link(message, ACCEPT_PAGE)
    preview = demo.http.post("/v1/auth/invites/preview", {"token": parse_qs(urlparse(link).query)["token"][0]})
    demo.counts["invite"] += 1
    return (f"invited {email} as {invite['role']} to {preview['account_name']!r}; the e-mail "
            f"{message['Subject']!r} is in {box.directory}, accept at {link}")
