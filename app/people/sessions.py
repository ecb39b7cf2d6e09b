"""Ending an account's sessions: one rule for signing out everywhere, changing or setting a
password, deactivating, and bulk deactivation by an import.

A session stays valid only while it carries the account's current session generation
(app.security checks it on every request), so a new generation ends every session at once.
"""

from __future__ import annotations

from app.models import User
from app.models.user import new_session_generation


def end_all_sessions(user: User) -> None:
    """Make every existing session of ``user`` invalid (the caller commits)."""
    user.session_generation = new_session_generation()


def ended_sessions() -> dict[str, str]:
    """The column values that end every session of one account, for a bulk UPDATE."""
    return {"session_generation": new_session_generation()}
