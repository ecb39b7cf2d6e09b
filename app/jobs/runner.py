"""One attempt of a job, in a worker: claim it, run its kind's handler, store its file, finish.

The runner is a commit point of its own, like a CLI command: it commits the claim, then each
chunk of the file with the progress so far (so memory stays flat and the progress page moves),
then the end. It reads through one session (the handler's, which may hold a long streamed
query) and writes through another. Every write is conditional on this attempt still holding
the job (``state = running`` and ``attempts`` = its number): an attempt that was given up on
(``records.recover_stale``) stops at its next write with ``Superseded``, and its chunks are
never served.

A handler raising ``DomainError`` fails the job with that message (bad input does not get
better by retrying); any other exception fails it with a generic message and is logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from app.db import rowcount, utcnow
from app.errors import DomainError
from app.fields import one_line
from app.models import Job, JobChunk, JobState
from app.models.job import ERROR_MAX

log = logging.getLogger(__name__)
T = TypeVar("T")

CHUNK_BYTES = 1024 * 1024  # one job_chunks row
PROGRESS_EVERY = 0.5  # seconds between progress commits when no chunk is written
UNEXPECTED = "An unexpected error stopped this job (logged as job {job_id}). Start it again."


class Superseded(Exception):
    """This attempt no longer holds its job (it was taken as dead and given up on)."""


@dataclass(frozen=True)
class Outcome:
    """What a finished job made: a file name and media type, or nothing to download."""

    name: str | None = None
    media_type: str | None = None


class Handler(Protocol):
    def __call__(self, session: Session, job: Job, attempt: Attempt) -> Outcome: ...


class Attempt:
    """The handle a handler writes through: ``write`` bytes, report ``progress``."""

    def __init__(
        self,
        make_session: sessionmaker[Session],
        job_id: int,
        number: int,
        clock: Callable[[], datetime] = utcnow,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        self.job_id, self.number = job_id, number
        self._session = make_session()
        self._clock = clock
        self._chunk_bytes = chunk_bytes
        self._buffer = bytearray()
        self._seq = 0
        self._size = 0
        self._done = 0
        self._total: int | None = None
        self._reported = 0.0

    def __enter__(self) -> Attempt:
        return self

    def __exit__(self, *exc: object) -> None:
        self._session.rollback()
        self._session.close()

    def _holds_job(self):
        return (Job.id == self.job_id, Job.state == JobState.RUNNING, Job.attempts == self.number)

    def _beat(self, **values: object) -> None:
        result = self._session.execute(
            update(Job)
            .where(*self._holds_job())
            .values(heartbeat_at=self._clock(), done=self._done, **values)
        )
        if not rowcount(result):
            self._session.rollback()
            raise Superseded(f"job {self.job_id} attempt {self.number}")

    def progress(self, done: int, total: int | None = None, force: bool = False) -> None:
        """Record that ``done`` units (of ``total``) are done; committed at most twice a second."""
        self._done = done
        if total is not None:
            self._total = total
        now = time.monotonic()
        if force or now - self._reported >= PROGRESS_EVERY:
            extra = {"total": self._total} if self._total is not None else {}
            self._beat(**extra)
            self._session.commit()
            self._reported = now

    def counting(self, items: Iterable[T], every: int = 500) -> Iterator[T]:
        """Pass ``items`` through, reporting progress every ``every`` items."""
        done = 0
        for done, item in enumerate(items, start=1):
            if done % every == 0:
                self.progress(done)
            yield item
        self.progress(done, force=True)

    def write(self, data: bytes) -> None:
        """Append ``data`` to the job's file; stored a chunk at a time."""
        self._buffer += data
        while len(self._buffer) >= self._chunk_bytes:
            self._store(bytes(self._buffer[: self._chunk_bytes]))
            del self._buffer[: self._chunk_bytes]

    def _store(self, data: bytes) -> None:
        self._beat()  # first: a superseded attempt writes nothing more
        self._session.add(
            JobChunk(job_id=self.job_id, attempt=self.number, seq=self._seq, data=data)
        )
        self._session.commit()
        self._seq += 1
        self._size += len(data)

    def finish(self, outcome: Outcome, keep_for: timedelta) -> None:
        """Store what is left of the file and mark the job done; its file expires later."""
        if self._buffer or (outcome.name is not None and self._seq == 0):
            self._store(bytes(self._buffer))
            self._buffer.clear()
        now = self._clock()
        self._beat(
            state=JobState.DONE,
            finished_at=now,
            expires_at=now + keep_for if outcome.name is not None else None,
            result_name=outcome.name,
            result_type=outcome.media_type,
            result_size=self._size if outcome.name is not None else None,
            error=None,
        )
        # Chunks of attempts given up on are of no use to anyone.
        self._session.execute(
            delete(JobChunk).where(JobChunk.job_id == self.job_id, JobChunk.attempt != self.number)
        )
        self._session.commit()

    def fail(self, message: str) -> None:
        """Mark the job failed with ``message``; nothing this attempt wrote is kept."""
        self._session.rollback()
        self._beat(state=JobState.FAILED, finished_at=self._clock(), error=message[:ERROR_MAX])
        self._session.execute(delete(JobChunk).where(JobChunk.job_id == self.job_id))
        self._session.commit()


def claim(session: Session, job_id: int, now: datetime) -> int | None:
    """Take a queued job for a new attempt; its number, or None if it is not queued."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.QUEUED)
        .values(
            state=JobState.RUNNING,
            attempts=Job.attempts + 1,
            started_at=now,
            heartbeat_at=now,
            done=0,
        )
    )
    if not rowcount(result):
        return None
    session.flush()
    return session.get(Job, job_id, populate_existing=True).attempts  # type: ignore[union-attr]


def run_job(
    make_session: sessionmaker[Session],
    job_id: int,
    handlers: Mapping[str, Handler],
    keep_for: timedelta,
    clock: Callable[[], datetime] = utcnow,
) -> JobState | None:
    """Run one attempt of job ``job_id``; its final state, or None if it was not ours to run."""
    with make_session() as session:
        number = claim(session, job_id, clock())
        session.commit()
    if number is None:
        return None
    with make_session() as reader, Attempt(make_session, job_id, number, clock) as attempt:
        job = reader.get(Job, job_id)
        if job is None:  # claimed a moment ago; jobs are never deleted while running
            return None
        handler = handlers.get(job.kind)
        try:
            if handler is None:
                raise DomainError(f"This kind of job ({one_line(job.kind, 40)}) is unknown.")
            outcome = handler(reader, job, attempt)
            reader.rollback()  # ends the handler's read (and its server-side cursor)
            attempt.finish(outcome, keep_for)
        except Superseded:
            log.warning("job %s attempt %s was given up on; it stopped", job_id, number)
            return None
        except DomainError as error:
            reader.rollback()
            attempt.fail(error.message)
            return JobState.FAILED
        except Exception:
            log.exception("job %s (%s) attempt %s failed", job_id, job.kind, number)
            reader.rollback()
            attempt.fail(UNEXPECTED.format(job_id=job_id))
            return JobState.FAILED
    return JobState.DONE
