"""Bulk certificates: the certificate PDFs of the records a ``RecordFilter`` admits, in one
zip, with a manifest. Always a job (``exports/jobs.py``): the request only records it.

Contract:

- One PDF per record that holds a certificate (its current cycle's, as the completion export
  lists it), stored as issued (signed; revoked ones too, as the manifest says), named
  ``<grouped code>.pdf``: no personal data and nothing path-like in a member's name.
- ``manifest.csv`` last (formula-safe, as every CSV export): code, who, course, version,
  completed, expires, revoked, file.
- Memory stays flat: the zip is written to an anonymous temporary file (PDFs are already
  compressed, so members are stored), one PDF read at a time; the caller copies the file
  into the job's chunks. Callers own the transaction.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Final

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from app.certificates.codes import normalise
from app.certificates.service import certificate_pdf
from app.exports.completions import COLUMNS, completion_rows
from app.exports.csv import CHUNK_SIZE, csv_stream
from app.models import Certificate
from app.training.filters import RecordFilter

MANIFEST: Final = (
    "certificate_code",
    "employee_id",
    "name",
    "email",
    "course",
    "course_version",
    "completed_at",
    "expires_at",
    "revoked_at",
    "file",
)
_AT = {name: COLUMNS.index(name) for name in COLUMNS}


def write_bundle(
    session: Session, record_filter: RecordFilter, now: datetime, target: IO[bytes], rows=None
) -> int:
    """Write the zip of the filter's certificates to ``target``; return how many it holds.
    ``rows``, if given, replaces the completion rows (a job passes them through its progress)."""
    rows = completion_rows(session, record_filter, now) if rows is None else rows
    count = 0
    with (
        zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as bundle,
        tempfile.TemporaryFile(prefix="candor-manifest-") as manifest,
    ):

        def entries() -> Iterator[tuple]:
            nonlocal count
            for row in rows:
                code = row[_AT["certificate_code"]]
                if code is None:
                    continue
                found = session.scalar(
                    select(Certificate)
                    .options(undefer(Certificate.pdf))
                    .where(Certificate.code == normalise(code), Certificate.erased_at.is_(None))
                )
                if found is None:  # none, or its holder was erased and its PDF with them
                    continue
                name = f"{code}.pdf"
                # The kept PDF, or (its job not run yet) rendered now and kept.
                bundle.writestr(name, certificate_pdf(session, found))
                session.expunge(found)  # one at a time: the PDFs are not kept in memory
                count += 1
                yield (
                    code,
                    row[_AT["employee_id"]],
                    row[_AT["name"]],
                    row[_AT["email"]],
                    row[_AT["course"]],
                    row[_AT["course_version"]],
                    row[_AT["completed_at"]],
                    row[_AT["expires_at"]],
                    found.revoked_at,
                    name,
                )

        for chunk in csv_stream(entries(), header=MANIFEST):
            manifest.write(chunk)
        manifest.seek(0)
        with bundle.open("manifest.csv", "w") as member:
            shutil.copyfileobj(manifest, member, CHUNK_SIZE)
    return count
