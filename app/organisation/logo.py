"""The organisation's logo: checked like course images (magic bytes, size), then decoded with
caps on its pixels and re-encoded as a plain PNG, so that nothing the uploader put in the file
(metadata, a second image, a malformed chunk) reaches a certificate. Callers own the
transaction."""

from __future__ import annotations

import hashlib
import io
import warnings

from PIL import Image, UnidentifiedImageError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.audit.events import record
from app.content.loader import sniff_image
from app.errors import DomainError
from app.models import OrganisationLogo, User

MAX_LOGO_BYTES = 1024 * 1024  # an upload; the re-encoded PNG is far smaller
MAX_LOGO_SIDE = 4000  # pixels, either side, as the file declares them
MAX_LOGO_PIXELS = 8_000_000  # declared width x height, checked before decoding
MIN_LOGO_SIDE = 16
STORED_BOX = (600, 240)  # the stored logo fits in this box (printed about 45 x 18 mm)


class LogoError(DomainError):
    """The upload is not a logo Candor can use; the message says why."""

    status = 400


def _decode(data: bytes) -> Image.Image:
    if not data:
        raise LogoError("Choose an image file to upload.")
    if len(data) > MAX_LOGO_BYTES:
        raise LogoError(f"The file is {len(data):,} bytes; at most {MAX_LOGO_BYTES:,} are allowed.")
    if sniff_image(data) is None:
        raise LogoError("The file is not a PNG, JPEG or WebP image.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # reads the header only
            width, height = image.size
            if width > MAX_LOGO_SIDE or height > MAX_LOGO_SIDE:
                raise LogoError(
                    f"The image is {width} x {height} pixels; at most {MAX_LOGO_SIDE} pixels "
                    "on a side are allowed."
                )
            if width * height > MAX_LOGO_PIXELS:
                raise LogoError(f"The image has more than {MAX_LOGO_PIXELS:,} pixels.")
            if min(width, height) < MIN_LOGO_SIDE:
                raise LogoError(f"The image is too small: at least {MIN_LOGO_SIDE} pixels a side.")
            image.load()
    except LogoError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Warning) as exc:
        raise LogoError("The image could not be read: it may be damaged.") from exc
    return image


def reencode(data: bytes) -> tuple[bytes, int, int]:
    """The upload as a fresh PNG (RGBA, no metadata) fitting ``STORED_BOX``, and its size;
    LogoError if it is not an image Candor accepts."""
    image = _decode(data)
    image = image.convert("RGBA")
    image.thumbnail(STORED_BOX)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue(), image.width, image.height


def current_logo(session: Session) -> OrganisationLogo | None:
    """The logo in use: the newest upload, or None."""
    return session.scalar(select(OrganisationLogo).order_by(OrganisationLogo.id.desc()).limit(1))


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
    """Stop printing a logo (certificates already issued keep theirs)."""
    session.execute(delete(OrganisationLogo))
    record(session, "organisation.logo_removed", actor=actor)
