"""One rule for what a valid account is, whichever way it is made or changed: the command
line, the demo and invitations (create_user), the HR form (create/update_employee) and the
CSV import. Each refuses what the others refuse, and accepts what they accept."""

from __future__ import annotations

import re

import pytest
from helpers import login, post
from sqlalchemy import func, select

from app.errors import DomainError
from app.models import Role, User
from app.people.accounts import create_user
from app.people.directory import (
    EmployeeInvalid,
    create_employee,
    read_employee_csv,
    update_employee,
)

BASE = "https://candor.example"
GOOD_EMAIL, GOOD_NAME = "kim@example.com", "Kim Lee"

# (field, value, what the refusal names)
REFUSED = [
    ("name", "Bob \u202eevil", "U+202E"),  # right-to-left override
    ("name", "Bob\u2066 Smith", "U+2066"),  # isolate
    ("name", "Bob\u200b", "U+200B"),  # zero-width space
    ("name", "Bob\tSmith", "U+0009"),
    ("name", "Bob\x07", "U+0007"),
    ("name", "B" * 201, "longer than 200"),
    ("name", "   ", "missing"),
    ("email", "x@y", "not valid"),
    ("email", "no-at-sign.example.com", "not valid"),
    ("email", "a" * 65 + "@example.com", "not valid"),
    ("email", "a" * 250 + "@example.com", "longer than 254"),
]
ACCEPTED = [
    ("name", "Zoë Ångström-Berg"),
    ("name", "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627"),  # Persian, with a ZWNJ
    ("name", "B" * 200),
    ("email", "first.last+tag@sub.example.com"),
]


def values(field: str, value: str) -> dict[str, str]:
    return {"email": GOOD_EMAIL, "name": GOOD_NAME, field: value}


def csv_row(field: str, value: str) -> bytes:
    row = values(field, value)
    quoted = '"' + row["name"].replace('"', '""') + '"'
    return (
        f"email,name,employee_id,department,manager_email,roles\n{row['email']},{quoted},,,,\n"
    ).encode()


@pytest.mark.parametrize(("field", "value", "reason"), REFUSED)
def test_every_way_in_refuses_the_same_values(app, db, make_user, field, value, reason):
    given = values(field, value)
    pattern = re.escape(reason)
    with pytest.raises(DomainError, match=pattern):
        create_user(db, email=given["email"], name=given["name"], roles=[], password=None)
    db.rollback()

    cli = app.test_cli_runner().invoke(
        args=["users", "create", given["email"], "--name", given["name"], "--role", "learner"]
    )
    assert cli.exit_code == 1 and reason in cli.output, cli.output

    hr = make_user(roles={Role.HR})
    with pytest.raises(EmployeeInvalid, match=pattern):
        create_employee(db, hr, **given, invite_base_url=BASE)
    db.rollback()

    person = make_user(email="someone@example.com", name="Someone")
    with pytest.raises(EmployeeInvalid, match=pattern):
        update_employee(db, hr, person.id, **{field: value})
    db.rollback()

    employee_file = read_employee_csv(csv_row(field, value), "people.csv")
    assert employee_file.rows == ()
    assert [p.line for p in employee_file.problems] == [2]
    assert reason in employee_file.problems[0].message
    assert db.scalar(select(func.count()).select_from(User).where(User.email == GOOD_EMAIL)) == 0


@pytest.mark.parametrize(("field", "value"), ACCEPTED)
def test_every_way_in_accepts_the_same_values(app, db, make_user, field, value):
    given = values(field, value)
    user = create_user(db, email=given["email"], name=given["name"], roles=[], password=None)
    assert (user.email, user.name) == (given["email"].lower(), given["name"])
    db.rollback()
    hr = make_user(roles={Role.HR})
    assert create_employee(db, hr, **given, invite_base_url=BASE).user.name == given["name"]
    db.rollback()
    employee_file = read_employee_csv(csv_row(field, value), "people.csv")
    assert employee_file.ok and employee_file.rows[0].name == given["name"]


def test_the_hr_form_shows_the_same_refusal(client, signed_in):
    signed_in(roles={Role.HR})
    response = post(
        client,
        "/hr/employees/new",
        {"name": "Bob \u202eevil", "email": GOOD_EMAIL, "roles": "learner"},
    )
    assert response.status_code == 422
    assert "U+202E" in response.get_data(as_text=True)


def test_names_are_stored_alike_whichever_way_they_come(db, make_user):
    hr = make_user(roles={Role.HR})
    by_cli = create_user(db, email="a@example.com", name="  Ana   Silva ", roles=[], password=None)
    by_form = create_employee(
        db, hr, email="b@example.com", name="  Ana   Silva ", invite_base_url=BASE
    ).user
    [row] = read_employee_csv(
        b"email,name,employee_id,department,manager_email,roles\n"
        b"c@example.com,  Ana   Silva ,,,,\n",
        "x.csv",
    ).rows
    assert by_cli.name == by_form.name == row.name == "Ana Silva"


def test_a_signed_in_account_made_by_the_cli_works(app, client):
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create",
            "new@example.com",
            "--name",
            "New Person",
            "--role",
            "learner",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert login(client, "new@example.com", "a long enough password").status_code == 303
