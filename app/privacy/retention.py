"""Retention: what is deleted, or made anonymous, once it is no longer needed, run by the
workers' ``maintain`` every minute (safe to run from several workers at once). The privacy
registry says the same periods in words; ``tests/unit/test_privacy_registry.py`` keeps the two
in step.

Per kind of record:

- delivered e-mail: deleted ``OUTBOX_KEEP_DAYS`` days after delivery;
- expired password-reset links: deleted;
- a leaver's identity (name, e-mail, employee id and what signs them in): erased
  ``RETENTION_LEAVER_YEARS`` years after their account was deactivated, by the erasure
  HR can make by hand (``privacy.erasure``, audited ``person.erased`` via ``retention``);
- their training records (enrollments, reading, attempts, completions, certificates) and the
  audit trail: kept, under the pseudonym. They are the organisation's evidence of training,
  and each is a link of the ledger's hash chain: deleting one would break the chain every
  auditor checks, while the pseudonym already cuts them from the person (audit events hold
  ids, never names).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.dates import add_months
from app.db import rowcount
from app.errors import DomainError
from app.mail.outbox import forget_old
from app.models import PasswordReset, User

log = logging.getLogger(__name__)
LEAVERS_PER_RUN = 50  # a run erases at most this many leavers: each run is one transaction


def enforce(session: Session, now: datetime, config: Mapping[str, object]) -> dict[str, int]:
    """Delete what has outlived its purpose; how many rows of each kind. Callers commit."""
    keep_mail = timedelta(days=int(str(config["OUTBOX_KEEP_DAYS"])))
    return {
        "delivered e-mails": forget_old(session, now, keep_mail),
        # A used or expired reset link opens nothing; its row only says one was asked for.
        "password-reset links": rowcount(
            session.execute(delete(PasswordReset).where(PasswordReset.expires_at < now))
        ),
        "leavers' identities": erase_leavers(
            session, now, int(str(config["RETENTION_LEAVER_YEARS"]))
        ),
    }


def leaver_cutoff(now: datetime, years: int) -> datetime | None:
    """Accounts deactivated before this moment are erased (None: never)."""
    return add_months(now, -12 * years) if years > 0 else None


def erase_leavers(session: Session, now: datetime, years: int) -> int:
    """Erase the identity of people who left more than ``years`` years ago; how many."""
    from app.privacy.erasure import erase_person

    cutoff = leaver_cutoff(now, years)
    if cutoff is None:
        return 0
    due = session.scalars(
        select(User.id)
        .where(
            User.active.is_(False),
            User.erased_at.is_(None),
            User.deactivated_at.is_not(None),
            User.deactivated_at < cutoff,
        )
        .order_by(User.deactivated_at, User.id)
        .limit(LEAVERS_PER_RUN)
    ).all()
    erased = 0
    for user_id in due:
        try:
            with session.begin_nested():
                erase_person(
                    session,
                    None,
                    user_id,
                    f"Retention: deactivated more than {years} years ago (RETENTION_LEAVER_YEARS).",
                    via="retention",
                    now=now,
                )
            erased += 1
        except DomainError as error:  # the last administrator, say: left for a person
            log.warning("retention: account %d not erased: %s", user_id, error.message)
    return erased
