"""An enrollment's cycles: what starting a new one clears, and the slices set-based
statements over many enrollments work in. A cycle's completion and expiry live on the
enrollment itself (``completed_at``, ``expires_at``, set together as it completes): every
reader (assigning, renewal, the matrix, reminders) reads them there.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final

# What starting a new cycle clears on an enrollment (with ``cycle`` + 1 and a new due date):
# the version is chosen again, nothing is read or completed yet, and HR's grants and a
# revocation belonged to the cycle before. Every cycle change (renewal, retraining, an expired
# completion reassigned, a revocation) sets these values, so none forgets one.
NEW_CYCLE: Final = {
    "version_id": None,
    "started_at": None,
    "completed_at": None,
    "expires_at": None,
    "revoked_at": None,
    "extra_attempts": 0,
    "reminded_at": None,
    "reminded_deadline": None,
    "reminded_days_before": None,
}

# Ids per IN (...) list: far below SQLite's and PostgreSQL's limits on bound parameters.
CHUNK = 1000


def chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    """``ids`` in slices of at most ``CHUNK``, one IN (...) list each."""
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]
