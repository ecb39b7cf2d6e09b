"""Certificate codes: 100 random bits as 20 characters people can read out and type.

Crockford's base32 alphabet has no I, L, O or U, so nothing looks like anything else; when a
code is typed, O is read as 0 and I or L as 1, case and separators do not matter.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 20  # 20 × 5 bits = 100 bits
GROUP = 4
_TYPED = str.maketrans({"O": "0", "I": "1", "L": "1"})
_CODE = re.compile(rf"^[{ALPHABET}]{{{LENGTH}}}$")


def new_code() -> str:
    """A fresh random code, without separators."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def grouped(code: str) -> str:
    """The code as printed, in groups of four: 7KQ4-M9XD-2HBT-Q8RE-5WZN."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def normalise(typed: str) -> str | None:
    """The code someone typed, in stored form; None if it cannot be a code."""
    if len(typed) > 64:
        return None
    code = re.sub(r"[\s\-.]", "", typed).upper().translate(_TYPED)
    return code if _CODE.match(code) else None
