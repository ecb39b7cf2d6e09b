"""HR downloads: completion records as CSV or XLSX, answers item by item, holding the records
a ``RecordFilter`` admits, as the matrix lists them. Every export is audited (who, when,
filter, rows) and committed before the first byte is sent.

Exports are POSTs (with a CSRF token): writing the audit record is a change, and GET never
changes anything, so a link prefetched or planted elsewhere exports nothing.
"""

from __future__ import annotations

from flask import Response, request, stream_with_context
from flask_login import current_user

from app.db import get_session, utcnow
from app.exports.completions import completion_rows, count_rows, export_filename, record_export
from app.exports.csv import csv_stream
from app.exports.items import ITEM_COLUMNS, count_item_rows, item_rows
from app.exports.xlsx import check_fits, xlsx_stream
from app.hr.views import bp
from app.training.filters import RecordFilter

MEDIA_TYPES = {
    "csv": "text/csv",  # Werkzeug adds "; charset=utf-8" to text/* types
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _attachment(chunks, kind: str, now) -> Response:
    response = Response(stream_with_context(chunks), mimetype=MEDIA_TYPES[kind.split(".")[1]])
    response.headers["Content-Disposition"] = f'attachment; filename="{export_filename(kind, now)}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _filter() -> RecordFilter:
    # The matrix's filter keys (the forms on the matrix page post them); DomainError (400).
    return RecordFilter.from_args(request.form, other_keys=("csrf_token",))


@bp.post("/exports/completions.csv")
def export_csv():
    db, now = get_session(), utcnow()
    query = _filter()
    record_export(db, current_user, "completions.csv", query, count_rows(db, query, now))
    db.commit()  # audit first
    return _attachment(csv_stream(completion_rows(db, query, now)), "completions.csv", now)


@bp.post("/exports/completions.xlsx")
def export_xlsx():
    db, now = get_session(), utcnow()
    query = _filter()
    rows = count_rows(db, query, now)
    check_fits(rows)
    record_export(db, current_user, "completions.xlsx", query, rows)
    db.commit()
    return _attachment(xlsx_stream(completion_rows(db, query, now)), "completions.xlsx", now)


@bp.post("/exports/items.csv")
def export_items():
    db, now = get_session(), utcnow()
    query = _filter()
    record_export(db, current_user, "items.csv", query, count_item_rows(db, query))
    db.commit()
    return _attachment(csv_stream(item_rows(db, query), header=ITEM_COLUMNS), "items.csv", now)
