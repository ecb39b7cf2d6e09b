"""The course.toml form: the common keys edited as fields, everything else kept as written.

tomlkit edits the document in place, so comments, order and keys the form does not show
survive a save; the raw TOML stays editable beside it. Values are checked by the loader on
save, like any other edit, so the form cannot store what ``courses check`` would refuse
without the trainer seeing it.
"""

from __future__ import annotations

from collections.abc import Mapping

import tomlkit
from tomlkit.exceptions import TOMLKitError

from app.errors import DomainError
from app.fields import whole_number

COMMON_KEYS = (
    ("title", "Title", str),
    ("summary", "Summary", str),
    ("estimated_minutes", "Estimated minutes", int),
    ("pass_mark", "Pass mark (%)", int),
    ("max_attempts", "Attempts allowed (0: unlimited)", int),
    ("recertify_months", "Months a certificate stays valid (0: never expires)", int),
)


def read_settings(text: str) -> dict[str, str] | None:
    """The common keys as form values, or None when the TOML cannot be read."""
    try:
        document = tomlkit.parse(text)
    except TOMLKitError:
        return None
    return {key: str(document[key]) if key in document else "" for key, _, _ in COMMON_KEYS}


def write_settings(text: str, form: Mapping[str, str]) -> str:
    """``text`` with the common keys set from ``form`` (an empty optional field removes it)."""
    try:
        document = tomlkit.parse(text)
    except TOMLKitError:
        raise DomainError(
            "course.toml is not valid TOML: fix it in the text editor first.", status=409
        ) from None
    for key, label, kind in COMMON_KEYS:
        value = form.get(key, "").strip()
        if not value:
            if key in document and kind is int:
                del document[key]
            continue
        if kind is int:
            number = whole_number(value, 0, 999_999)
            if number is None:
                raise DomainError(f"{label} must be a whole number.", status=400)
            document[key] = number
        else:
            document[key] = value
    return tomlkit.dumps(document)
