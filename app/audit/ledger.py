"""The hash chain over the records an auditor relies on: completions, certificates (issued,
revoked) and audit events.

Every ORM session in the process chains what it wrote: rows added through the session are
noted as they are flushed (``_note_flushed``, which keeps their chained columns as written
when its copy is exactly the row, so that they are not read back; rows inserted with Core are
noted by their writer with :func:`note`), and just before the transaction commits they are
appended to the chain in the order written (``_append_noted``). Appending last keeps the
chain's lock, the one place every writer waits in turn, held for the shortest time and taken
after every other lock, so it cannot deadlock with them. Appends are serialised: on
PostgreSQL by a transaction-scoped advisory lock; on SQLite the transaction already holds the
database's one write lock (it wrote the rows). ``prev_hash`` is unique, so even a bypassed
lock could not fork the chain: the second writer fails.

:func:`verify` walks the chain and names the first row that was changed, removed or
inserted, and the first entry that was. What a row's hash covers is ``CHAINED`` below: the
columns that never change (a certificate's revocation is an entry of its own; its PDF is
checked by its own signature).

One change is lawful: an erasure (``privacy.erasure``) replaces a person's name in the rows
that state it. Its audit event (action ``REWRITES``), chained after those rows, lists each
row it rewrote with the row's hash before and after (:func:`rewrite`). The walk accepts a
row whose hash differs from its entry's only when chained erasures after that entry turned
exactly the entry's hash into exactly the row's hash now; any other change, and any change
made after the erasure, is still named.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Insert,
    RowMapping,
    Select,
    TypeDecorator,
    and_,
    event,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy.orm import Mapper, Session, SessionTransaction

from app.db import utcnow
from app.models import AuditEvent, Certificate, Completion, LedgerEntry

GENESIS = "0" * 64
_LOCK_KEY = 0x43414E444F52  # "CANDOR": the advisory lock of the chain on PostgreSQL
_NOTED = "candor.ledger.noted"
_WRITTEN = "candor.ledger.written"  # (kind, id) -> (the object, its chained columns)
# Rows kept as written per transaction; past this, the rest are read back at commit (in
# batches), so a transaction that writes a great many keeps no more than this in memory.
_WRITTEN_MAX = 1000


@dataclass(frozen=True)
class Chained:
    """One kind of chained record: which table, which columns its hash covers, and (for a
    revocation) which rows of the table are of this kind."""

    kind: str
    table: Any  # the model's Table
    columns: tuple[str, ...]
    time_column: str
    only_when: str | None = None  # a column that must be set for the row to be of this kind


# The columns each hash covers are spelled out, not read from the models: they are the
# ledger's contract (a column added later is not covered until the chain's format says so),
# and migration 0018 selects exactly these whatever columns the tables gain afterwards.
CHAINED = (
    Chained(
        "completion",
        Completion.__table__,
        (
            "id",
            "user_id",
            "course_id",
            "version_id",
            "enrollment_id",
            "cycle",
            "attempt_id",
            "completed_at",
            "score",
        ),
        "completed_at",
    ),
    Chained(
        "certificate.issued",
        Certificate.__table__,
        (
            "id",
            "code",
            "completion_id",
            "user_id",
            "facts",
            "signature",
            "key_id",
            "issued_at",
            "expires_at",
        ),
        "issued_at",
    ),
    Chained(
        "certificate.revoked",
        Certificate.__table__,
        ("id", "revoked_at", "revoked_by_id", "revocation_reason", "revocation_note"),
        "revoked_at",
        only_when="revoked_at",
    ),
    Chained(
        "audit",
        AuditEvent.__table__,
        ("id", "occurred_at", "actor_id", "action", "subject_type", "subject_id", "details"),
        "occurred_at",
    ),
)
KINDS = {chained.kind: chained for chained in CHAINED}
# The audit action whose details' "rewrote" list explains rows an erasure changed.
REWRITES = "person.erased"


# -- hashing ------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, bytes | memoryview):
        return hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, Enum):
        return value.value
    return value


def content_hash(kind: str, row: Mapping[str, Any] | RowMapping) -> str:
    """The SHA-256 of a row's chained columns, as canonical JSON."""
    content = {column: _plain(row[column]) for column in KINDS[kind].columns}
    data = json.dumps(
        [kind, content], sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def entry_hash(seq: int, kind: str, row_id: int, content: str, prev: str) -> str:
    """An entry's own hash: over its place, what it names, its row's hash and the one before."""
    return hashlib.sha256(f"{seq}|{kind}|{row_id}|{content}|{prev}".encode()).hexdigest()


# -- appending ----------------------------------------------------------------------------


def note(session: Session, kind: str, row_ids: Iterable[int]) -> None:
    """Have rows written with Core (not added to the session) chained at commit."""
    session.info.setdefault(_NOTED, []).extend((kind, int(row_id)) for row_id in row_ids)


# The kinds of record each model's rows are chained as; the first, when a row is inserted.
_ALL_KINDS = {
    Completion: ("completion",),
    Certificate: ("certificate.issued", "certificate.revoked"),
    AuditEvent: ("audit",),
}
_NEW_KINDS = {model: kinds[0] for model, kinds in _ALL_KINDS.items()}


def _note_flushed(session: Session, _context: Any) -> None:
    # After the flush, before its objects count as saved: each holds what was just written.
    noted = session.info.setdefault(_NOTED, [])
    written = session.info.setdefault(_WRITTEN, {})

    def chain(kind: str, obj: Any) -> None:
        noted.append((kind, obj.id))
        if len(written) < _WRITTEN_MAX:
            written[(kind, obj.id)] = (obj, _as_written(obj, KINDS[kind]))

    for obj in session.dirty:  # written again: the earlier copy may not be the row any more
        for kind in _ALL_KINDS.get(type(obj), ()):
            written.pop((kind, obj.id), None)
    for obj in session.new:
        if (new_kind := _NEW_KINDS.get(type(obj))) is not None:
            chain(new_kind, obj)
    for obj in session.dirty:
        if isinstance(obj, Certificate) and obj.revoked_at is not None:
            if inspect(obj).attrs.revoked_at.history.has_changes():
                chain("certificate.revoked", obj)


def _append_noted(session: Session) -> None:
    # SQLAlchemy calls before_commit for a savepoint's release too: appending then would take
    # the chain's lock in the middle of the request. What a savepoint wrote stays noted (or is
    # skipped by ``append`` if it rolled back) until the whole transaction commits. Savepoints
    # are closed before that commit (every ``begin_nested`` here is a ``with`` block).
    if session.in_nested_transaction():
        return
    session.flush()  # what is still pending (audit events, say) is noted too
    noted = session.info.pop(_NOTED, None)
    if not noted:
        return
    append(session, noted, session.info.pop(_WRITTEN, {}))


def _forget_noted(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the whole transaction ended: committed or rolled back
        session.info.pop(_NOTED, None)
        session.info.pop(_WRITTEN, None)


def head_of(session: Session) -> tuple[int, str]:
    """The chain's last entry now: (seq, entry hash), (0, GENESIS) when it is empty. Noted by
    an auditor, it is checked later with ``audit verify --head``."""
    return _head(session)


@functools.cache
def _head_query() -> Select:
    return select(LedgerEntry.seq, LedgerEntry.entry_hash).order_by(LedgerEntry.seq.desc()).limit(1)


@functools.cache
def _lock_statement() -> Select:
    return select(func.pg_advisory_xact_lock(_LOCK_KEY))


@functools.cache
def _insert_entries() -> Insert:
    return insert(LedgerEntry)


def _head(session: Session) -> tuple[int, str]:
    last = session.execute(_head_query()).first()
    return (last.seq, last.entry_hash) if last is not None else (0, GENESIS)


def append(
    session: Session,
    records: Iterable[tuple[str, int]],
    written: Mapping[tuple[str, int], tuple[object, Mapping[str, Any] | None]] | None = None,
) -> int:
    """Chain the given (kind, row id) records, in that order; rows that are not there (rolled
    back with a savepoint) are skipped. ``written``: for some of them, the object the session
    wrote and its chained columns as written (``_as_written``), so those are not read
    back while the object is still the session's. Returns how many entries were added."""
    records = list(dict.fromkeys(records))  # a row flushed twice is chained once
    if not records:
        return 0
    # The rows are known or read first (one statement per kind), so the lock below (which
    # every commit that chains something waits on) is held only for the head and the entries.
    rows: dict[tuple[str, int], Mapping[Any, Any]] = {}
    for record in records:
        obj, row = (written or {}).get(record, (None, None))
        # Still the session's: not undone by a savepoint's rollback.
        if row is not None and inspect(obj).persistent:
            rows[record] = row
    rows |= _rows(session, [record for record in records if record not in rows])
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_lock_statement())  # statements built once: every commit runs them
    seq, prev = _head(session)
    entries = []
    for kind, row_id in records:
        row = rows.get((kind, row_id))
        if row is None:
            continue
        seq += 1
        content = content_hash(kind, row)
        own = entry_hash(seq, kind, row_id, content, prev)
        entries.append(
            {
                "seq": seq,
                "kind": kind,
                "row_id": row_id,
                "content_hash": content,
                "prev_hash": prev,
                "entry_hash": own,
                "recorded_at": utcnow(),
            }
        )
        prev = own
    if entries:  # one statement for them all (executemany), not one INSERT ... RETURNING each
        session.execute(_insert_entries(), entries)
    return len(entries)


def _as_written(obj: object, chained: Chained) -> dict[str, Any] | None:
    """(Called as the object's flush ends.) Its chained columns as reading the row back would
    give them; None when its copy may differ from the row: a value not loaded or to be read
    back (a server default), or not of its column's type (the database would convert it).
    JSON goes through JSON, as it does on its way to the database and back (which also keeps
    the copy from changes made to the object afterwards)."""
    state = inspect(obj)
    row: dict[str, Any] = {}
    for name, key, python_type, is_json in _attributes(chained):
        if key not in state.dict or key in state.expired_attributes:
            return None
        value = state.dict[key]
        if value is not None and (
            not isinstance(value, python_type)
            or isinstance(value, bool) is not (python_type is bool)
        ):
            return None
        row[name] = json.loads(json.dumps(value)) if is_json else value
    return row


@functools.cache
def _attributes(chained: Chained) -> tuple[tuple[str, str, type, bool], ...]:
    """(column, attribute key, Python type, whether JSON) of each chained column."""
    mapper = _MAPPERS[chained.table.name]
    found: list[tuple[str, str, type, bool]] = []
    for name in chained.columns:
        column = chained.table.c[name]
        kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
        found.append(
            (
                name,
                mapper.get_property_by_column(column).key,
                cast(type, kind.python_type),
                isinstance(kind, JSON),
            )
        )
    return tuple(found)


_MAPPERS: dict[str, Mapper[Any]] = {
    model.__tablename__: inspect(model) for model in (Completion, Certificate, AuditEvent)
}
_READ_BATCH = 500


def _rows(session: Session, records: list[tuple[str, int]]) -> dict[tuple[str, int], RowMapping]:
    """The chained columns of each record's row, by (kind, id); rows not there are left out."""
    ids: dict[str, list[int]] = {}
    for kind, row_id in records:
        ids.setdefault(kind, []).append(row_id)
    found: dict[tuple[str, int], RowMapping] = {}
    for kind, kind_ids in ids.items():
        chained = KINDS[kind]
        id_column = chained.table.c.id
        for start in range(0, len(kind_ids), _READ_BATCH):
            batch = kind_ids[start : start + _READ_BATCH]
            query = _select(chained).add_columns(id_column.label("_ledger_id"))
            for row in session.execute(query.where(id_column.in_(batch))).mappings():
                found[(kind, row["_ledger_id"])] = row
    return found


def _select(chained: Chained):
    return select(*(chained.table.c[column] for column in chained.columns))


def current_hash(session: Session, kind: str, row_id: int) -> str | None:
    """The hash of a chained row as it is now (None when it is not there)."""
    row = _rows(session, [(kind, row_id)]).get((kind, row_id))
    return content_hash(kind, row) if row is not None else None


def rewrite(session: Session, kind: str, row_id: int, before: str) -> dict[str, Any]:
    """One item of an erasure's ``rewrote`` list: the row's hash ``before`` the erasure
    changed it (flushed) and after."""
    return {
        "kind": kind,
        "row_id": row_id,
        "before": before,
        "after": current_hash(session, kind, row_id),
    }


def backfill(session: Session) -> int:
    """Chain every record not chained yet, oldest first (the migration that starts the ledger
    uses it on the rows written before)."""
    chained = {
        (e.kind, e.row_id) for e in session.execute(select(LedgerEntry.kind, LedgerEntry.row_id))
    }
    waiting: list[tuple[datetime, int, str, int]] = []
    for order, kind in enumerate(KINDS.values()):
        table = kind.table
        query = select(table.c.id, table.c[kind.time_column])
        if kind.only_when:
            query = query.where(table.c[kind.only_when].is_not(None))
        for row_id, moment in session.execute(query):
            if (kind.kind, row_id) not in chained:
                waiting.append((moment, order, kind.kind, row_id))
    waiting.sort()
    return append(session, [(kind, row_id) for _, _, kind, row_id in waiting])


def install() -> None:
    """Chain what every ORM session writes (once per process)."""
    if not event.contains(Session, "before_commit", _append_noted):
        event.listen(Session, "after_flush", _note_flushed)
        event.listen(Session, "before_commit", _append_noted)
        event.listen(Session, "after_transaction_end", _forget_noted)


# -- verifying ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    entries: int
    head: str
    problems: list[str]
    head_seq: int = 0
    rewritten: int = 0  # rows changed by an erasure, each explained by its chained record
    anchor_seq: int | None = None  # where the noted head was found, if one was given


def verify(session: Session, limit: int = 20, head: str | None = None) -> Report:
    """Walk the chain: every entry in place and unchanged, every row it names there and
    unchanged (or rewritten by a chained erasure after it), every record chained. With
    ``head``, an entry hash noted earlier: that entry must still be in the chain, so the chain
    up to it is the one that was noted (a rewrite or truncation of the whole chain after it
    was noted is named). Problems in chain order, the first first."""
    problems: list[str] = []
    seen: set[tuple[str, int]] = set()
    rows = {kind: _hashes(session, chained) for kind, chained in KINDS.items()}
    rewrites = _rewrites(session)
    expected_seq, prev, count, rewritten, last_seq = 1, GENESIS, 0, 0, 0
    anchor: int | None = None
    for entry in _entries(session):
        count += 1
        where = f"ledger entry {entry.seq} ({_name(entry.kind, entry.row_id)})"
        if entry.seq != expected_seq:
            problems.append(
                f"ledger entry {expected_seq} was removed (the chain goes on at {entry.seq})"
                if entry.seq > expected_seq
                else f"{where} is out of place: entries were inserted or renumbered"
            )
        elif entry.prev_hash != prev:
            problems.append(
                f"{where} does not follow the entry before it: an entry was removed, "
                "inserted or changed before it"
            )
        elif entry.entry_hash != entry_hash(
            entry.seq, entry.kind, entry.row_id, entry.content_hash, entry.prev_hash
        ):
            problems.append(f"{where} was changed")
        current = rows.get(entry.kind, {}).get(entry.row_id)
        if entry.kind not in KINDS:
            problems.append(f"{where} names no kind of record Candor chains: it was inserted")
        elif current is None:
            problems.append(f"{_name(entry.kind, entry.row_id)} was removed ({where})")
        elif current != entry.content_hash:
            if _explained(rewrites.get((entry.kind, entry.row_id), []), entry, current):
                rewritten += 1
            else:
                problems.append(f"{_name(entry.kind, entry.row_id)} was changed ({where})")
        if head is not None and entry.entry_hash == head and anchor is None:
            anchor = entry.seq
        seen.add((entry.kind, entry.row_id))
        expected_seq, prev, last_seq = entry.seq + 1, entry.entry_hash, entry.seq
    for kind, hashes in rows.items():
        for row_id in sorted(set(hashes) - {r for k, r in seen if k == kind}):
            problems.append(f"{_name(kind, row_id)} was inserted outside the ledger")
    if head is not None and anchor is None:
        problems.append(
            f"the noted head {head} is not in the chain: the chain was rewritten or cut "
            "back after it was noted"
        )
    return Report(count, prev, problems[:limit] if limit else problems, last_seq, rewritten, anchor)


def _rewrites(session: Session) -> dict[tuple[str, int], list[tuple[int, str, str]]]:
    """What chained erasures say they rewrote: (kind, row id) -> [(seq of the erasure's
    entry, hash before, hash after)]. An erasure's own event is checked like any row."""
    found: dict[tuple[str, int], list[tuple[int, str, str]]] = {}
    query = (
        select(LedgerEntry.seq, AuditEvent.details)
        .join(LedgerEntry, and_(LedgerEntry.kind == "audit", LedgerEntry.row_id == AuditEvent.id))
        .where(AuditEvent.action == REWRITES)
        .order_by(LedgerEntry.seq)
    )
    for seq, details in session.execute(query):
        items = details.get("rewrote") if isinstance(details, dict) else None
        for item in items if isinstance(items, list) else []:
            try:
                key = (str(item["kind"]), int(item["row_id"]))
                found.setdefault(key, []).append((seq, str(item["before"]), str(item["after"])))
            except (KeyError, TypeError, ValueError):
                continue  # not an explanation: the row stays unexplained
    return found


def _explained(steps: list[tuple[int, str, str]], entry: LedgerEntry, current: str) -> bool:
    """Whether erasures chained after ``entry`` turned its hash into ``current``, step by step."""
    reached = entry.content_hash
    for seq, before, after in steps:
        if seq > entry.seq and before == reached:
            reached = after
    return reached == current


def _name(kind: str, row_id: int) -> str:
    chained = KINDS.get(kind)
    if chained is None:
        return f"{kind} row {row_id}"
    what = " (its revocation)" if chained.only_when else ""
    return f"{chained.table.name} row {row_id}{what}"


def _entries(session: Session) -> Iterator[LedgerEntry]:
    yield from session.scalars(
        select(LedgerEntry)
        .order_by(LedgerEntry.seq, LedgerEntry.id)
        .execution_options(yield_per=1000)
    )


def _hashes(session: Session, chained: Chained) -> dict[int, str]:
    query = _select(chained)
    if chained.only_when:
        query = query.where(chained.table.c[chained.only_when].is_not(None))
    result = session.execute(query.execution_options(yield_per=1000)).mappings()
    return {row["id"]: content_hash(chained.kind, row) for row in result}
