"""Saving the organisation's details and publishing what they change. Callers own the
transaction."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from app.content.sync import republish_with_details
from app.models import CourseVersion, User
from app.organisation.details import current_values, save_details


def update_details(
    session: Session, actor: User, values: Mapping[str, str]
) -> tuple[list[str], list[CourseVersion]]:
    """Save the details, then publish a minor version of every course whose text used a value
    that changed: the names changed, and the versions published."""
    changed = save_details(session, actor, values)
    if not changed:
        return changed, []
    return changed, republish_with_details(session, current_values(session), actor)
