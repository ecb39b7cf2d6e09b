"""The ``jobs`` record: create a job, find it for the person asking, recover jobs whose worker
died, expire old files, and read a finished file back. Callers own the transaction.

Rules:

- Only the person who started a job, and admins, see it or its file; anyone else gets the
  same 404 as for a job that does not exist.
- A file is offered only when its job is ``done``, and only the chunks written by the attempt
  that finished it: a half-written file, or one from an attempt that was given up, never is.
- An attempt that has not shown a sign of life for ``stale_after`` is taken as dead (its
  worker was killed): the job is queued again while attempts are left, else failed with a
  message saying so. A live but slow attempt that is given up on loses its claim and stops
  at its next progress report (``runner.Superseded``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.db import rowcount
from app.errors import NotFound
from app.models import Job, JobChunk, JobState, Role, User
from app.models.job import ERROR_MAX

DEAD_WORKER = (
    "The worker running this job stopped before it finished (attempt {attempt} of {limit}); "
    "nothing it wrote is offered. Start the job again."
)


def create_job(
    session: Session, kind: str, owner: User | None, params: dict[str, Any], total: int | None
) -> Job:
    """Record a queued job; hand its id to the queue once the transaction is committed."""
    job = Job(
        kind=kind,
        owner_id=owner.id if owner is not None else None,
        params=params,
        total=total,
        state=JobState.QUEUED,
    )
    session.add(job)
    session.flush()
    return job


def find_job_for(session: Session, user: User, job_id: int) -> Job:
    """The job, if ``user`` started it or is an admin; NotFound (404) otherwise."""
    job = session.get(Job, job_id)
    if job is None or (job.owner_id != user.id and not user.has_role(Role.ADMIN)):
        raise NotFound("There is no such job.")
    return job


def list_jobs_for(session: Session, user: User, limit: int = 20) -> list[Job]:
    """The newest jobs ``user`` started, newest first."""
    return list(
        session.scalars(
            select(Job).where(Job.owner_id == user.id).order_by(Job.id.desc()).limit(limit)
        )
    )


@dataclass(frozen=True)
class Recovery:
    """What ``recover_stale`` did: the jobs to queue again, and those given up."""

    requeued: tuple[int, ...]
    failed: tuple[int, ...]


def recover_stale(
    session: Session, now: datetime, stale_after: timedelta, max_attempts: int
) -> Recovery:
    """Queue again (or fail) the running jobs whose attempt shows no sign of life."""
    cutoff = now - stale_after
    requeued: list[int] = []
    failed: list[int] = []
    stale = session.execute(
        select(Job.id, Job.attempts).where(Job.state == JobState.RUNNING, Job.heartbeat_at < cutoff)
    ).all()
    for job_id, attempt in stale:
        guard = (Job.id == job_id, Job.state == JobState.RUNNING, Job.attempts == attempt)
        if attempt < max_attempts:
            values: dict[str, Any] = {"state": JobState.QUEUED, "done": 0}
            target = requeued
        else:
            message = DEAD_WORKER.format(attempt=attempt, limit=max_attempts)
            values = {"state": JobState.FAILED, "error": message[:ERROR_MAX], "finished_at": now}
            target = failed
        # Conditional: an attempt that reports progress in the meantime keeps its claim.
        if rowcount(session.execute(update(Job).where(*guard).values(**values))):
            session.execute(delete(JobChunk).where(JobChunk.job_id == job_id))
            target.append(job_id)
    # A queued job older than stale_after whose message was lost is handed out again; a
    # second message for a job is harmless (only one attempt can claim it).
    lost = session.scalars(
        select(Job.id).where(Job.state == JobState.QUEUED, Job.created_at < cutoff)
    ).all()
    requeued.extend(i for i in lost if i not in requeued)
    session.flush()
    return Recovery(tuple(requeued), tuple(failed))


def expire_results(session: Session, now: datetime) -> int:
    """Delete the files of jobs past their expiry; return how many jobs expired."""
    expired = session.scalars(
        select(Job.id).where(Job.state == JobState.DONE, Job.expires_at <= now)
    ).all()
    for job_id in expired:
        session.execute(delete(JobChunk).where(JobChunk.job_id == job_id))
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.DONE)
            .values(state=JobState.EXPIRED)
        )
    # Failed jobs keep their record but never their partial file.
    failed = select(Job.id).where(Job.state == JobState.FAILED)
    session.execute(delete(JobChunk).where(JobChunk.job_id.in_(failed)))
    session.flush()
    return len(expired)


def is_downloadable(job: Job, now: datetime) -> bool:
    """True when the job finished, made a file, and the file has not expired."""
    return (
        job.state is JobState.DONE
        and job.result_name is not None
        and (job.expires_at is None or job.expires_at > now)
    )


def result_chunks(session: Session, job: Job) -> Iterator[bytes]:
    """The finished file, chunk by chunk, one row in memory at a time."""
    if job.state is not JobState.DONE:
        raise ValueError("only a finished job's file can be read")
    seq = 0
    while True:
        data = session.scalar(
            select(JobChunk.data).where(
                JobChunk.job_id == job.id, JobChunk.attempt == job.attempts, JobChunk.seq == seq
            )
        )
        if data is None:
            return
        yield data
        seq += 1
