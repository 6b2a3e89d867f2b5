"""Read the mail the local stack (or a test) sent: the ``.eml`` files in ``MAIL_OUTBOX_DIR``.

    python -m infra.local.mailbox [--dir .local/mail] [--to ADDRESS]   # the newest message, as text

``services.mail.outbox`` writes one file per sent message; this reads them back, newest last,
and finds the links in their text part (``link(message, "/accept-invite")``).
"""

from __future__ import annotations

import argparse
import email
import re
import sys
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from infra.local.processes import ROOT

DEFAULT_DIR = ROOT / ".local" / "mail"
URL = re.compile(r"https?://[^\s<>\"']+")


class Mailbox:
    def __init__(self, directory: Path = DEFAULT_DIR) -> None:
        self.directory = Path(directory)

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        """Every message (to ``to`` only, if given), oldest first."""
        found = []
        for path in sorted(self.directory.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=default)
            if to is None or message["To"] == to:
                found.append(message)
        return found

    def latest(self, to: str | None = None) -> EmailMessage:
        found = self.messages(to)
        if not found:
            raise LookupError(f"no mail{f' to {to}' if to else ''} in {self.directory}")
        return found[-1]


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def link(message: EmailMessage, path: str) -> str:
    """The first link of the message's text whose path is ``path``."""
    for url in URL.findall(text_of(message)):
        if urlparse(url).path == path:
            return url
    raise LookupError(f"no {path} link in {message['Subject']!r}")


def token(message: EmailMessage, path: str) -> str:
    return parse_qs(urlparse(link(message, path)).query)["token"][0]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.mailbox", description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--to", default=None)
    args = parser.parse_args(argv)
    try:
        message = Mailbox(args.dir).latest(args.to)
    except LookupError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"From: {message['From']}\nTo: {message['To']}\nSubject: {message['Subject']}\n\n{text_of(message)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
