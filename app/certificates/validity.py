"""Whether a certificate is valid, expired or revoked at a moment: one rule, two readers.

``certificate_status`` reads the rule in Python (the verify page and its JSON, the CLI's
verdict, the learner's and HR's pages, through ``service.status_of``); ``certificate_status_sql``
reads the same rule as one SQL ``CASE`` (the completion export, which computes it in the
database for every row instead of in Python). Revoked wins over expired; a certificate is
expired from 00:00 UTC on its expiry date (``dates.is_expired``; the expiry moments Candor
stores, ``dates.expiry_of``, are always that moment, so SQL compares them with ``now`` as they
are). ``tests/services/test_export_times.py`` checks that the two readers agree, on both
databases.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, case, literal

from app.dates import is_expired

VALID: Final = "valid"
EXPIRED: Final = "expired"
REVOKED: Final = "revoked"


def certificate_status(revoked: bool, expires_at: datetime | None, now: datetime) -> str:
    """valid, expired or revoked at ``now``."""
    if revoked:
        return REVOKED
    return EXPIRED if is_expired(expires_at, now) else VALID


def certificate_status_sql(
    revoked: ColumnElement[bool], expires_at: Any, now: datetime
) -> ColumnElement[str]:
    """The same rule as SQL over a revoked condition and an expiry column (a stored expiry
    moment, 00:00 UTC of its date, or NULL for never)."""
    return case(
        (revoked, literal(REVOKED)),
        (expires_at <= now, literal(EXPIRED)),
        else_=literal(VALID),
    )
