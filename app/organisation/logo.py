"""The organisation's logo: checked by the one image check (`content.images`: magic bytes,
size, caps on its pixels before decoding) and re-encoded as a plain PNG, so that nothing the
uploader put in the file (metadata, a second image, a malformed chunk) reaches a
certificate. Callers own the transaction."""

from __future__ import annotations

import hashlib
import io

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit.events import record
from app.content.images import Limits, decode, pixels_only
from app.db import utcnow
from app.models import OrganisationLogo, User

MAX_LOGO_BYTES = 1024 * 1024  # an upload; the re-encoded PNG is far smaller
LOGO = Limits(max_bytes=MAX_LOGO_BYTES, max_pixels=8_000_000, max_side=4000, min_side=16)
STORED_BOX = (600, 240)  # the stored logo fits in this box (printed about 45 x 18 mm)


def reencode(data: bytes) -> tuple[bytes, int, int]:
    """The upload as a fresh PNG (RGBA, no metadata) fitting ``STORED_BOX``, and its size;
    ImageRefused if it is not an image Candor accepts."""
    image = pixels_only(decode(data, LOGO)).convert("RGBA")
    image.thumbnail(STORED_BOX)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue(), image.width, image.height


def current_logo(session: Session) -> OrganisationLogo | None:
    """The logo in use: the newest upload, unless it was removed; else None."""
    newest = session.scalar(select(OrganisationLogo).order_by(OrganisationLogo.id.desc()).limit(1))
    return newest if newest is not None and newest.removed_at is None else None


def store_logo(session: Session, actor: User, data: bytes) -> OrganisationLogo:
    """Check and re-encode an uploaded logo and make it the one in use."""
    png, width, height = reencode(data)
    logo = OrganisationLogo(
        png=png,
        sha256=hashlib.sha256(png).hexdigest(),
        width=width,
        height=height,
        uploaded_by_id=actor.id,
    )
    session.add(logo)
    session.flush()
    record(session, "organisation.logo_uploaded", actor=actor, subject=logo, sha256=logo.sha256)
    return logo


def remove_logo(session: Session, actor: User) -> None:
    """Stop printing a logo. It is kept, as every logo ever printed is: certificates already
    issued keep theirs, and their online check compares against the logos kept."""
    session.execute(
        update(OrganisationLogo)
        .where(OrganisationLogo.removed_at.is_(None))
        .values(removed_at=utcnow())
    )
    record(session, "organisation.logo_removed", actor=actor)
