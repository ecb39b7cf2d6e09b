"""The ledger: completions, certificates (issue, revocation) and audit events chained by hash;
`audit verify` names the first row or entry changed, removed or inserted in SQL directly,
on SQLite and PostgreSQL, and appends hold under concurrent writers."""

from __future__ import annotations

import threading

import pytest
from helpers import list_courses, read_in_turn, statements_run, tamper
from sqlalchemy import func, select

from app.audit.events import record
from app.audit.ledger import verify
from app.certificates.service import revoke_certificate
from app.content.sync import sync_courses
from app.db import utcnow
from app.models import AuditEvent, Certificate, Completion, LedgerEntry
from app.progress.reading import current_version, find_course

REFRESHER = "ai-data-refresher"


@pytest.fixture
def records(db, make_user, refresher_without_quiz):
    """Two completions with their certificates and audit events; the first one revoked."""
    sync_courses(db, refresher_without_quiz)
    list_courses(db)
    db.commit()
    hr = make_user(name="Hana Reyes")
    for name in ("Ana Silva", "Ben Okafor"):
        user = make_user(name=name)
        read_in_turn(db, user, current_version(db, user, find_course(db, REFRESHER)).modules)
        db.commit()
    first = db.scalar(select(Certificate).order_by(Certificate.id))
    revoke_certificate(db, hr, first.id, "issued_in_error")
    db.commit()
    return first


def first_problem(db) -> str:
    db.rollback()
    problems = verify(db).problems
    assert problems, "the tampering went unnoticed"
    return problems[0]


def test_every_record_is_chained_and_the_chain_verifies(app, db, records):
    report = verify(db)
    assert report.problems == []
    counted = sum(
        db.scalar(select(func.count()).select_from(model)) for model in (Completion, AuditEvent)
    )
    certificates = db.scalar(select(func.count()).select_from(Certificate))
    assert report.entries == counted + certificates + 1  # + the one revocation
    seqs = db.scalars(select(LedgerEntry.seq).order_by(LedgerEntry.seq)).all()
    assert seqs == list(range(1, len(seqs) + 1))
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and result.output.startswith("INTACT: ")
    assert report.head in result.output


def test_a_changed_completion_is_named(app, db, records):
    completion = db.scalar(select(Completion).order_by(Completion.id))
    tamper(db, "completions", "UPDATE completions SET score = 100 WHERE id = :id", id=completion.id)
    problem = first_problem(db)
    assert problem.startswith(f"completions row {completion.id} was changed (ledger entry ")
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert result.output.startswith(f"BROKEN: completions row {completion.id} was changed")


def test_a_removed_audit_event_is_named(db, records):
    event = db.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()))
    tamper(db, "audit_events", "DELETE FROM audit_events WHERE id = :id", id=event.id)
    assert first_problem(db).startswith(f"audit_events row {event.id} was removed")


def test_an_audit_event_inserted_in_sql_is_named(db, records):
    tamper(
        db,
        "audit_events",
        "INSERT INTO audit_events (occurred_at, action, details) "
        "VALUES (CURRENT_TIMESTAMP, 'certificate.issued', '{}')",
    )
    inserted = db.scalar(select(func.max(AuditEvent.id)))
    assert first_problem(db) == f"audit_events row {inserted} was inserted outside the ledger"


def test_an_undone_revocation_and_a_changed_certificate_are_named(db, records):
    tamper(
        db,
        "certificates",
        "UPDATE certificates SET revoked_at = NULL, revoked_by_id = NULL, "
        "revocation_reason = NULL WHERE id = :id",
        id=records.id,
    )
    assert first_problem(db).startswith(
        f"certificates row {records.id} (its revocation) was removed"
    )


def test_a_removed_or_changed_ledger_entry_is_named(db, records):
    tamper(
        db,
        "ledger_entries",
        "UPDATE ledger_entries SET content_hash = :h WHERE seq = 3",
        h="f" * 64,
    )
    assert first_problem(db).startswith("ledger entry 3 (")
    assert "was changed" in first_problem(db)
    tamper(db, "ledger_entries", "DELETE FROM ledger_entries WHERE seq = 2")
    assert first_problem(db) == "ledger entry 2 was removed (the chain goes on at 3)"


def test_an_entry_inserted_into_the_chain_is_named(db, records):
    last = db.scalar(select(LedgerEntry).order_by(LedgerEntry.seq.desc()))
    tamper(
        db,
        "ledger_entries",
        "INSERT INTO ledger_entries (seq, kind, row_id, content_hash, prev_hash, entry_hash, "
        "recorded_at) VALUES (:seq, 'audit', 999999, :h, :p, :h, CURRENT_TIMESTAMP)",
        seq=last.seq + 1,
        h="a" * 64,
        p="b" * 64,
    )
    problem = first_problem(db)
    assert problem.startswith(f"ledger entry {last.seq + 1} (audit_events row 999999)")


