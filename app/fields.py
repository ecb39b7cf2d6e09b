"""What a valid value is: field lengths, unsafe characters, e-mail addresses and names.

Each rule is written once here and used by every way data comes in (the HR form, the CSV
import, the CLI, the demo, course files) and by the model columns, so a limit or a character
set changes in one place. Checks return a message (lower case, no full stop, so it reads
inside a ``file:line:`` report or after a field label) or ``None``; :func:`sentence` turns a
message into one for a page.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from app.errors import DomainError

# Field lengths, in characters. The model columns are sized from these.
EMAIL_MAX = 254
EMAIL_LOCAL_MAX = 64
NAME_MAX = 200
EMPLOYEE_ID_MAX = 64
DEPARTMENT_MAX = 120
TITLE_MAX = 200  # a course or module title, an organisation's name
SUMMARY_MAX = 500
RELEASE_NOTES_MAX = 2000
NOTE_MAX = 1000  # a free-text note HR adds (e.g. why a certificate was revoked)
SLUG_MAX = 64
QUIZ_ID_MAX = 200  # a question's or option's id in a quiz (real ones are at most 123)

# Characters no name, title or address needs, each of which can garble or disguise text on
# pages, certificates, e-mails and terminals (SECURITY.md, "names"): C0 and C1 controls,
# the Arabic letter mark, zero-width space, left-to-right and right-to-left marks, line and
# paragraph separators, bidirectional embeddings, overrides and isolates, the word joiner and
# the byte-order mark. Zero-width (non-)joiners stay allowed: Persian and Indic names and
# emoji need them. Tab and line feed are allowed only where text may span lines.
_UNSAFE = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff"
)
UNSAFE_IN_LINE = re.compile(f"[\t\n{_UNSAFE}]")
UNSAFE_IN_TEXT = re.compile(f"[{_UNSAFE}]")


def find_unsafe(value: str, *, multiline: bool = False) -> str | None:
    """The first unsafe character in ``value``, or None."""
    found = (UNSAFE_IN_TEXT if multiline else UNSAFE_IN_LINE).search(value)
    return found.group() if found else None


def unsafe_problem(label: str, value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` cannot be stored because of the characters in it, or None."""
    if (found := find_unsafe(value, multiline=multiline)) is None:
        return None
    return (
        f"the {label} contains a control, invisible or text-direction character "
        f"(U+{ord(found):04X})"
    )


def one_line(text: str, limit: int | None = None) -> str:
    """Text fit to print on one line: unsafe characters dropped, white space collapsed,
    and cut with an ellipsis at ``limit`` characters."""
    text = " ".join(UNSAFE_IN_LINE.sub(" ", text or "").split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def shown(value: str, limit: int = 60) -> str:
    """A value quoted for a message: bounded, with unsafe characters spelled out."""
    text = value if len(value) <= limit else value[: limit - 1] + "…"
    text = UNSAFE_IN_LINE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return f"'{text}'"


def terminal_text(text: str) -> str:
    """``text`` safe to print on a terminal: every control, escape (ESC starts the codes that
    move the cursor, erase lines and recolour), invisible and text-direction character is
    spelled out as its code point (ESC as ``\\u001b``); line breaks and tabs stay."""
    return UNSAFE_IN_TEXT.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def sentence(message: str) -> str:
    """A check's message as a sentence for a page: capital first letter, full stop."""
    message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "?", "!")) else message + "."


def text_problem(
    label: str, value: str, limit: int, *, required: bool = True, multiline: bool = False
) -> str | None:
    """Why a free-text value is not acceptable (missing, too long, unsafe), or None."""
    if not value.strip():
        return f"the {label} is missing" if required else None
    if len(value) > limit:
        return f"the {label} is longer than {limit:,} characters"
    return unsafe_problem(label, value, multiline=multiline)


# ---------------------------------------------------------------------------------------------
# Numbers typed or sent by anyone (URLs, query strings, forms, course files)

# Row ids are 32-bit integers on PostgreSQL; a larger number is no id (and would make the
# database raise instead of finding nothing).
MAX_ID = 2**31 - 1
# The highest page number a listing accepts (a page past the end is simply empty).
MAX_PAGE = 1_000_000
# Plain ASCII digits only: str.isdigit() also takes "²" (which int() then refuses) and int()
# takes other scripts' digits, " 1" and "1_0"; none of those is a number Candor writes.
_WHOLE_NUMBER = re.compile(r"[0-9]{1,10}")


def whole_number(value: object, low: int = 1, high: int = MAX_ID) -> int | None:
    """``value`` as an int when it is a string of plain digits from ``low`` to ``high``,
    else None. The one rule every parser of numbers from outside uses (never ``isdigit``)."""
    if not isinstance(value, str) or not _WHOLE_NUMBER.fullmatch(value):
        return None
    number = int(value)
    return number if low <= number <= high else None


