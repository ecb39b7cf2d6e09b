"""The command line: users, courses and demo data, with clear errors and honest exit codes."""

from __future__ import annotations

from conftest import COURSES
from helpers import PNG, link_in_mail, run_jobs
from quiz_course import QUIZ, write_quiz_course
from sqlalchemy import func, select

from app import create_app
from app.content.details import DETAILS
from app.models import Course, Enrollment, OrganisationDetail, Role, User


def test_users_create_reads_the_password_from_stdin(app, db):
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create",
            "Ana@Example.test",
            "--name",
            "Ana Silva",
            "--role",
            "hr",
            "--role",
            "learner",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created ana@example.test (hr, learner)." in result.output
    user = db.scalar(select(User).where(User.email == "ana@example.test"))
    assert user.roles == {Role.HR, Role.LEARNER}
    assert user.check_password("a long enough password")


def test_users_create_refuses_duplicates_and_short_passwords(app, make_user):
    make_user(email="taken@example.test")
    runner = app.test_cli_runner()
    duplicate = runner.invoke(
        args=["users", "create", "taken@example.test", "--name", "X", "--role", "learner"]
    )
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output
    short = runner.invoke(
        args=[
            "users",
            "create",
            "new@example.test",
            "--name",
            "X",
            "--role",
            "learner",
            "--password-stdin",
        ],
        input="short\n",
    )
    assert short.exit_code == 1 and "at least 8 characters" in short.output
    bad_role = runner.invoke(
        args=["users", "create", "new@example.test", "--name", "X", "--role", "boss"]
    )
    assert bad_role.exit_code == 2


def test_courses_check_passes_the_shipped_courses_and_writes_nothing(app, db):
    result = app.test_cli_runner().invoke(args=["courses", "check", str(COURSES)])
    assert result.exit_code == 0, result.output
    assert "ai-in-the-contact-center: OK" in result.output
    assert db.scalar(select(func.count()).select_from(Course)) == 0


def test_courses_check_warns_about_unset_organisation_details_until_they_are_set(app, db):
    result = app.test_cli_runner().invoke(args=["courses", "check", str(COURSES)])
    assert result.exit_code == 0
    assert (
        "ai-data-refresher/03-when-something-looks-wrong.md:9: warning: {{ security_contact }} "
        "(information security contact) is not set yet" in result.output
    )
    db.add_all(OrganisationDetail(name=d.name, value=f"the {d.label.lower()}") for d in DETAILS)
    db.commit()
    result = app.test_cli_runner().invoke(args=["courses", "check", str(COURSES)])
    assert result.exit_code == 0 and "warning" not in result.output


def test_courses_check_and_sync_report_every_problem(app, db, course_tree):
    (course_tree / "ai-data-refresher" / "course.toml").write_text("title = 3\n")
    (course_tree / "ai-in-the-contact-center" / "07-x.md").write_text("untitled\n")
    runner = app.test_cli_runner()
    for command in ("check", "sync"):
        result = runner.invoke(args=["courses", command, str(course_tree)])
        assert result.exit_code == 1
        assert "ai-data-refresher/course.toml:1: title must be a string" in result.output
        assert "ai-in-the-contact-center/07-x.md:1: a module starts with its title" in result.output
    assert "Nothing was written." in result.output
    assert db.scalar(select(func.count()).select_from(Course)) == 0


def test_courses_sync_publishes_then_reports_unchanged(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["courses", "sync", str(COURSES)])
    assert first.exit_code == 0, first.output
    assert "ai-in-the-contact-center: published version 1 (new course)" in first.output
    second = runner.invoke(args=["courses", "sync", str(COURSES)])
    assert "ai-in-the-contact-center: unchanged (version 1)" in second.output


def test_demo_prints_passwords_once_and_changes_nothing_when_rerun(app, db, synced):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "learner@candor.example" in first.output and "shown only this once" in first.output
    hashes = dict(db.execute(select(User.email, User.password_hash)).all())
    assert len(hashes) == 4
    second = runner.invoke(args=["demo"])
    assert second.output.count("exists already; password unchanged") == 4
    db.expire_all()
    assert dict(db.execute(select(User.email, User.password_hash)).all()) == hashes


