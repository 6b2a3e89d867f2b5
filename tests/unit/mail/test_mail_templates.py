"""E-mail templates: every template renders in text and HTML; data is escaped in HTML; gaps fail early."""

from __future__ import annotations

import pytest

from chalicelib.services.mail import templates
from chalicelib.services.mail.templates import TemplateError, render

INVITE = {"inviter": "Ada Lovelace", "account_name": "Acme", "role": "editor",
          "link": "http://localhost:3000/invite?token=abc", "expires": "2026-12-10 12:00 UTC"}


def test_an_invite_renders_its_subject_text_and_html_with_the_link() -> None:
    mail = render("invite", INVITE)
    assert mail.subject == "Ada Lovelace invited you to Acme on Content Engine"
    assert "http://localhost:3000/invite?token=abc" in mail.text
    assert 'href="http://localhost:3000/invite?token=abc"' in mail.html
    assert mail.html.startswith("<!doctype html>") and "<title>Ada Lovelace invited you" in mail.html
    assert "$" not in mail.text and "$" not in mail.html


def test_values_are_escaped_in_html_but_kept_as_written_in_text() -> None:
    mail = render("invite", {**INVITE, "account_name": "<script>alert(1)</script> & Co"})
    assert "<script>" not in mail.html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in mail.html
    assert "<script>alert(1)</script> & Co" in mail.text


def test_a_line_break_in_a_value_cannot_add_a_header_line_to_the_subject() -> None:
    mail = render("invite", {**INVITE, "inviter": "Eve\r\nBcc: victim@example.com"})
    assert "\n" not in mail.subject and "\r" not in mail.subject


def test_a_missing_value_names_itself() -> None:
    with pytest.raises(TemplateError, match="'link'"):
        render("invite", {k: v for k, v in INVITE.items() if k != "link"})


@pytest.mark.parametrize("name", ["no_such_template", "../invite", "_layout"])
def test_an_unknown_template_is_refused(name: str) -> None:
    with pytest.raises(TemplateError):
        render(name, INVITE)


def test_every_template_has_a_subject_a_text_and_an_html_body() -> None:
    assert {"invite", "verify_email", "password_reset", "password_changed"} <= set(templates.names())
    for name in templates.names():
        assert (templates.TEMPLATE_DIR / f"{name}.html").exists(), name
        source = templates._source(name)
        assert source.subject.template and source.text.template and "<html" in source.html.template
