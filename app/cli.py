"""Command-line interface: ``flask --app app <group> <command>``. Each command owns its commit."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app.content.details import unset_warnings
from app.content.loader import LoadedTree, load_tree
from app.content.sync import StudioManaged, release_warnings, sync_courses
from app.db import get_engine, get_session
from app.errors import DomainError
from app.fields import terminal_text
from app.mail import mail_settings
from app.models import Role
from app.organisation.details import current_values
from app.people.accounts import create_user
from app.training.demo import create_demo

db_cli = AppGroup("db", help="Migrate the database schema.")
users_cli = AppGroup("users", help="Manage accounts.")
courses_cli = AppGroup("courses", help="Check and publish course sources.")
reminders_cli = AppGroup("reminders", help="E-mail learners whose training is due.")
jobs_cli = AppGroup("jobs", help="Run the workers of the job queue.")


def echo(message: object = "", **options) -> None:
    """click.echo for anything that may hold input (names, titles, e-mails, file contents):
    terminal control and escape characters are spelled out, never sent to the terminal."""
    click.echo(terminal_text(str(message)), **options)


def alembic_config():
    """Alembic's configuration, read from [tool.alembic] in pyproject.toml."""
    from alembic.config import Config

    root = Path(__file__).resolve().parent.parent
    config = Config(toml_file=str(root / "pyproject.toml"))
    config.attributes["engine"] = get_engine()
    return config


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    from alembic import command

    command.upgrade(alembic_config(), revision)
    echo(f"Database at {revision}.")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database back to REVISION (e.g. -1, or base)."""
    from alembic import command

    command.downgrade(alembic_config(), revision)
    echo(f"Database at {revision}.")


@db_cli.command("current")
def db_current() -> None:
    """Show the revision the database is at."""
    from alembic import command

    command.current(alembic_config())


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Full name as it should appear on certificates.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="Repeat for several roles.",
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (first line)."
)
def users_create(email: str, name: str, roles: tuple[str, ...], password_stdin: bool) -> None:
    """Create an account. Without --password-stdin it has no password and cannot sign in yet."""
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        user = create_user(get_session(), email=email, name=name, roles=roles, password=password)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    get_session().commit()
    echo(f"Created {user.email} ({', '.join(sorted(r.value for r in user.roles))}).")


@users_cli.command("erase")
@click.argument("who")
@click.option("--reason", required=True, help="Why (kept in the audit trail; not their name).")
def users_erase(who: str, reason: str) -> None:
    """Erase a person (WHO: their e-mail or account id): name, e-mail and employee id become a
    pseudonym with no way back; their records, certificates and the ledger stay verifiable.
    Audited, with the reason."""
    from sqlalchemy import func, select

    from app.fields import whole_number
    from app.models import User
    from app.privacy.erasure import erase_person

    session = get_session()
    number = whole_number(who)
    person = (
        session.get(User, number)
        if number is not None
        else session.scalar(select(User).where(func.lower(User.email) == who.strip().lower()))
    )
    if person is None:
        raise click.ClickException(f"No account has the e-mail or id {who!r}.")
    try:
        erased = erase_person(session, None, person.id, reason, via="command")
    except DomainError as error:
        raise click.ClickException(error.message) from None
    session.commit()
    echo(
        f"Erased account {erased.user.id}: now {erased.user.name!r}; "
        f"{erased.certificates} certificate(s) and {erased.messages} e-mail(s) changed. "
        "`audit verify` explains the change."
    )


@users_cli.command("import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--apply", "apply_", is_flag=True, help="Apply the plan (default: dry run).")
@click.option(
    "--deactivate-missing",
    is_flag=True,
    help="Deactivate active people who are not in the file (admins excepted).",
)
def users_import(source: Path, apply_: bool, deactivate_missing: bool) -> None:
    """Import employees from CSV: shows what would change; --apply does it in one transaction."""
    from app.people.directory import MAX_FILE_BYTES, apply_import, plan_import, read_employee_csv

    db = get_session()
    with source.open("rb") as stream:
        data = stream.read(MAX_FILE_BYTES + 1)  # read_employee_csv refuses anything larger
    plan = plan_import(
        db, read_employee_csv(data, str(source)), deactivate_missing=deactivate_missing
    )
    for row in plan.creates:
        echo(f"create  line {row.line}: {row.row.email}")
    for row in plan.changes:
        changes = "; ".join(f"{c.field} {c.old!r} -> {c.new!r}" for c in row.changes)
        echo(f"change  line {row.line}: {row.row.email}: {changes}")
    for person in plan.deactivations:
        echo(f"deactivate      {person.email}")
    for row in plan.still_inactive:
        echo(f"inactive line {row.line}: {row.row.email} (an import never reactivates)")
    if plan.problems:
        _print_problems(list(plan.problems))
        echo("Nothing was written.", err=True)
        sys.exit(1)
    echo(plan.summary())
    if not apply_:
        echo("Dry run: nothing was written. Run again with --apply to apply it.")
        return
    try:
        result = apply_import(
            db,
            None,
            plan,
            invite_base_url=current_app.config["BASE_URL"],
            mail=mail_settings(current_app.config),
        )
        db.commit()
    except DomainError as error:
        db.rollback()
        raise click.ClickException(error.message) from None
    echo(result.summary())
    for link in result.invitations:
        echo(f"invitation e-mailed to {link.email} (valid until {link.expires_at:%Y-%m-%d})")


def _print_problems(problems) -> None:
    for problem in problems:
        echo(str(problem), err=True)
    echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found.", err=True)


def _print_warnings(tree: LoadedTree) -> None:
    """Print the authoring warnings (they never fail a command), with the published course's
    release notes compared when the database can be read."""
    warnings = list(tree.warnings)
    try:
        warnings += release_warnings(get_session(), tree)
    except SQLAlchemyError:  # no database yet: the other warnings still hold
        get_session().rollback()
    modules = [(f"{c.folder}/{m.stem}.md", m.source) for c in tree.courses for m in c.modules]
    warnings += unset_warnings(modules, _stored_details())
    for warning in sorted(warnings):
        echo(warning.as_warning(), err=True)


@courses_cli.command("check")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
def courses_check(path: Path) -> None:
    """Validate every course under PATH without writing anything."""
    tree = load_tree(path)
    _print_warnings(tree)
    if tree.problems:
        _print_problems(tree.problems)
        sys.exit(1)
    for course in tree.courses:
        quiz = "with a quiz" if course.quiz is not None else "no quiz"
        echo(f"{course.slug}: OK ({len(course.modules)} modules, {quiz})")


def _stored_details() -> dict[str, str]:
    """The organisation's details, or none if this database has no table for them yet."""
    try:
        return current_values(get_session())
    except SQLAlchemyError:
        get_session().rollback()
        return {}


