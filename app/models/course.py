"""Courses and their immutable published versions, with modules and assets."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow
from app.fields import SLUG_MAX, TITLE_MAX


class Visibility(enum.StrEnum):
    """Who sees a course: only its assigned learners, every learner, or nobody new."""

    HIDDEN = "hidden"
    LISTED = "listed"
    RETIRED = "retired"


class Management(enum.StrEnum):
    """Where a course is written: files in ``courses/`` (``courses sync``) or the studio."""

    FILES = "files"
    STUDIO = "studio"


def _enum(kind: type[enum.Enum], name: str) -> Enum:
    return Enum(
        kind,
        name=name,
        native_enum=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


class Course(Base):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(SLUG_MAX), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A new course is hidden until a trainer lists it (course.visibility_changed in the audit).
    visibility: Mapped[Visibility] = mapped_column(
        _enum(Visibility, "visibility"), default=Visibility.HIDDEN
    )
    managed_by: Mapped[Management] = mapped_column(
        _enum(Management, "management"), default=Management.FILES
    )

    versions: Mapped[list[CourseVersion]] = relationship(
        back_populates="course", order_by="CourseVersion.number"
    )


class CourseVersion(Base):
    """One published edition of a course. Never updated once written."""

    __tablename__ = "course_versions"
    __table_args__ = (UniqueConstraint("course_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="RESTRICT"))
    number: Mapped[int]
    # SHA-256 over the normalised sources (course.toml, modules, quiz, assets).
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    summary: Mapped[str] = mapped_column(Text)
    estimated_minutes: Mapped[int]
    pass_mark: Mapped[int]
    max_attempts: Mapped[int]
    recertify_months: Mapped[int]
    obligations: Mapped[list] = mapped_column(default=list)
    release_notes: Mapped[str] = mapped_column(Text, default="")
    # True when holders of earlier versions must retrain.
    material: Mapped[bool] = mapped_column(default=True)
    # Deferred: sources and the quiz are large and most pages never read them.
    metadata_source: Mapped[str] = mapped_column(Text, deferred=True)
    quiz_source: Mapped[str | None] = mapped_column(Text, deferred=True)
    quiz: Mapped[dict | None] = mapped_column(deferred=True)
    # The organisation's details its modules were published with (name -> value, None where
    # unset): part of the content hash, so the record names the exact text each learner read.
    details: Mapped[dict] = mapped_column(default=dict)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))

    course: Mapped[Course] = relationship(back_populates="versions")
    modules: Mapped[list[Module]] = relationship(
        back_populates="version", order_by="Module.position", cascade="all, delete-orphan"
    )

    @property
    def short_hash(self) -> str:
        return self.content_hash[:12]


class Module(Base):
    __tablename__ = "modules"
    __table_args__ = (
        UniqueConstraint("version_id", "position"),
        UniqueConstraint("version_id", "stem"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id", ondelete="CASCADE"))
    position: Mapped[int]
    # The file name without ".md", e.g. "01-what-happened"; also the URL segment.
    stem: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    source: Mapped[str] = mapped_column(Text, deferred=True)
    # Rendered and sanitised once, at sync; pages serve it as it is.
    html: Mapped[str] = mapped_column(Text)
    min_minutes: Mapped[int] = mapped_column(default=0)
    word_count: Mapped[int] = mapped_column(default=0)

    version: Mapped[CourseVersion] = relationship(back_populates="modules")


class Asset(Base):
    """An image a course version's modules use, served by the app (never from elsewhere)."""

    __tablename__ = "assets"
    __table_args__ = (UniqueConstraint("version_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    media_type: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
