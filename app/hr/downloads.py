"""HR downloads: completion records as CSV or XLSX, answers item by item, holding the records
a ``RecordFilter`` admits, as the matrix lists them. Every export is audited (who, when,
filter, rows) and committed before the first byte is sent.

Exports are POSTs (with a CSRF token): writing the audit record is a change, and GET never
changes anything, so a link prefetched or planted elsewhere exports nothing.

Up to ``JOBS_DIRECT_EXPORT_MAX_ROWS`` rows an export streams in the response; above that it
becomes a job (``app/exports/jobs.py``): the request only records it and redirects to its
progress page (``job_pages``), so no request waits on a big export.
"""

from __future__ import annotations

from flask import Response, current_app, redirect, request, stream_with_context, url_for
from flask_login import current_user

from app.db import get_session, utcnow
from app.exports.completions import export_filename, record_export
from app.exports.jobs import ALWAYS_JOBS, count_export, export_chunks, media_type, start_export
from app.headers import attachment
from app.hr.views import bp
from app.tasks import get_queue
from app.training.filters import RecordFilter


def _attachment(chunks, kind: str, now) -> Response:
    # content_type, not mimetype: Werkzeug would add a second charset to text/csv.
    response = Response(stream_with_context(chunks), content_type=media_type(kind))
    return attachment(response, export_filename(kind, now))


def _filter() -> RecordFilter:
    # The matrix's filter keys (the forms on the matrix page post them); DomainError (400).
    return RecordFilter.from_args(request.form, other_keys=("csrf_token",))


def _export(kind: str):
    db, now = get_session(), utcnow()
    query = _filter()
    rows = count_export(db, kind, query, now)
    if kind in ALWAYS_JOBS or rows > int(current_app.config["JOBS_DIRECT_EXPORT_MAX_ROWS"]):
        job = start_export(db, current_user, kind, query, now, rows)
        db.commit()
        get_queue().enqueue_job(job.id)
        return redirect(url_for("hr.job", job_id=job.id), code=303)
    record_export(db, current_user, kind, query, rows)
    db.commit()  # audit first
    return _attachment(export_chunks(db, kind, query, now), kind, now)


@bp.post("/exports/completions.csv")
def export_csv():
    return _export("completions.csv")


@bp.post("/exports/completions.xlsx")
def export_xlsx():
    return _export("completions.xlsx")


@bp.post("/exports/items.csv")
def export_items():
    return _export("items.csv")


@bp.post("/exports/certificates.zip")
def export_certificates():
    return _export("certificates.zip")


@bp.post("/exports/evidence.zip")
def export_evidence():
    """An evidence pack of these records: always a job (it gathers files, sources, the audit
    extract and a signed manifest)."""
    from app.evidence.jobs import start_pack

    db = get_session()
    job = start_pack(db, current_user, _filter(), utcnow())
    db.commit()
    get_queue().enqueue_job(job.id)
    return redirect(url_for("hr.job", job_id=job.id), code=303)