def test_concurrent_writers_keep_one_unbroken_chain(app, db, records):
    """Threads with their own sessions append at once: one chain, no fork, no gap."""
    writers = 6
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(number: int) -> None:
        with app.extensions["candor.sessionmaker"]() as session:
            barrier.wait()
            try:
                for _ in range(3):
                    record(session, "test.concurrent", writer=number)
                    session.commit()
            except Exception as error:  # noqa: BLE001 (asserted below)
                errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    db.rollback()
    assert verify(db).problems == []
    chained = db.scalar(
        select(func.count())
        .select_from(LedgerEntry)
        .join(AuditEvent, AuditEvent.id == LedgerEntry.row_id)
        .where(LedgerEntry.kind == "audit", AuditEvent.action == "test.concurrent")
    )
    assert chained == writers * 3


def test_a_savepoint_appends_nothing_until_the_whole_transaction_commits(db, records):
    """Releasing a savepoint must not append (that would take the chain's lock mid-request);
    the commit chains what the savepoint wrote, and skips what a rolled-back one wrote."""
    entries = db.scalar(select(func.count()).select_from(LedgerEntry))
    with db.begin_nested():
        kept = record(db, "test.savepoint", outcome="kept")
    assert db.scalar(select(func.count()).select_from(LedgerEntry)) == entries
    with pytest.raises(RuntimeError), db.begin_nested():
        record(db, "test.savepoint", outcome="undone")
        db.flush()
        raise RuntimeError
    db.commit()
    chained = db.scalars(
        select(LedgerEntry.row_id).where(LedgerEntry.seq > entries).order_by(LedgerEntry.seq)
    ).all()
    assert chained == [kept.id]
    assert verify(db).problems == []


def test_a_commit_chains_what_it_wrote_without_reading_it_back(app, db, records):
    with statements_run(app) as seen:
        record(db, "test.first", step=1)
        record(db, "test.second", step=2)
        db.commit()
    assert not [s for s in seen if "FROM audit_events" in s]
    assert verify(db).problems == []


def test_past_the_rows_it_keeps_a_commit_reads_the_rest_back(app, db, records, monkeypatch):
    monkeypatch.setattr("app.audit.ledger._WRITTEN_MAX", 2)
    with statements_run(app) as seen:
        events = [record(db, "test.many", number=number) for number in range(5)]
        db.commit()
    read_back = [s for s in seen if "FROM audit_events" in s]
    assert len(read_back) == 1  # the three not kept, in one statement
    assert (
        db.scalar(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.kind == "audit", LedgerEntry.row_id.in_([e.id for e in events]))
        )
        == 5
    )
    assert verify(db).problems == []


def test_what_a_commit_chains_is_the_stored_row_whatever_the_session_holds(db, make_user, records):
    """Hashed from the session's copy where it is the row, read back where it may not be:
    JSON whose numbered keys and tuples come back otherwise, a dict changed in place after
    its flush (not saved), a row written twice, a certificate revoked, a savepoint undone."""
    hr = make_user(name="Rui Costa")
    db.commit()
    record(db, "test.shapes", numbered={2: "two", 10: "ten"}, pair=("a", 1), share=0.1)
    changed = record(db, "test.changed", step=1)
    db.flush()
    changed.details["step"] = 2  # in place: SQLAlchemy does not see it, so nothing is saved
    rewritten = record(db, "test.rewritten", step=1)
    db.flush()
    rewritten.details, rewritten.redacted_at = {"step": 3}, utcnow()  # as an erasure does
    valid = db.scalar(select(Certificate.id).where(Certificate.revoked_at.is_(None)))
    revoke_certificate(db, hr, valid, "holder_request")
    with pytest.raises(RuntimeError), db.begin_nested():
        record(db, "test.undone")
        db.flush()
        raise RuntimeError
    db.commit()
    assert db.scalar(select(AuditEvent.details).where(AuditEvent.id == changed.id)) == {"step": 1}
    assert verify(db).problems == []


def test_a_noted_head_proves_the_chain_up_to_it_was_not_rewritten(app, db, records):
    from app.audit.ledger import backfill, head_of

    runner = app.test_cli_runner()
    seq, noted = head_of(db)
    result = runner.invoke(args=["audit", "verify", "--head", noted])
    assert result.exit_code == 0, result.output
    assert f"The noted head is entry {seq}" in result.output
    assert f"Head of the chain: entry {seq}, {noted}" in result.output
    record(db, "later.event")  # the chain grows: the noted head stays in it
    db.commit()
    result = runner.invoke(args=["audit", "verify", "--head", f"{seq}:{noted}"])
    assert result.exit_code == 0 and f"entry {seq + 1}, " in result.output

    # Someone with the database's keys changes a score and rebuilds the whole chain: every
    # hash agrees again, so only the head noted before gives it away.
    completion = db.scalar(select(Completion).order_by(Completion.id))
    tamper(db, "completions", "UPDATE completions SET score = 100 WHERE id = :id", id=completion.id)
    tamper(db, "ledger_entries", "DELETE FROM ledger_entries")
    backfill(db)
    db.commit()
    assert verify(db).problems == []
    result = runner.invoke(args=["audit", "verify", "--head", noted])
    assert result.exit_code == 1
    assert f"BROKEN: the noted head {noted} is not in the chain" in result.output
    assert "Head of the chain now: entry " in result.output


def test_a_head_must_look_like_one(app, records):
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--head", "not-a-hash"])
    assert result.exit_code == 2 and "64 hexadecimal digits" in result.output