def test_the_demo_fills_in_example_details_so_the_shipped_courses_check_silently(app, db, synced):
    runner = app.test_cli_runner()
    assert "warning:" in runner.invoke(args=["courses", "check", str(COURSES)]).output
    assert runner.invoke(args=["demo"]).exit_code == 0
    check = runner.invoke(args=["courses", "check", str(COURSES)])
    assert check.exit_code == 0 and "warning" not in check.output, check.output
    # the demo published minor versions with the values; a sync now finds nothing to do
    sync = runner.invoke(args=["courses", "sync", str(COURSES)])
    assert "published" not in sync.output, sync.output
    flagship = db.scalar(select(Course).where(Course.slug == "ai-in-the-contact-center"))
    learner = db.scalar(select(User).where(User.email == "learner@candor.example"))
    enrollment = db.scalar(select(Enrollment).where(Enrollment.user_id == learner.id))
    assert enrollment.version.number == 2 and enrollment.course_id == flagship.id
    assert "privacy@example.org" in "".join(m.html for m in enrollment.version.modules)


def test_db_upgrade_migrates_an_empty_database(tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/fresh.db"})
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "Database at head." in result.output


GIFT = """// A comment
::Approved tools::Where may you paste order history? {
=Only into approved tools #Right.
~Into any chatbot #Not approved.
}

::Essay::Describe your day. {}
"""


def test_convert_gift_writes_quiz_md_and_lists_what_it_skipped(app, tmp_path):
    source = tmp_path / "bank.gift"
    source.write_text(GIFT)
    target = tmp_path / "quiz.md"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["courses", "convert-gift", str(source), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert f"{source}:7: skipped essay question" in result.output
    assert "Converted 1 question; skipped 1." in result.output
    quiz = target.read_text()
    assert "## Approved tools" in quiz and "- [x] Only into approved tools" in quiz
    again = runner.invoke(args=["courses", "convert-gift", str(source), "-o", str(target)])
    assert again.exit_code == 1 and "use --force" in again.output


def test_convert_gift_refuses_malformed_or_non_utf8_input(app, tmp_path):
    broken = tmp_path / "broken.gift"
    broken.write_text("Unclosed question {\n=right\n~wrong\n")
    latin = tmp_path / "latin.gift"
    latin.write_bytes("Caf\xe9? {T}\n".encode("latin-1"))
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["courses", "convert-gift", str(broken), "-o", str(tmp_path / "out.md")]
    )
    assert result.exit_code == 1 and f"{broken}:1:" in result.output
    assert not (tmp_path / "out.md").exists()
    result = runner.invoke(args=["courses", "convert-gift", str(latin)])
    assert result.exit_code == 1 and f"{latin}:1: not valid UTF-8" in result.output


STAFF = """email,name,employee_id,department,manager_email,roles
dana@example.test,Dana Scully,E100,Support,,learner
fox@example.test,Fox Mulder,E101,Support,dana@example.test,learner|hr
"""


def test_users_import_is_a_dry_run_until_applied(app, db, tmp_path, mailbox):
    source = tmp_path / "staff.csv"
    source.write_text(STAFF)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["users", "import", str(source)])
    assert dry.exit_code == 0, dry.output
    assert "create  line 2: dana@example.test" in dry.output
    assert "Dry run: nothing was written." in dry.output
    assert db.scalar(select(func.count()).select_from(User)) == 0
    applied = runner.invoke(args=["users", "import", str(source), "--apply"])
    assert applied.exit_code == 0, applied.output
    assert "2 created" in applied.output and "/invite/" not in applied.output
    assert applied.output.count("invitation e-mailed to") == 2
    run_jobs(app)  # a worker sends the outbox
    assert sorted(r.rcpt_tos[0] for r in mailbox.received) == [
        "dana@example.test",
        "fox@example.test",
    ]
    assert link_in_mail(mailbox, "fox@example.test", "/invite/")
    db.rollback()  # end the test's read transaction to see what the command committed
    fox = db.scalar(select(User).where(User.email == "fox@example.test"))
    assert fox.manager.email == "dana@example.test" and fox.roles == {Role.LEARNER, Role.HR}
    again = runner.invoke(args=["users", "import", str(source), "--apply"])
    assert "0 created, 0 changed" in again.output


def test_users_import_reports_bad_rows_with_line_numbers(app, db, tmp_path):
    source = tmp_path / "staff.csv"
    source.write_text(STAFF + "not-an-email,Someone,E102,Support,,learner\n")
    result = app.test_cli_runner().invoke(args=["users", "import", str(source), "--apply"])
    assert result.exit_code == 1
    assert f"{source}:4:" in result.output and "Nothing was written." in result.output
    assert db.scalar(select(func.count()).select_from(User)) == 0


