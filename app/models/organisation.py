"""The organisation's own details (named values course text refers to) and its logo."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class OrganisationDetail(Base):
    """One named value, e.g. ``privacy_team``; a missing row means "not set"."""

    __tablename__ = "organisation_details"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class OrganisationLogo(Base):
    """The logo printed on certificates and transcripts: a PNG re-encoded by Candor."""

    __tablename__ = "organisation_logos"

    id: Mapped[int] = mapped_column(primary_key=True)
    png: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int]
    height: Mapped[int]
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Set when the admin removes the logo: no longer printed, still kept, since the online
    # check of a certificate printed with it compares against every logo kept.
    removed_at: Mapped[datetime | None]