@courses_cli.command("sync")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--take-over",
    "take_over",
    multiple=True,
    metavar="SLUG",
    help="Manage this studio course from files from now on (audited). Repeat for several.",
)
def courses_sync(path: Path, take_over: tuple[str, ...]) -> None:
    """Publish every changed course under PATH in one transaction; nothing if any is invalid,
    or if a course is managed in the studio (unless --take-over names it)."""
    tree = load_tree(path)
    _print_warnings(tree)
    if tree.problems:
        _print_problems(tree.problems)
        echo("Nothing was written.", err=True)
        sys.exit(1)
    try:
        report = sync_courses(get_session(), tree, take_over=take_over)
        get_session().commit()
    except StudioManaged as error:
        get_session().rollback()
        echo(error.message, err=True)
        sys.exit(1)
    except IntegrityError:
        get_session().rollback()
        raise click.ClickException(
            "Another sync published at the same time; nothing was written. Run the sync again."
        ) from None
    echo(report.summary())


@courses_cli.command("convert-gift")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write quiz.md here instead of printing it.",
)
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
def courses_convert_gift(source: Path, output: Path | None, force: bool) -> None:
    """Convert a Moodle GIFT file to Candor's quiz.md; unsupported questions are listed."""
    from app.content.gift import convert_gift
    from app.content.loader import MAX_MARKDOWN_BYTES

    if source.stat().st_size > 4 * MAX_MARKDOWN_BYTES:
        raise click.ClickException(f"{source}: file is too large to be a question bank")
    raw = source.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise click.ClickException(
            f"{source}:{line}: not valid UTF-8: save the file as UTF-8"
        ) from None
    result = convert_gift(text, str(source))
    for problem in result.skipped + result.notes:
        echo(str(problem), err=True)
    if result.problems:
        _print_problems(result.problems)
        echo("Nothing was written: fix the problems above and convert again.", err=True)
        sys.exit(1)
    if not result.converted:
        raise click.ClickException("No question in this file can be converted.")
    if output is None:
        echo(result.markdown, nl=False)
    elif output.exists() and not force:
        raise click.ClickException(f"{output} exists; use --force to replace it.")
    else:
        output.write_text(result.markdown, encoding="utf-8")
    echo(
        f"Converted {result.converted} question{'s' if result.converted != 1 else ''}; "
        f"skipped {len(result.skipped)}.",
        err=True,
    )


