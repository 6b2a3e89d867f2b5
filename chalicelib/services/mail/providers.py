"""Who hands an e-mail over: Amazon SES (boto3 ``sesv2``, the default) or Resend (its HTTP API).

A provider answers with its message id, or raises ``Rejected`` (the message will never go: a
bad address, an unverified sender; not retried) or ``Unavailable`` (throttled, an outage, a
timeout: the queue brings the message back).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import requests
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import aws, config
from chalicelib.services import providers as integration_providers
from chalicelib.services.mail.templates import Rendered

RESEND_PROVIDER_ID = "resend"
RESEND_TIMEOUT_SECONDS = 15
# SES's errors that sending again cannot cure.
SES_REJECTIONS = frozenset({"MessageRejected", "MailFromDomainNotVerifiedException", "BadRequestException",
                            "AccountSuspendedException", "SendingPausedException", "NotFoundException"})


class Rejected(Exception):
    """The provider refused the message for good."""


class Unavailable(Exception):
    """The provider could not take the message now; sending it later may work."""


@dataclass(frozen=True)
class Outgoing:
    sender: str
    to: str
    mail: Rendered
    key: str  # the event key: a provider that deduplicates (Resend) gets it too


class Provider(Protocol):
    name: str

    def send(self, message: Outgoing) -> str: ...


class SesProvider:
    name = "ses"

    def send(self, message: Outgoing) -> str:
        utf8 = "UTF-8"
        try:
            answer = aws.client("sesv2").send_email(
                FromEmailAddress=message.sender,
                Destination={"ToAddresses": [message.to]},
                Content={"Simple": {
                    "Subject": {"Data": message.mail.subject, "Charset": utf8},
                    "Body": {"Text": {"Data": message.mail.text, "Charset": utf8},
                             "Html": {"Data": message.mail.html, "Charset": utf8}}}},
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            reason = f"SES {code}: {exc.response.get('Error', {}).get('Message', '')}"
            raise (Rejected if code in SES_REJECTIONS else Unavailable)(reason) from None
        except BotoCoreError as exc:
            raise Unavailable(f"SES could not be reached: {exc}") from None
        return str(answer["MessageId"])


class ResendProvider:
    """https://resend.com/docs/api-reference/emails/send-email"""

    name = "resend"

    def __init__(self, api_key: str, endpoint: str = "https://api.resend.com") -> None:
        self.api_key = api_key
        self.endpoint = endpoint.rstrip("/")

    def send(self, message: Outgoing) -> str:
        try:
            answer = requests.post(
                f"{self.endpoint}/emails",
                json={"from": message.sender, "to": [message.to], "subject": message.mail.subject,
                      "text": message.mail.text, "html": message.mail.html},
                # Resend keeps the key 24 hours: a send repeated after a crash is not sent twice.
                headers={"Authorization": f"Bearer {self.api_key}", "Idempotency-Key": message.key[:256]},
                timeout=RESEND_TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            raise Unavailable(f"Resend could not be reached: {type(exc).__name__}") from None
        if answer.status_code == 429 or answer.status_code >= 500:
            raise Unavailable(f"Resend answered {answer.status_code}")
        if answer.status_code >= 400:
            raise Rejected(f"Resend answered {answer.status_code}: {_resend_reason(answer)}")
        try:
            return str(answer.json()["id"])
        except (ValueError, KeyError, TypeError):
            raise Unavailable("Resend's answer had no message id") from None


def _resend_reason(answer: requests.Response) -> str:
    try:
        body = answer.json()
        return str(body.get("message") or body.get("name") or "")[:300]
    except (ValueError, AttributeError):
        return answer.text[:300]


def configured() -> Provider:
    """The provider ``MAIL_PROVIDER`` names (the Resend key: the ``resend`` integration provider's)."""
    name = config.mail_provider()
    if name == "ses":
        return SesProvider()
    if name == "resend":
        record = integration_providers.get_provider(RESEND_PROVIDER_ID)
        key = integration_providers.get_api_key(RESEND_PROVIDER_ID)
        if record is None or not key:
            raise Unavailable("MAIL_PROVIDER is resend but the resend provider is inactive or has no API key "
                              "(staff: /v1/admin/providers/resend)")
        return ResendProvider(key, record.api_endpoint or "https://api.resend.com")
    raise config.ConfigError(f"MAIL_PROVIDER={name!r}: use ses or resend")
