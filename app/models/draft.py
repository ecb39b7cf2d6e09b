"""Studio drafts: one working copy per course, holding exactly the files of a course folder.

Learners never see a draft: only a published ``CourseVersion`` reaches them. Every save is
kept (``DraftSave``), and ``revision`` counts them, so a save made from a stale page is caught.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow

PATH_MAX = 120


class Draft(Base):
    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), unique=True
    )
    # How many saves the draft has had; a form carries the revision it was drawn from.
    revision: Mapped[int] = mapped_column(default=0)
    # The published version the draft started from (None for a new course).
    based_on: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    files: Mapped[list[DraftFile]] = relationship(
        back_populates="draft", order_by="DraftFile.path", cascade="all, delete-orphan"
    )


class DraftFile(Base):
    """One file of a draft, by its path in the course folder (``assets/x.png`` for images)."""

    __tablename__ = "draft_files"
    __table_args__ = (UniqueConstraint("draft_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(PATH_MAX))
    data: Mapped[bytes] = mapped_column(LargeBinary)

    draft: Mapped[Draft] = relationship(back_populates="files")


class DraftSave(Base):
    """One save of a draft, kept: what changed (a file's new content, a rename, a removal)."""

    __tablename__ = "draft_saves"

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int]
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(16))  # write, rename, delete
    path: Mapped[str] = mapped_column(String(PATH_MAX))
    new_path: Mapped[str | None] = mapped_column(String(PATH_MAX))
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
