"""What a person's training transcript states: their courses with status, their
certificates, their graded attempts. Read-only; the PDF itself is app/certificates/pdf.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.certificates.service import list_certificates, status_of
from app.dates import format_date
from app.db import utcnow
from app.models import User
from app.quizzes.attempts import list_submitted_attempts
from app.training.filters import EVERYONE
from app.training.matrix import status_rows


def transcript_context(
    session: Session, person: User, *, organisation: str, base_url: str, now: datetime | None = None
) -> dict[str, Any]:
    """The values ``render_transcript`` lays out for ``person``, as of ``now``."""
    now = now or utcnow()
    return {
        "person": person,
        "courses": status_rows(session, EVERYONE, user_id=person.id, now=now).rows,
        "certificates": list_certificates(session, person.id),
        "status_of": lambda certificate: status_of(certificate, now),
        "attempts": list_submitted_attempts(session, person.id),
        "organisation": organisation,
        "base_url": base_url,
        "generated": format_date(now),
    }