@reminders_cli.command("send")
@click.option("--dry-run", is_flag=True, help="Show who would be reminded; queue nothing.")
def reminders_send(dry_run: bool) -> None:
    """Queue an e-mail to everyone the reminder cadence says to remind (at most once per person
    per day), then one digest to each manager of someone late; job workers send them. The
    cadence is the one HR sets on the Reminders page. The workers also run this on their own
    (CANDOR_JOBS_REMINDERS_CRONTAB); every run is listed there with what it sent."""
    from app.mail import mail_settings
    from app.models import RunTrigger
    from app.training.reminder_runs import run_to_end, start_run
    from app.training.reminders import send_reminders

    verb = "would send" if dry_run else "queued"

    def show(message) -> None:
        echo(f"{verb}: {message.to}: {message.subject}")

    session = get_session()
    if dry_run:
        report = send_reminders(
            session, mail_settings(current_app.config), dry_run=True, on_message=show
        )
        session.rollback()
    else:
        run = start_run(session, RunTrigger.COMMAND)
        session.commit()
        report = run_to_end(session, run.id, mail_settings(current_app.config), on_message=show)
    for failure in report.failed:
        echo(f"failed: {failure.to}: {failure.reason}", err=True)
    echo(
        f"{report.queued} {verb}, {report.digests} manager digest(s), "
        f"{report.failed_count} failed, {report.already_reminded} already reminded today."
    )
    if report.queued and not dry_run:
        echo("Job workers send them (flask --app app jobs worker; make run starts one).")
    if report.failed_count:
        sys.exit(1)


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Create demo accounts (passwords shown once) and some progress; re-running changes nothing."""
    accounts = create_demo(get_session())
    get_session().commit()
    base = current_app.config["BASE_URL"]
    echo(f"Demo accounts (sign in at {base}/login):")
    for account in accounts:
        roles = ", ".join(sorted(r.value for r in account.roles))
        secret = account.password or "(exists already; password unchanged)"
        echo(f"  {account.email:<26} {secret:<20} {roles}")
    if any(a.password for a in accounts):
        echo("These passwords are shown only this once.")


@jobs_cli.command("worker")
@click.option(
    "--threads",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Jobs this process runs at once.",
)
@click.option(
    "--no-periodic",
    is_flag=True,
    help="Leave scheduled work (the minute's maintenance, the reminder run) to other workers.",
)
@click.option(
    "--priority",
    type=click.Choice(["background", "normal"]),
    default="background",
    show_default=True,
    help="background: run only on CPU time the web server leaves (on a machine of its own, "
    "it makes no difference).",
)
def jobs_worker(threads: int, no_periodic: bool, priority: str) -> None:
    """Run jobs from the queue until stopped (Ctrl-C or SIGTERM). Start as many as you like."""
    import logging

    from app.tasks import get_queue, run_in_the_background

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    queue = get_queue()
    # Before the consumer starts its threads, which inherit the priority.
    cpu = run_in_the_background() if priority == "background" else "normal CPU priority"
    echo(f"Candor worker: {threads} thread(s) on {queue.describe()}, at {cpu}.")
    queue.huey.create_consumer(
        workers=threads, worker_type="thread", periodic=not no_periodic
    ).run()


def register(app: Flask) -> None:
    """Add Candor's command groups to ``flask``."""
    from app.records_cli import audit_cli, certificates_cli, evidence_cli, obligations_cli

    commands = (
        db_cli,
        users_cli,
        courses_cli,
        certificates_cli,
        audit_cli,
        evidence_cli,
        obligations_cli,
        reminders_cli,
        jobs_cli,
        demo,
    )
    for command in commands:
        app.cli.add_command(command)


@courses_cli.command("export")
@click.argument("slug")
@click.option("--version", "number", type=int, help="The version to export (default: the newest).")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the course folder into this folder (as OUTPUT/SLUG).",
)
def courses_export(slug: str, number: int | None, output: Path) -> None:
    """Write a published version as a course folder that courses sync reports unchanged."""
    from app.content.folders import version_files, write_folder
    from app.content.versions import find_version

    try:
        version = find_version(get_session(), slug, number)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    target = output / slug
    if target.exists() and any(target.iterdir()):
        raise click.ClickException(f"{target} exists and is not empty: nothing was written.")
    write_folder(version_files(get_session(), version), target)
    click.echo(f"{slug}: version {version.number} written to {target} ({version.content_hash})")
