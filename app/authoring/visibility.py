"""Who sees a course: hidden (assigned learners only), listed (every learner), retired (no new
starts; records and certificates stay). The learner side of the rule is
``progress.reading``; this is where a trainer changes it, always audited."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.audit.events import record
from app.errors import DomainError
from app.models import Course, User, Visibility

MEANING = {
    Visibility.HIDDEN: "only learners it is assigned to see it",
    Visibility.LISTED: "every learner sees it under “Also available”",
    Visibility.RETIRED: "no new starts; records and certificates are kept",
}


def set_visibility(session: Session, actor: User, course: Course, value: str) -> bool:
    """Set ``course``'s visibility to ``value``; False when it already was. Audited."""
    try:
        visibility = Visibility(value)
    except ValueError:
        raise DomainError("Choose hidden, listed or retired.", status=400) from None
    if course.visibility is visibility:
        return False
    before = course.visibility
    course.visibility = visibility
    record(
        session,
        "course.visibility_changed",
        actor=actor,
        subject=course,
        before=before.value,
        after=visibility.value,
    )
    session.flush()
    return True
