"""Evidence packs: everything an auditor asks for about a scope, in one zip they can check
themselves. Callers own the transaction; the job (``evidence.jobs``) and the command run it.

The scope is a ``RecordFilter`` (course, department, manager, completion dates, leavers)
taken at one moment. The pack holds:

- ``records.csv``: every person x course record in scope, as the completion export writes it;
- ``items.csv``: every answer of their submitted attempts, as the item export writes it
  (not when the scope filters on status: answers have none);
- ``certificates/<code>.pdf``: each certificate in scope, as issued (signed); for a holder
  since erased, ``certificates/<code>.erased.txt`` says so instead (the PDF named them);
- ``courses/<slug>/v<N>/...``: the exact source of every course version a completion in
  scope was earned on (``content.folders.version_files``: syncing it gives the same hash);
- ``audit.csv``: the audit events about those people, completions and certificates;
- ``ledger.json``: the ledger entries of those records and the chain's head, so each record
  can be found in the chain ``audit verify`` walks;
- ``manifest.json``: every file's SHA-256, the scope and the moment, signed with the
  certificate signing key (``manifest.sig``): ``evidence verify`` checks it offline with
  keys.json and names any file changed, added or missing (``evidence.checking``).

Nothing is extracted or trusted from the zip when it is checked: members are only read.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import IO, Final

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app.audit.events import record
from app.certificates.codes import grouped, normalise
from app.certificates.keyring import signing_key
from app.certificates.service import certificate_pdf, issuer_of
from app.content.folders import version_files
from app.exports.completions import COLUMNS, completion_rows
from app.exports.csv import csv_stream, iso_utc
from app.exports.items import ITEM_COLUMNS, item_rows
from app.models import AuditEvent, Certificate, Completion, CourseVersion, LedgerEntry, User
from app.training.filters import RecordFilter

FORMAT: Final = "candor-evidence/1"
MANIFEST: Final = "manifest.json"
SIGNATURE: Final = "manifest.sig"
AUDIT_COLUMNS: Final = (
    "id",
    "occurred_at",
    "actor_id",
    "action",
    "subject_type",
    "subject_id",
    "details",
)
# Every member gets this time, so a pack's bytes depend on its content only.
_ZIP_TIME: Final = (2026, 1, 1, 0, 0, 0)
_AT = {name: COLUMNS.index(name) for name in COLUMNS}


def build_pack(
    session: Session,
    record_filter: RecordFilter,
    now: datetime,
    target: IO[bytes],
    progress: Callable[[Iterator[tuple]], Iterator[tuple]] | None = None,
) -> dict:
    """Write the pack of ``record_filter``'s scope at ``now`` to ``target``; return its
    manifest. ``progress`` wraps the record rows (a job counts them)."""
    issuer = issuer_of(session)
    key = signing_key(session, issuer.signer)  # refuses a retired key, as issuing does
    hashes: dict[str, str] = {}
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as pack:

        def add(name: str, chunks: Iterable[bytes | str]) -> None:
            digest = hashlib.sha256()
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            with pack.open(info, "w") as member:
                for chunk in chunks:
                    data = chunk.encode("utf-8") if isinstance(chunk, str) else chunk
                    digest.update(data)
                    member.write(data)
            hashes[name] = digest.hexdigest()

        rows = completion_rows(session, record_filter, now)
        codes: list[str] = []
        emails: set[str] = set()

        def noting(stream: Iterator[tuple]) -> Iterator[tuple]:
            for row in stream:
                if row[_AT["certificate_code"]]:
                    codes.append(row[_AT["certificate_code"]])
                emails.add(row[_AT["email"]])
                yield row

        add("records.csv", csv_stream(noting(progress(rows) if progress else rows)))
        if record_filter.status is None:
            add("items.csv", csv_stream(item_rows(session, record_filter), header=ITEM_COLUMNS))
        certificates = _certificates(session, codes)
        for certificate in certificates:
            if certificate.erased_at is not None:
                add(
                    f"certificates/{grouped(certificate.code)}.erased.txt",
                    [_erased_note(certificate)],
                )
            else:
                pdf = certificate_pdf(session, certificate)
                add(f"certificates/{grouped(certificate.code)}.pdf", [pdf])
        for version in _versions(session, certificates):
            folder = f"courses/{version.course.slug}/v{version.number}"
            for path, data in sorted(version_files(session, version).items()):
                add(f"{folder}/{path}", [data])
        user_ids = (
            set(session.scalars(select(User.id).where(User.email.in_(emails)))) if emails else set()
        )
        events = _audit_events(session, user_ids, certificates)
        add("audit.csv", csv_stream(_audit_rows(events), header=AUDIT_COLUMNS))
        add("ledger.json", [json.dumps(_ledger(session, certificates, events), indent=2)])
        manifest = {
            "format": FORMAT,
            "created_at": iso_utc(now),
            "scope": record_filter.args(),
            "issuer": issuer.organisation,
            "key": key.kid,
            "files": dict(sorted(hashes.items())),
        }
        data = json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8")
        signature = {"alg": "EdDSA", "kid": key.kid, "value": issuer.signer.sign(data)}
        for name, body in ((MANIFEST, data), (SIGNATURE, json.dumps(signature).encode())):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            pack.writestr(info, body, compress_type=zipfile.ZIP_DEFLATED)
    return manifest


def _erased_note(certificate: Certificate) -> str:
    # The PDF named the holder, so it went with their erasure (privacy.erasure); what the
    # record still proves is in records.csv and the ledger (ledger.json, audit.csv).
    return (
        f"Certificate {grouped(certificate.code)}: its holder was erased on "
        f"{certificate.erased_at:%Y-%m-%d}, and its PDF with them. The record stays under their "
        "pseudonym (records.csv); the erasure's audit event (action person.erased, audit.csv) "
        "records the certificate's hash before and after, chained in the ledger.\n"
    )


def _certificates(session: Session, codes: list[str]) -> list[Certificate]:
    stored = [code for code in (normalise(c) for c in codes) if code]
    if not stored:
        return []
    return list(
        session.scalars(
            select(Certificate).where(Certificate.code.in_(stored)).order_by(Certificate.id)
        )
    )


def _versions(session: Session, certificates: list[Certificate]) -> list[CourseVersion]:
    ids = {c.completion_id for c in certificates}
    if not ids:
        return []
    return list(
        session.scalars(
            select(CourseVersion)
            .where(
                CourseVersion.id.in_(select(Completion.version_id).where(Completion.id.in_(ids)))
            )
            .order_by(CourseVersion.id)
        )
    )


def _audit_events(
    session: Session, user_ids: set[int], certificates: list[Certificate]
) -> list[AuditEvent]:
    subjects = [
        ("users", {str(i) for i in user_ids}),
        ("certificates", {str(c.id) for c in certificates}),
        ("completions", {str(c.completion_id) for c in certificates}),
    ]
    conditions = [
        and_(AuditEvent.subject_type == kind, AuditEvent.subject_id.in_(ids))
        for kind, ids in subjects
        if ids
    ]
    if user_ids:
        conditions.append(AuditEvent.actor_id.in_(user_ids))
    if not conditions:
        return []
    return list(session.scalars(select(AuditEvent).where(or_(*conditions)).order_by(AuditEvent.id)))


def _audit_rows(events: list[AuditEvent]) -> Iterator[tuple]:
    for event in events:
        yield (
            event.id,
            event.occurred_at,
            event.actor_id,
            event.action,
            event.subject_type,
            event.subject_id,
            json.dumps(event.details, sort_keys=True),
        )


def _ledger(session: Session, certificates: list[Certificate], events: list[AuditEvent]) -> dict:
    wanted = [
        ("completion", {c.completion_id for c in certificates}),
        ("certificate.issued", {c.id for c in certificates}),
        ("certificate.revoked", {c.id for c in certificates if c.revoked_at is not None}),
        ("audit", {e.id for e in events}),
    ]
    conditions = [
        and_(LedgerEntry.kind == kind, LedgerEntry.row_id.in_(ids)) for kind, ids in wanted if ids
    ]
    entries: list[LedgerEntry] = (
        list(session.scalars(select(LedgerEntry).where(or_(*conditions)).order_by(LedgerEntry.seq)))
        if conditions
        else []
    )
    head = session.execute(
        select(LedgerEntry.seq, LedgerEntry.entry_hash).order_by(LedgerEntry.seq.desc()).limit(1)
    ).first()
    return {
        "head": {"seq": head.seq, "hash": head.entry_hash} if head else None,
        "entries": [
            {
                "seq": e.seq,
                "kind": e.kind,
                "row_id": e.row_id,
                "content_hash": e.content_hash,
                "prev_hash": e.prev_hash,
                "entry_hash": e.entry_hash,
            }
            for e in entries
        ],
    }


def record_pack(
    session: Session, actor: User | None, record_filter: RecordFilter, manifest: dict
) -> None:
    """Audit a pack: who made it, for which scope, how many files, its manifest's hash."""
    digest = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()
    record(
        session,
        "evidence.packed",
        actor=actor,
        filter=record_filter.args(),
        files=len(manifest["files"]),
        manifest_sha256=digest,
    )
