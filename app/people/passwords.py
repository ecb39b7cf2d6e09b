"""What a password may be (ASVS 5.0 6.2.1, 6.2.4, 6.2.11): long enough, not too long, not one
of the passwords attackers try first, and not built from the account's own name or e-mail.

The list of common passwords is the one zxcvbn ships (the 30,000 most frequent passwords of
public breach corpora, MIT licence), read from the installed package: nothing is fetched.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from zxcvbn.frequency_lists import FREQUENCY_LISTS

from app.models.user import PASSWORD_MAX, PASSWORD_MIN

# Letters of the password left once the account's own words are taken out: fewer than this and
# the password is the name or the address with a few digits or signs around it.
_OWN_LETTERS_MIN = 4
_NOT_LETTERS = re.compile(r"[\W\d_]+")
_NOT_WORD = re.compile(r"[\W_]+")
_TRAILING = re.compile(r"[\W\d_]+$")
# Letters written as digits or signs ("p@ssw0rd"), read both ways a 1 is meant.
_LEET = (
    str.maketrans({"@": "a", "4": "a", "3": "e", "1": "i", "!": "i", "0": "o", "$": "s", "5": "s"}),
    str.maketrans({"@": "a", "4": "a", "3": "e", "1": "l", "!": "i", "0": "o", "$": "s", "5": "s"}),
)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The common passwords Candor refuses, lower case."""
    return frozenset(FREQUENCY_LISTS["passwords"])


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _own_words(email: str, name: str) -> list[str]:
    """The words of the account's name and address that a guesser would try, longest first."""
    local, _, domain = _fold(email).partition("@")
    words = {local, *_NOT_LETTERS.split(local), *_NOT_LETTERS.split(domain)}
    words.update(_NOT_LETTERS.split(_fold(name)))
    words.add(_NOT_LETTERS.sub("", _fold(name)))
    return sorted((w for w in words if len(w) >= 3), key=len, reverse=True)


def _spellings(folded: str) -> set[str]:
    """The ways a guesser's list could hold ``folded``: as typed, without spaces and signs,
    without trailing digits and signs ("password1!"), with look-alike digits read as letters."""
    found: set[str] = set()
    for base in (folded, _TRAILING.sub("", folded)):
        for text in (base, *(base.translate(table) for table in _LEET)):
            found.update((text, _NOT_WORD.sub("", text)))
    return found


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why ``password`` cannot be used by the account with ``email`` and ``name``, or None."""
    if len(password) < PASSWORD_MIN:
        return f"A password needs at least {PASSWORD_MIN} characters."
    if len(password) > PASSWORD_MAX:
        return f"A password can have at most {PASSWORD_MAX} characters."
    folded = _fold(password)
    if not common_passwords().isdisjoint(_spellings(folded)):
        return (
            "That password is one of the most common passwords, which attackers try first. "
            "Choose another: a few unrelated words make a strong password."
        )
    letters = _NOT_LETTERS.sub("", folded)
    for word in _own_words(email, name):
        letters = letters.replace(word, "")
    if len(letters) < _OWN_LETTERS_MIN:
        return (
            "That password is made from your own name or e-mail address, which anyone who "
            "knows you could guess. Choose another."
        )
    return None
