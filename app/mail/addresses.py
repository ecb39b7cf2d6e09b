"""Addresses in the mail headers Candor writes (To, Cc, From), whoever sends the message.

A display name is data from outside (a person's name, the configured sender). Python's header
folding can drop the quotes around a long quoted display name, so ``Zed <a@evil.example>,
Padding …`` became a second recipient in mail clients. So a display name is stripped of the
characters that have a meaning in an address list (``"(),.:;<>@[\\]``), of controls and
bidirectional characters, and bounded: whatever folding does, it can only ever read as words.
"""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.utils import parseaddr

from app.fields import UNSAFE_IN_LINE, one_line

DISPLAY_NAME_MAX = 100
# RFC 5322's specials: each can end a phrase, start an address or separate two of them.
_SPECIALS = re.compile(r'["(),.:;<>@\[\\\]]')
_ADDRESS_SPECIALS = re.compile(r'["(),:;<>\[\\\]]')  # "." and one "@" belong in an address


def display_name(name: str) -> str:
    """``name`` as it may stand before an address in a header: words only, one line."""
    return one_line(_SPECIALS.sub(" ", one_line(name)), DISPLAY_NAME_MAX)


def mail_address(name: str, email: str) -> Address:
    """The header address for ``email`` shown as ``name``; ValueError for an unusable address."""
    if not email or UNSAFE_IN_LINE.search(email) or any(c.isspace() for c in email):
        raise ValueError("the e-mail address contains spaces or control characters")
    if email.count("@") != 1 or _ADDRESS_SPECIALS.search(email):
        raise ValueError("the e-mail address contains characters an address list reserves")
    return Address(display_name=display_name(name), addr_spec=email)


def sender_address(configured: str) -> Address:
    """The configured sender (``Candor <candor@example.com>``) as a header address."""
    name, email = parseaddr(configured)
    return mail_address(name, email)
