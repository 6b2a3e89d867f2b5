"""A readable copy of each sent e-mail, one ``.eml`` file per message (local stack and tests).

Written only where ``MAIL_OUTBOX_DIR`` points (``.local/mail`` in the local stack), after the
provider took the message: a developer opens the file in a mail client or reads it as text
(the text part is kept 8-bit, so its links are greppable).
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from chalicelib import config
from chalicelib.services.mail.providers import Outgoing
from chalicelib.timeutil import utcnow


def write(message: Outgoing, *, provider: str, provider_message_id: str) -> Path | None:
    directory = config.mail_outbox_dir()
    if directory is None:
        return None
    mail = EmailMessage(policy=SMTP)
    mail["From"] = message.sender
    mail["To"] = message.to
    mail["Subject"] = message.mail.subject
    mail["X-Mail-Key"] = message.key
    mail["X-Mail-Provider"] = f"{provider} {provider_message_id}"
    mail.set_content(message.mail.text, cte="8bit")
    mail.add_alternative(message.mail.html, subtype="html", cte="8bit")
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    stem = f"{utcnow():%Y%m%dT%H%M%S%f}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', message.key)[:120]}"
    target = path / f"{stem}.eml"
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(bytes(mail))
    tmp.replace(target)  # a reader never sees half a message
    return target
