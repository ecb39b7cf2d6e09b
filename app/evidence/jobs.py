"""Evidence packs as jobs: the HR page records the request (audited, with its scope) and a
worker builds the pack into the job's file, with progress. The scope and moment are fixed
when it is asked for, so a retried job builds the same pack. Callers own the transaction.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from typing import Final

from sqlalchemy.orm import Session

from app.audit.events import record
from app.evidence.packs import build_pack
from app.exports.completions import count_rows
from app.exports.csv import CHUNK_SIZE
from app.jobs.records import create_job
from app.jobs.runner import Attempt, Handler, Outcome
from app.models import Job, User
from app.training.filters import RecordFilter

KIND: Final = "evidence.zip"


def start_pack(session: Session, actor: User, record_filter: RecordFilter, now: datetime) -> Job:
    """Record the request for a scope's evidence pack as a job, audited before it is built."""
    rows = count_rows(session, record_filter, now)
    record(session, "evidence.requested", actor=actor, filter=record_filter.args(), rows=rows)
    params = {"filter": record_filter.args(), "at": now.isoformat()}
    return create_job(session, KIND, actor, params, total=rows)


def run_pack(session: Session, job: Job, attempt: Attempt) -> Outcome:
    """Build the pack a job asked for into the job's file."""
    record_filter = RecordFilter.from_args(job.params["filter"])
    at = datetime.fromisoformat(job.params["at"])
    with tempfile.TemporaryFile(prefix="candor-evidence-") as spool:
        build_pack(session, record_filter, at, spool, lambda rows: attempt.counting(rows, 50))
        spool.seek(0)
        while chunk := spool.read(CHUNK_SIZE):
            attempt.write(chunk)
    return Outcome(f"candor-evidence-{at:%Y%m%d-%H%M%S}.zip", "application/zip")


EVIDENCE_HANDLERS: Final[dict[str, Handler]] = {KIND: run_pack}
