"""Exports as jobs: big exports are written by a worker, with progress, into the database.

``start_export`` records the job and the export's audit event (as a direct export does);
``run_export`` is the worker's side. The rows, their count and the file are all taken at the
moment the export was asked for (``at``), so a job run later, or retried, writes what was
asked for. Callers own the transaction.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import Final

from sqlalchemy.orm import Session

from app.exports.bundles import write_bundle
from app.exports.completions import (
    EXPORT_KINDS,
    completion_rows,
    completion_text_rows,
    count_rows,
    export_filename,
    record_export,
)
from app.exports.csv import CHUNK_SIZE, csv_stream
from app.exports.items import ITEM_COLUMNS, count_item_rows, item_rows
from app.exports.xlsx import check_fits, xlsx_stream
from app.jobs.records import create_job
from app.jobs.runner import Attempt, Handler, Outcome
from app.models import Job, User
from app.training.filters import RecordFilter

# Always jobs, whatever their size: they gather files, not rows.
ALWAYS_JOBS: Final = frozenset({"certificates.zip"})
MEDIA_TYPES: Final = {
    "zip": "application/zip",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def media_type(kind: str) -> str:
    """The media type of an export kind's file."""
    return MEDIA_TYPES[kind.rpartition(".")[2]]


def count_export(session: Session, kind: str, record_filter: RecordFilter, now: datetime) -> int:
    """How many rows export ``kind`` holds; TooManyRows (413) for an XLSX that cannot hold them."""
    if kind == "items.csv":
        return count_item_rows(session, record_filter)
    rows = count_rows(session, record_filter, now)
    if kind == "completions.xlsx":
        check_fits(rows)
    return rows


def start_export(
    session: Session,
    actor: User,
    kind: str,
    record_filter: RecordFilter,
    now: datetime,
    rows: int,
) -> Job:
    """Record export ``kind`` as a job for a worker, audited as a direct export is."""
    if kind not in EXPORT_KINDS:
        raise ValueError(f"unknown export kind {kind!r}")
    record_export(session, actor, kind, record_filter, rows)
    params = {"filter": record_filter.args(), "at": now.isoformat()}
    return create_job(session, kind, actor, params, total=rows)


def export_chunks(
    session: Session, kind: str, record_filter: RecordFilter, now: datetime, attempt=None
) -> Iterator[bytes]:
    """The bytes of export ``kind``, streamed; ``attempt`` (a job's) hears of every row."""
    if kind == "items.csv":
        items = item_rows(session, record_filter)
        return csv_stream(attempt.counting(items) if attempt else items, header=ITEM_COLUMNS)
    if kind == "completions.xlsx":
        rows = completion_rows(session, record_filter, now)
        return xlsx_stream(attempt.counting(rows) if attempt else rows)
    rows = completion_text_rows(session, record_filter, now)  # times written by the database
    return csv_stream(attempt.counting(rows) if attempt else rows)


def run_bundle(session: Session, job: Job, attempt: Attempt) -> Outcome:
    """Write the certificates a job asked for into the job's file, as one zip."""
    record_filter = RecordFilter.from_args(job.params["filter"])
    at = datetime.fromisoformat(job.params["at"])
    with tempfile.TemporaryFile(prefix="candor-bundle-") as spool:
        rows = attempt.counting(completion_rows(session, record_filter, at), every=50)
        write_bundle(session, record_filter, at, spool, rows)
        spool.seek(0)
        while chunk := spool.read(CHUNK_SIZE):
            attempt.write(chunk)
    return Outcome(export_filename(job.kind, at), media_type(job.kind))


def run_export(session: Session, job: Job, attempt: Attempt) -> Outcome:
    """Write the export a job asked for into the job's file."""
    record_filter = RecordFilter.from_args(job.params["filter"])
    at = datetime.fromisoformat(job.params["at"])
    for chunk in export_chunks(session, job.kind, record_filter, at, attempt):
        attempt.write(chunk)
    return Outcome(export_filename(job.kind, at), media_type(job.kind))


EXPORT_HANDLERS: Final[dict[str, Handler]] = {
    **dict.fromkeys(EXPORT_KINDS, run_export),
    "certificates.zip": run_bundle,
}
