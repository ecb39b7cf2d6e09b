"""Two-step sign-in with an authenticator app (TOTP, RFC 6238, by pyotp) and recovery codes.

- The secret is sealed (Fernet, with a key derived from the app's secret key by HKDF) before
  it is stored: a copy of the database alone does not give anyone the codes. Changing the
  secret key therefore means everyone enrols again.
- A code is accepted for the time step before, at or after now (one step of clock skew each
  way), and only for a step later than the last one accepted: the step is stored by a
  conditional UPDATE, so a code is never accepted twice, not even by two requests at once.
- Ten recovery codes are made on enrolment, shown once, and stored as SHA-256 (each has 80
  random bits, so a hash is enough); each works once.
- An administrator can require the second step for staff (``models.STAFF_ROLES``); another
  administrator resets a lost one. Everything is audited.

No Flask here; callers own the transaction.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from app.audit.events import record
from app.db import rowcount, utcnow
from app.errors import DomainError, NotFound
from app.models import STAFF_ROLES, RecoveryCode, Role, Setting, TotpFactor, User, UserRole
from app.people.sessions import end_all_sessions

STEP_SECONDS = 30
SKEW_STEPS = 1
RECOVERY_CODES = 10
REQUIRE_SETTING = "require_two_factor"
_CODE = re.compile(r"[0-9]{6}")
_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off paper
_RECOVERY = re.compile(rf"[{_RECOVERY_ALPHABET}]{{16}}")


class CodeRefused(DomainError):
    """A wrong, old or reused code (one answer for all)."""

    status = 400

    def __init__(self) -> None:
        super().__init__(
            "That code is not right, or it has been used already. Type the code your "
            "authenticator app shows now, or one of your recovery codes."
        )


@dataclass(frozen=True)
class Sealer:
    """Seals and opens TOTP secrets with a key derived from the app's secret key."""

    secret_key: str

    def _fernet(self) -> Fernet:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"candor totp secrets"
        ).derive(self.secret_key.encode("utf-8"))
        return Fernet(base64.urlsafe_b64encode(key))

    def seal(self, secret: str) -> str:
        return self._fernet().encrypt(secret.encode("ascii")).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet().decrypt(sealed.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise DomainError(
                "This account's authenticator app cannot be read (the secret key changed). "
                "Ask an administrator to reset it.",
                status=409,
            ) from None


# --- the rule: who must, who has ---------------------------------------------------------------


def required_for_staff(session: Session) -> bool:
    """True when an administrator requires the second step for HR and administrators."""
    setting = session.get(Setting, REQUIRE_SETTING)
    return bool(setting is not None and setting.value.get("staff"))


def require_for_staff(session: Session, actor: User, required: bool) -> None:
    """Turn the staff requirement on or off (audited)."""
    setting = session.get(Setting, REQUIRE_SETTING)
    if setting is None:
        setting = Setting(name=REQUIRE_SETTING, value={})
        session.add(setting)
    if bool(setting.value.get("staff")) != required:
        setting.value = {"staff": required}
        setting.updated_at = utcnow()
        setting.updated_by_id = actor.id
        session.flush()
        record(session, "settings.two_factor_required", actor=actor, staff=required)


def confirmed_factor(session: Session, user: User) -> TotpFactor | None:
    """The account's authenticator app, once enrolment is confirmed."""
    factor = session.scalar(select(TotpFactor).where(TotpFactor.user_id == user.id))
    return factor if factor is not None and factor.confirmed_at is not None else None


def must_enrol(session: Session, user: User) -> bool:
    """True when ``user`` holds a staff role, the organisation requires the second step for
    staff, and the account has no authenticator app yet."""
    return (
        bool(user.roles & STAFF_ROLES)
        and required_for_staff(session)
        and confirmed_factor(session, user) is None
    )


# --- enrolment ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the key to type, and the URI its QR code carries."""

    secret: str
    uri: str


def start_enrolment(session: Session, user: User, sealer: Sealer) -> None:
    """Make a new secret for ``user`` to add to an app (replacing one not yet confirmed)."""
    if confirmed_factor(session, user) is not None:
        raise DomainError("Two-step sign-in is already on for your account.", status=409)
    session.execute(delete(TotpFactor).where(TotpFactor.user_id == user.id))
    session.add(TotpFactor(user_id=user.id, sealed_secret=sealer.seal(pyotp.random_base32())))
    session.flush()


def pending_enrolment(
    session: Session, user: User, sealer: Sealer, issuer: str
) -> Enrolment | None:
    """The secret being enrolled, with its otpauth URI, or None."""
    factor = session.scalar(select(TotpFactor).where(TotpFactor.user_id == user.id))
    if factor is None or factor.confirmed_at is not None:
        return None
    secret = sealer.open(factor.sealed_secret)
    uri = pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(
        name=user.email, issuer_name=issuer
    )
    return Enrolment(secret, uri)


def confirm_enrolment(
    session: Session, user: User, code: str, sealer: Sealer, *, now: datetime | None = None
) -> list[str]:
    """Turn the second step on with a first code from the app; returns the recovery codes
    (shown once). Every other session of the account ends."""
    now = now or utcnow()
    factor = session.scalar(select(TotpFactor).where(TotpFactor.user_id == user.id))
    if factor is None or factor.confirmed_at is not None:
        raise DomainError("Start again: set up two-step sign-in from your account page.")
    _use_step(session, factor, code, sealer, now)
    factor.confirmed_at = now
    codes = _new_recovery_codes(session, user, now)
    end_all_sessions(user)
    session.flush()
    record(session, "user.two_factor_enrolled", actor=user, subject=user)
    return codes


def _new_recovery_codes(session: Session, user: User, now: datetime) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))
        for _ in range(RECOVERY_CODES)
    ]
    session.add_all(
        RecoveryCode(user_id=user.id, code_hash=_hash(code), created_at=now) for code in codes
    )
    return [shown_recovery_code(code) for code in codes]