def page_number(value: str | None) -> int:
    """A listing's ``page`` from its query string (absent or blank: the first), or a
    DomainError saying what a page number is. The one parser of page numbers."""
    text = (value or "").strip() or "1"
    if (page := whole_number(text, 1, MAX_PAGE)) is None:
        raise DomainError(
            f"The page must be a whole number from 1 to {MAX_PAGE:,}, not {shown(text, 20)}."
        )
    return page


def whole_number_problem(label: str, value: str, low: int = 1, high: int = MAX_ID) -> str | None:
    """Why ``value`` is not a whole number from ``low`` to ``high``, or None."""
    if whole_number(value, low, high) is not None:
        return None
    return f"the {label} must be a whole number from {low:,} to {high:,}, not {shown(value, 40)}"


# ---------------------------------------------------------------------------------------------
# E-mail addresses


def normalise_email(email: str) -> str:
    """An address as Candor stores and compares it: trimmed, lower case."""
    return email.strip().lower()


# A subset of what email-validator accepts, checked first because the validator takes a
# quarter of a millisecond an address: plain ASCII addresses on ordinary domains.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)
_SPECIAL_USE_DOMAINS = ("arpa", "invalid", "local", "localhost", "onion")


@lru_cache(maxsize=8192)
def _email_reason(value: str) -> str | None:
    if len(value.partition("@")[0]) > EMAIL_LOCAL_MAX:
        # RFC 5321's limit, which email-validator no longer enforces by default.
        return f"the part before the @-sign is longer than {EMAIL_LOCAL_MAX} characters"
    if (
        _PLAIN_EMAIL.fullmatch(value)
        and "--" not in value.partition("@")[2]
        and value.rpartition(".")[2] not in _SPECIAL_USE_DOMAINS
    ):
        return None
    try:
        # test_environment lets *.test addresses through; nothing is looked up in DNS.
        validate_email(value, check_deliverability=False, test_environment=True)
    except EmailNotValidError as error:
        return str(error)
    return None


def email_problem(value: str, label: str = "e-mail address") -> str | None:
    """Why a normalised address is not valid, or None."""
    if not value:
        return f"the {label} is missing"
    if len(value) > EMAIL_MAX:
        return f"the {label} is longer than {EMAIL_MAX} characters"
    if (reason := _email_reason(value)) is not None:
        return f"the {label} {shown(value)} is not valid: {reason}"
    return None


# ---------------------------------------------------------------------------------------------
# People's names and the directory's fields


_SPACES = re.compile(" {2,}")


def clean_name(value: str) -> str:
    """A name as stored: outer white space trimmed, runs of spaces made one (tabs and line
    breaks stay, for :func:`name_problem` to refuse)."""
    return _SPACES.sub(" ", value.strip())


def name_problem(value: str) -> str | None:
    """Why a person's (cleaned) name is not acceptable, or None."""
    return text_problem("name", value, NAME_MAX)


def employee_id_problem(value: str) -> str | None:
    """Why an employee id is not acceptable, or None (an empty id is allowed)."""
    return text_problem("employee id", value, EMPLOYEE_ID_MAX, required=False)


def department_problem(value: str) -> str | None:
    """Why a department is not acceptable, or None (an empty department is allowed)."""
    return text_problem("department", value, DEPARTMENT_MAX, required=False)


# ---------------------------------------------------------------------------------------------
# Searching people whatever the accents


# Letters that Unicode does not decompose into a base letter and a mark.
_FOLD_LETTERS = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i", "ŧ": "t", "æ": "ae", "œ": "oe", "þ": "th"}
)


def fold(text: str | None) -> str:
    """``text`` as people search it: no accents, no case ("Ígor Ørsted" -> "igor orsted")."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare.casefold().translate(_FOLD_LETTERS)


SEARCH_MAX = 100  # characters of text typed into any people search


def search_text(text: str | None) -> str:
    """What was typed into a people search (HR's people list, the assignment picker, the
    records filter), trimmed: the one rule for all of them. DomainError (400) when it is
    longer than SEARCH_MAX or holds control characters: refused with the reason, never cut."""
    text = (text or "").strip()
    if len(text) > SEARCH_MAX:
        raise DomainError(
            f"A search is at most {SEARCH_MAX} characters; this one has {len(text):,}."
        )
    if problem := unsafe_problem("search", text):
        raise DomainError(sentence(problem))
    return text


def search_key(name: str | None, email: str | None, employee_id: str | None) -> str:
    """What a search for a person looks in: their name, e-mail and employee id, folded, one a
    line (so a search never matches across two of them)."""
    return "\n".join(fold(part) for part in (name, email, employee_id) if part)
