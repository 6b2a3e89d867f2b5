"""E-mail: templates in text and HTML, sent through the ``mail`` queue at most once per event.

``enqueue(account_id, to, template, data, key)`` is all a caller needs; the provider (Amazon SES
or Resend) is the deployment's choice (``MAIL_PROVIDER``). docs/accounts-and-mail.md.
"""

from chalicelib.services.mail.sending import deliver, enqueue, fail_dead_letter, get_delivery
from chalicelib.services.mail.templates import TemplateError, render

__all__ = ["TemplateError", "deliver", "enqueue", "fail_dead_letter", "get_delivery", "render"]
