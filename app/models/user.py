"""People and their roles."""

from __future__ import annotations

import enum
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.db import Base, utcnow
from app.fields import DEPARTMENT_MAX, EMAIL_MAX, EMPLOYEE_ID_MAX, NAME_MAX, search_key

PASSWORD_MIN = 8
PASSWORD_MAX = 128
OIDC_SUBJECT_MAX = 512  # the provider's issuer, "#", and its "sub" (at most 255 by the spec)
# Where User.remember_roles keeps the roles it was given (an instance attribute, not mapped).
_KNOWN_ROLES = "_candor_known_roles"


class Role(enum.StrEnum):
    LEARNER = "learner"
    TRAINER = "trainer"
    HR = "hr"
    ADMIN = "admin"


# Roles that give power over other people's accounts and records: only an administrator grants
# them, and only an administrator changes or deactivates an account that holds one.
STAFF_ROLES = frozenset({Role.HR, Role.ADMIN})


def _enum_values(enum_class: type[enum.Enum]) -> list[str]:
    return [member.value for member in enum_class]


def new_session_generation() -> str:
    """A fresh random token; changing it ends every session of the user."""
    return secrets.token_urlsafe(16)


def _search_key_of_insert(context: Any) -> str:
    # Core inserts too (the ORM's go through _keep_search_key): from the row's own values.
    row = context.get_current_parameters()
    return search_key(row.get("name"), row.get("email"), row.get("employee_id"))


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    employee_id: Mapped[str | None] = mapped_column(String(EMPLOYEE_ID_MAX), unique=True)
    department: Mapped[str | None] = mapped_column(String(DEPARTMENT_MAX), index=True)
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    locale: Mapped[str] = mapped_column(String(16), default="en")
    password_hash: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(default=True)
    # Part of the id Flask-Login keeps in the cookie; rotating it ends every session.
    session_generation: Mapped[str] = mapped_column(String(64), default=new_session_generation)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deactivated_at: Mapped[datetime | None]
    # When the person was erased (privacy.erasure): name, e-mail and employee id are then a
    # pseudonym with no way back, and the account never signs in or changes again.
    erased_at: Mapped[datetime | None]
    # "<issuer>#<sub>" of the single sign-on identity linked on its first use, if any.
    oidc_subject: Mapped[str | None] = mapped_column(
        String(OIDC_SUBJECT_MAX), unique=True, index=True
    )
    # Name, e-mail and employee id folded (app.fields.search_key: no accents, no case), kept
    # on every write, so a search for "igor" finds "Ígor" with a plain LIKE on both databases.
    search_key: Mapped[str | None] = mapped_column(Text, default=_search_key_of_insert)

    role_links: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    manager: Mapped[User | None] = relationship(remote_side=[id])

    @property
    def roles(self) -> frozenset[Role]:
        known = self.__dict__.get(_KNOWN_ROLES)
        return known if known is not None else frozenset(link.role for link in self.role_links)

    @roles.setter
    def roles(self, roles) -> None:
        self.__dict__.pop(_KNOWN_ROLES, None)
        wanted = {Role(r) for r in roles}
        self.role_links = [link for link in self.role_links if link.role in wanted]
        have = {link.role for link in self.role_links}
        self.role_links.extend(UserRole(role=r) for r in sorted(wanted - have))

    def remember_roles(self, roles: Iterable[Role]) -> None:
        """Keep the roles read with the account (``security._load_user`` reads both in one
        statement, without loading ``role_links``), for ``roles`` and ``has_role``, which
        every page asks several times; setting the roles forgets them."""
        self.__dict__[_KNOWN_ROLES] = frozenset(roles)

    def has_role(self, *roles: Role) -> bool:
        """True if the user holds any of ``roles``; admins hold every role."""
        mine = self.roles
        return Role.ADMIN in mine or any(r in mine for r in roles)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return self.password_hash is not None and check_password_hash(self.password_hash, password)

    # Flask-Login protocol: the id in the cookie carries the session generation.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_generation}"


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(
        Enum(
            Role, values_callable=_enum_values, native_enum=False, length=16, validate_strings=True
        ),
        primary_key=True,
    )

    user: Mapped[User] = relationship(back_populates="role_links")


@event.listens_for(User, "before_insert")
@event.listens_for(User, "before_update")
def _keep_search_key(_mapper, _connection, user: User) -> None:
    # Bulk writes that bypass these events (the directory import) set it themselves.
    user.search_key = search_key(user.name, user.email, user.employee_id)