def shown_recovery_code(code: str) -> str:
    """A recovery code as printed: four groups of four."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def renew_recovery_codes(
    session: Session, user: User, code: str, sealer: Sealer, *, now: datetime | None = None
) -> list[str]:
    """New recovery codes (the old ones stop working), after a code from the app."""
    now = now or utcnow()
    factor = confirmed_factor(session, user)
    if factor is None:
        raise DomainError("Two-step sign-in is not on for your account.", status=409)
    _use_step(session, factor, code, sealer, now)
    codes = _new_recovery_codes(session, user, now)
    session.flush()
    record(session, "user.recovery_codes_renewed", actor=user, subject=user)
    return codes


# --- signing in --------------------------------------------------------------------------------


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def _normalised(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").upper()[:64]


def matching_step(secret: str, code: str, now: datetime, after: int | None) -> int | None:
    """The time step (within one step of ``now``) whose code is ``code`` and that comes after
    ``after`` (the last one used), or None."""
    if not _CODE.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current - SKEW_STEPS, current + SKEW_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step if after is None or step > after else None
    return None


def _use_step(
    session: Session, factor: TotpFactor, code: str, sealer: Sealer, now: datetime
) -> None:
    step = matching_step(
        sealer.open(factor.sealed_secret), _normalised(code), now, factor.last_step
    )
    if step is None:
        raise CodeRefused()
    # Of two requests with the same code at once, only one moves the step forward.
    claimed = session.execute(
        update(TotpFactor)
        .where(
            TotpFactor.id == factor.id,
            or_(TotpFactor.last_step.is_(None), TotpFactor.last_step < step),
        )
        .values(last_step=step)
        .execution_options(synchronize_session=False)
    )
    if rowcount(claimed) != 1:
        raise CodeRefused()
    session.refresh(factor)


def verify_second_step(
    session: Session, user: User, code: str, sealer: Sealer, *, now: datetime | None = None
) -> None:
    """Accept a code from the app or an unused recovery code for ``user`` at sign-in (audited
    either way), or raise CodeRefused."""
    now = now or utcnow()
    factor = confirmed_factor(session, user)
    if factor is None:
        raise CodeRefused()
    normalised = _normalised(code)
    if _RECOVERY.fullmatch(normalised):
        used = session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == _hash(normalised),
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        if rowcount(used) != 1:
            record(session, "user.two_factor_failed", subject=user, kind="recovery code")
            raise CodeRefused()
        record(
            session, "user.recovery_code_used", actor=user, subject=user, left=_left(session, user)
        )
        return
    try:
        _use_step(session, factor, normalised, sealer, now)
    except CodeRefused:
        record(session, "user.two_factor_failed", subject=user, kind="app")
        raise
    record(session, "user.two_factor_passed", actor=user, subject=user)


def _left(session: Session, user: User) -> int:
    return len(
        session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def recovery_codes_left(session: Session, user: User) -> int:
    """How many unused recovery codes ``user`` has."""
    return _left(session, user)


# --- turning it off ----------------------------------------------------------------------------


def remove_own(session: Session, user: User, password: str) -> None:
    """Turn the second step off for one's own account, with the password; refused when the
    organisation requires it for the account's role."""
    if not user.check_password(password):
        raise DomainError("The password is not right.")
    if user.roles & STAFF_ROLES and required_for_staff(session):
        raise DomainError(
            "Your organisation requires two-step sign-in for HR and administrators, so it "
            "stays on. To move it to a new phone, ask an administrator to reset it.",
            status=409,
        )
    _remove(session, user)
    record(session, "user.two_factor_removed", actor=user, subject=user)


def reset_for(session: Session, actor: User, user_id: int) -> User:
    """An administrator resets another account's second step (a lost phone): the app and the
    recovery codes are removed, every session ends; the person enrols again."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("There is no such person.")
    if Role.ADMIN not in actor.roles:
        raise DomainError("Only an administrator can reset two-step sign-in.", status=403)
    if user.id == actor.id:
        raise DomainError(
            "You cannot reset your own two-step sign-in: use a recovery code, or ask another "
            "administrator.",
            status=409,
        )
    _remove(session, user)
    end_all_sessions(user)
    record(session, "user.two_factor_reset", actor=actor, subject=user)
    return user


def _remove(session: Session, user: User) -> None:
    session.execute(delete(TotpFactor).where(TotpFactor.user_id == user.id))
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.flush()


STAFF_LISTED = 500


def staff_with_factors(session: Session) -> list[tuple[User, bool]]:
    """Active HR and administrator accounts (at most STAFF_LISTED), each with whether it has
    a confirmed authenticator app: who the requirement concerns, and who has not enrolled."""

    staff = session.scalars(
        select(User)
        .where(
            User.active.is_(True),
            User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(STAFF_ROLES))),
        )
        .order_by(User.name, User.id)
        .limit(STAFF_LISTED)
    ).all()
    enrolled = set(
        session.scalars(
            select(TotpFactor.user_id).where(
                TotpFactor.user_id.in_([u.id for u in staff]), TotpFactor.confirmed_at.is_not(None)
            )
        )
    )
    return [(user, user.id in enrolled) for user in staff]
