"""One attempt of a job: the claim, progress, the file in chunks, and what happens to an
attempt that is given up on while it still runs (it stops, and nothing of it is served)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.errors import DomainError
from app.jobs import records, runner
from app.models import Job, JobChunk, JobState, Role

KEEP = timedelta(hours=1)


@pytest.fixture
def make_session(app):
    return app.extensions["candor.sessionmaker"]


@pytest.fixture
def job(db, make_user):
    owner = make_user(roles={Role.HR})
    made = records.create_job(db, "test.kind", owner, {"size": 5}, total=5)
    db.commit()
    return made


def writer(parts: list[bytes]):
    def handler(session, job, attempt):
        for done, part in enumerate(parts, start=1):
            attempt.write(part)
            attempt.progress(done, force=True)
        return runner.Outcome("out.bin", "application/octet-stream")

    return handler


def chunks(db, job_id):
    db.rollback()
    db.expire_all()
    return db.execute(
        select(JobChunk.attempt, JobChunk.seq, JobChunk.data)
        .where(JobChunk.job_id == job_id)
        .order_by(JobChunk.attempt, JobChunk.seq)
    ).all()


def test_a_job_runs_once_and_its_file_is_read_back_in_order(db, make_session, job):
    parts = [bytes([n]) * 700 for n in range(5)]
    handlers = {"test.kind": writer(parts)}
    state = runner.run_job(make_session, job.id, handlers, KEEP)
    assert state is JobState.DONE
    assert runner.run_job(make_session, job.id, handlers, KEEP) is None  # not queued: no rerun
    db.rollback()
    db.expire_all()
    done = db.get(Job, job.id)
    assert (done.state, done.attempts, done.done, done.result_size) == (JobState.DONE, 1, 5, 3500)
    assert b"".join(records.result_chunks(db, done)) == b"".join(parts)


def test_chunks_are_stored_a_megabyte_at_a_time(db, make_session, job):
    big = b"x" * (runner.CHUNK_BYTES * 2 + 10)
    runner.run_job(make_session, job.id, {"test.kind": writer([big])}, KEEP)
    assert [(a, s, len(d)) for a, s, d in chunks(db, job.id)] == [
        (1, 0, runner.CHUNK_BYTES),
        (1, 1, runner.CHUNK_BYTES),
        (1, 2, 10),
    ]


def test_a_refusal_fails_the_job_with_its_message_and_keeps_nothing(db, make_session, job):
    def refuse(session, job, attempt):
        attempt.write(b"x" * (runner.CHUNK_BYTES + 1))  # one chunk stored already
        raise DomainError("That filter names a course that does not exist.")

    assert runner.run_job(make_session, job.id, {"test.kind": refuse}, KEEP) is JobState.FAILED
    db.rollback()
    db.expire_all()
    failed = db.get(Job, job.id)
    assert failed.error == "That filter names a course that does not exist."
    assert not records.is_downloadable(failed, utcnow()) and chunks(db, job.id) == []


def test_an_unexpected_error_fails_the_job_with_a_generic_message(db, make_session, job, caplog):
    def crash(session, job, attempt):
        raise RuntimeError("secret detail")

    assert runner.run_job(make_session, job.id, {"test.kind": crash}, KEEP) is JobState.FAILED
    db.rollback()
    db.expire_all()
    failed = db.get(Job, job.id)
    assert "unexpected error" in failed.error and "secret" not in failed.error
    assert "secret detail" in caplog.text  # logged for the operator


def test_an_unknown_kind_fails_clearly(db, make_session, job):
    assert runner.run_job(make_session, job.id, {}, KEEP) is JobState.FAILED
    db.rollback()
    db.expire_all()
    assert "unknown" in db.get(Job, job.id).error


def test_an_attempt_given_up_on_stops_and_the_next_one_alone_is_served(db, make_session, job):
    """The first attempt stalls (as a worker paused or cut off would); recovery hands the
    job to a second attempt, which finishes; the first then finds it lost its claim."""
    first_attempt = {}

    def stalled(session, job, attempt):
        attempt.write(b"1" * (runner.CHUNK_BYTES + 5))  # stores a chunk of attempt 1
        # Meanwhile the job is taken as dead and run again to the end by attempt 2.
        with make_session() as other:
            recovery = records.recover_stale(other, utcnow() + timedelta(hours=1), KEEP, 3)
            other.commit()
        assert recovery.requeued == (job.id,)
        second = runner.run_job(make_session, job.id, {"test.kind": writer([b"2" * 10])}, KEEP)
        first_attempt["second"] = second
        attempt.write(b"1" * runner.CHUNK_BYTES)  # attempt 1 wakes up: Superseded
        first_attempt["reached"] = True
        return runner.Outcome("late.bin", "application/octet-stream")

    assert runner.run_job(make_session, job.id, {"test.kind": stalled}, KEEP) is None
    assert first_attempt == {"second": JobState.DONE}
    db.rollback()
    db.expire_all()
    done = db.get(Job, job.id)
    assert (done.state, done.attempts, done.result_name) == (JobState.DONE, 2, "out.bin")
    assert b"".join(records.result_chunks(db, done)) == b"2" * 10
    assert {a for a, _, _ in chunks(db, job.id)} == {2}


def test_a_dead_attempt_is_retried_then_failed_after_the_last_attempt(db, make_session, job):
    later = utcnow() + timedelta(hours=1)
    for attempt in (1, 2):
        with make_session() as session:
            assert runner.claim(session, job.id, utcnow()) == attempt
            session.commit()
        recovery = records.recover_stale(db, later, timedelta(minutes=2), max_attempts=2)
        db.commit()
        expected = (
            records.Recovery((job.id,), ()) if attempt == 1 else records.Recovery((), (job.id,))
        )
        assert recovery == expected
    db.expire_all()
    failed = db.get(Job, job.id)
    assert failed.state is JobState.FAILED
    assert "stopped before it finished (attempt 2 of 2)" in failed.error


def test_a_live_attempt_is_left_alone(db, make_session, job):
    with make_session() as session:
        runner.claim(session, job.id, utcnow())
        session.commit()
    recovery = records.recover_stale(db, utcnow(), timedelta(minutes=2), max_attempts=3)
    assert recovery == records.Recovery((), ())
