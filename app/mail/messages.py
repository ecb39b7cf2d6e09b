"""Plain-text messages from the templates in ``templates/email/``, addressed safely.

No Flask here: the settings arrive as a plain ``MailSettings``. Plain text is not
HTML-escaped; names and titles are made one line and bounded before they are written.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.dates import format_datetime as shown_datetime
from app.db import utcnow
from app.fields import TITLE_MAX, one_line
from app.mail.addresses import mail_address, sender_address
from app.mail.smtp import MailSettings

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "email"
SHOWN_NAME_MAX = 100  # a name in a greeting or a header, shorter than fields.NAME_MAX


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "xml"), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["datetime"] = shown_datetime
    return environment


def message_domain(sender: str) -> str:
    """The domain of the configured sender, for Message-IDs (a safe fallback otherwise)."""
    _, address = parseaddr(sender)
    domain = address.rpartition("@")[2]
    return domain if re.fullmatch(r"[A-Za-z0-9.-]{1,253}", domain) else "candor.invalid"


def text_message(
    mail: MailSettings,
    *,
    to_name: str,
    to_email: str,
    subject: str,
    template: str,
    now: datetime | None = None,
    **context: Any,
) -> EmailMessage:
    """An automatic message to one person, its body the ``template`` rendered with
    ``context`` (plus ``name``, ``organisation`` and ``base_url``). ValueError for an address
    that cannot be used."""
    message = EmailMessage()
    message["Subject"] = one_line(subject, TITLE_MAX)
    message["From"] = sender_address(mail.sender)
    message["To"] = mail_address(to_name, to_email)
    message["Date"] = format_datetime(now or utcnow())
    message["Message-ID"] = make_msgid(domain=message_domain(mail.sender))
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    body = (
        _environment()
        .get_template(template)
        .render(
            name=one_line(to_name, SHOWN_NAME_MAX),
            organisation=one_line(mail.organisation, TITLE_MAX),
            base_url=mail.base_url.rstrip("/"),
            **context,
        )
    )
    message.set_content(body)
    return message