def test_reminders_dry_run_sends_nothing(app, db, make_user, synced):
    from datetime import timedelta

    from app.db import utcnow
    from app.models import Enrollment, Reminder

    learner = make_user()
    course = db.scalar(select(Course).where(Course.slug == "ai-in-the-contact-center"))
    db.add(
        Enrollment(
            user_id=learner.id,
            course_id=course.id,
            assigned_at=utcnow(),
            due_at=utcnow() - timedelta(days=2),
        )
    )
    db.commit()
    result = app.test_cli_runner().invoke(args=["reminders", "send", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"would send: {learner.email}" in result.output
    assert db.scalar(select(func.count()).select_from(Reminder)) == 0


def test_courses_check_reports_superscript_points_at_their_line(app, tmp_path):
    # "²" passes str.isdigit() and int() refuses it: check once printed a traceback.
    write_quiz_course(tmp_path, QUIZ.replace("Points: 2", "Points: ²"))
    line = QUIZ.splitlines().index("Points: 2") + 1
    result = app.test_cli_runner().invoke(args=["courses", "check", str(tmp_path)])
    assert result.exit_code == 1
    assert f"quiz-demo/quiz.md:{line}: conversation points must be a whole number" in result.output
    assert "Traceback" not in result.output


def test_courses_check_prints_warnings_without_failing(app, db, synced, course_tree):
    folder = course_tree / "ai-data-refresher"
    module = folder / "01-what-ai-tools-touch.md"
    module.write_text(module.read_text() + "\n![](assets/none.png)\n# A second title\n")
    (folder / "assets").mkdir()
    (folder / "assets" / "none.png").write_bytes(PNG)
    lines = module.read_text().count("\n")
    result = app.test_cli_runner().invoke(args=["courses", "check", str(course_tree)])
    assert result.exit_code == 0, result.output
    assert "ai-data-refresher: OK" in result.output
    prefix = "ai-data-refresher/01-what-ai-tools-touch.md"
    assert f"{prefix}:{lines - 1}: warning: image assets/none.png has no alt text" in result.output
    assert f"{prefix}:{lines}: warning: a second '#' heading" in result.output
    # the course changed but still carries version 1's notes
    assert (
        "ai-data-refresher/course.toml:10: warning: [release] notes are the same as the "
        "published version's" in result.output
    )


def test_courses_check_fails_on_an_image_that_resolves_to_no_asset(app, db, course_tree):
    module = course_tree / "ai-data-refresher" / "01-what-ai-tools-touch.md"
    module.write_text(module.read_text() + "\n![A flow](assets/my flow.png)\n")
    lines = module.read_text().count("\n")
    result = app.test_cli_runner().invoke(args=["courses", "check", str(course_tree)])
    assert result.exit_code == 1
    assert (
        f"ai-data-refresher/01-what-ai-tools-touch.md:{lines}: image 'assets/my flow.png' "
        "does not resolve to an asset" in result.output
    )


def test_courses_sync_refuses_a_studio_course_unless_taken_over(app, db, synced):
    from app.models import Management

    course = db.scalar(select(Course).where(Course.slug == "ai-data-refresher"))
    course.managed_by = Management.STUDIO
    db.commit()
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["courses", "sync", str(COURSES)])
    assert refused.exit_code == 1
    assert "ai-data-refresher: managed in the studio" in refused.output
    assert "Nothing was written." in refused.output
    taken = runner.invoke(
        args=["courses", "sync", str(COURSES), "--take-over", "ai-data-refresher"]
    )
    assert taken.exit_code == 0, taken.output
    assert "ai-data-refresher: taken over from the studio" in taken.output
    assert "ai-data-refresher: unchanged (version 1)" in taken.output


def test_courses_export_writes_a_folder_that_syncs_unchanged(app, db, synced, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["courses", "export", "ai-data-refresher", "--version", "1", "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ai-data-refresher" / "course.toml").is_file()
    again = runner.invoke(args=["courses", "sync", str(tmp_path)])
    assert "ai-data-refresher: unchanged (version 1)" in again.output
    refused = runner.invoke(args=["courses", "export", "ai-data-refresher", "-o", str(tmp_path)])
    assert refused.exit_code == 1 and "not empty" in refused.output
    missing = runner.invoke(args=["courses", "export", "nope", "-o", str(tmp_path / "x")])
    assert missing.exit_code == 1 and "There is no course nope." in missing.output
