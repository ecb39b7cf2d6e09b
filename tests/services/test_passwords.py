"""Common passwords and passwords made from the account's own name or e-mail are refused in
every place a password is set: the command line (create_user), an invitation, a password
change (ASVS 5.0 6.2.4, 6.2.11)."""

from __future__ import annotations

import pytest
from helpers import PASSWORD, login, post
from sqlalchemy import select

from app.errors import DomainError
from app.models import Invitation, User
from app.people.accounts import create_user
from app.people.invitations import create_invitation, redeem_invitation
from app.people.passwords import common_passwords, password_problem

EMAIL, NAME = "jane.doe@example.com", "Jane Doe"

COMMON = ["12345678", "password", "Password1", "P@ssword!", "qwertyuiop", "iloveyou", "sunshine1"]
OWN = [
    EMAIL,
    "JANE.DOE@EXAMPLE.COM",
    "jane.doe2026",
    "JaneDoe!!",
    "doejane123",
    "Jane Doe 1990",
    "example.com!",
]
FINE = [PASSWORD, "a long new passphrase", "tractor lantern quietly", "Janet's 7 violet crows"]


def test_the_shipped_list_is_large_and_has_the_classics():
    common = common_passwords()
    assert len(common) >= 10_000
    assert {"123456", "12345678", "password", "qwerty"} <= common


@pytest.mark.parametrize("password", COMMON)
def test_common_passwords_are_refused(password):
    assert "most common passwords" in (password_problem(password, email=EMAIL, name=NAME) or "")


@pytest.mark.parametrize("password", OWN)
def test_passwords_made_from_the_name_or_address_are_refused(password):
    assert "your own name or e-mail" in (password_problem(password, email=EMAIL, name=NAME) or "")


@pytest.mark.parametrize("password", FINE)
def test_unrelated_words_are_accepted(password):
    assert password_problem(password, email=EMAIL, name=NAME) is None


def test_the_command_line_refuses_them(db):
    for password in ("12345678", "jane.doe@example.com"):
        with pytest.raises(DomainError):
            create_user(db, email=EMAIL, name=NAME, roles=["learner"], password=password)
    assert db.scalar(select(User)) is None


def test_an_invitation_refuses_them_and_keeps_the_link(db):
    user = User(email=EMAIL, name=NAME)
    user.roles = {"learner"}
    db.add(user)
    db.commit()
    token = create_invitation(db, user)
    db.commit()
    for password in ("password", "JaneDoe2026"):
        with pytest.raises(DomainError):
            redeem_invitation(db, token, password)
    assert db.scalar(select(Invitation.used_at)) is None
    assert redeem_invitation(db, token, "tractor lantern quietly").check_password(
        "tractor lantern quietly"
    )


def test_a_password_change_refuses_them(client, signed_in, db):
    user = signed_in(email=EMAIL, name=NAME)
    for password in ("12345678", "jane.doe@example.com"):
        response = post(
            client,
            "/account/password",
            {"current": PASSWORD, "new": password, "confirm": password},
        )
        assert response.status_code == 400
        assert "Choose another" in response.get_data(as_text=True)
    db.expire_all()
    assert db.get(User, user.id).check_password(PASSWORD)
    assert login(client, user).status_code == 303
