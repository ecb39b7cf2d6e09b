"""The completion-export benchmark: CSV and XLSX of N rows against the sqlite3 CLI's floor.

Builds a SQLite database with ``--rows`` enrollments (half of them completed, with attempts
and certificates; bulk-inserted with SQLAlchemy Core), then exports it, each measurement in a
subprocess of its own: the process's peak resident memory (``os.wait4``) is what that export
costs, and a CSV of one department beside the full one shows whether memory grows with the
rows. The floor is Debian's ``sqlite3 -csv`` running the export's own SQL. The same CSV is
also exported as a job: queued on the embedded queue (a SQLite file) and run by a real
``flask --app app jobs worker`` process, whose peak memory is the worker's (start-up, Huey
and the job included); its time is the job's own (claimed to done, the file stored in the
database) and the wait from queueing to done. Prints a table; the exit status is 0 unless
something failed to run.

    .venv/bin/python benchmarks/exports.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOW = datetime(2026, 12, 1, 9, 15, tzinfo=UTC)
DEPARTMENTS = [f"Department {n}" for n in range(1, 9)]
BATCH = 20_000
SQLITE_CLI = "/usr/bin/sqlite3"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="enrollments to export")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # child mode: one export
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    return parser.parse_args()


# --------------------------------------------------------------------------------------------
# The database


def _batched(rows, size=BATCH):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def build_database(path: Path, rows: int) -> None:
    """A database of ``rows`` enrollments: two per person, on two courses."""
    from sqlalchemy import insert

    from app.db import Base, make_engine
    from app.models import (
        Certificate,
        Completion,
        Course,
        CourseVersion,
        Enrollment,
        QuizAttempt,
        User,
    )

    engine = make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    people = (rows + 1) // 2
    t0 = NOW - timedelta(days=200)
    with engine.begin() as db:
        db.execute(
            insert(Course),
            [
                {"id": 1, "slug": "contact-centre", "created_at": t0},
                {"id": 2, "slug": "data-refresher", "created_at": t0},
            ],
        )
        version = {
            "summary": "",
            "estimated_minutes": 30,
            "pass_mark": 80,
            "max_attempts": 3,
            "recertify_months": 12,
            "metadata_source": "",
            "published_at": t0,
            "obligations": [],
            "release_notes": "",
            "material": True,
        }
        db.execute(
            insert(CourseVersion),
            [
                {
                    **version,
                    "id": 1,
                    "course_id": 1,
                    "number": 1,
                    "content_hash": "a" * 64,
                    "title": "AI in the contact centre",
                },
                {
                    **version,
                    "id": 2,
                    "course_id": 1,
                    "number": 2,
                    "content_hash": "b" * 64,
                    "title": "AI in the contact centre (2026)",
                },
                {
                    **version,
                    "id": 3,
                    "course_id": 2,
                    "number": 1,
                    "content_hash": "c" * 64,
                    "title": "AI and customer data: a refresher",
                },
            ],
        )
        for batch in _batched(
            {
                "id": i,
                "email": f"person{i}@example.test",
                "name": f"Person {i:07d}",
                "employee_id": f"E{i:07d}",
                "department": DEPARTMENTS[i % len(DEPARTMENTS)],
                "manager_id": (i - 1) // 20 * 20 + 1 if (i - 1) % 20 else None,
                "locale": "en",
                "active": True,
                "session_generation": "x",
                "created_at": t0,
            }
            for i in range(1, people + 1)
        ):
            db.execute(insert(User), batch)
        enrollments, attempts, completions, certificates = [], [], [], []
        for n in range(1, rows + 1):
            user_id, course_id = (n + 1) // 2, 1 + n % 2
            state = n % 10  # 0-4 completed, 5 in progress, 6 overdue, 7-8 not started, 9 due
            version_id = None if state in (7, 8) else (2 if course_id == 1 else 3)
            assigned = t0 + timedelta(minutes=n % 5000)
            started = assigned + timedelta(days=1) if version_id else None
            done = assigned + timedelta(days=3) if state < 5 else None
            due = NOW + timedelta(days=-10 if state == 6 else 5 if state == 9 else 60)
            enrollments.append(
                {
                    "id": n,
                    "user_id": user_id,
                    "course_id": course_id,
                    "version_id": version_id,
                    "created_at": assigned,
                    "assigned_at": assigned,
                    "due_at": due,
                    "started_at": started,
                    "cycle": 1,
                    "completed_at": done,
                }
            )
            if version_id is not None and state != 9:
                for number in range(1, 3 if state in (0, 5) else 2):
                    attempts.append(
                        {
                            "id": len(attempts) + 1,
                            "enrollment_id": n,
                            "user_id": user_id,
                            "version_id": version_id,
                            "cycle": 1,
                            "number": number,
                            "seed": n,
                            "plan": {},
                            "paths": {},
                            "status": "submitted",
                            "started_at": started,
                            "submitted_at": started,
                            "percent": 85,
                            "passed": True,
                        }
                    )
            if done is not None:
                completions.append(
                    {
                        "id": n,
                        "user_id": user_id,
                        "course_id": course_id,
                        "version_id": version_id,
                        "enrollment_id": n,
                        "cycle": 1,
                        "attempt_id": len(attempts),
                        "completed_at": done,
                        "score": 80 + n % 21,
                    }
                )
                certificates.append(
                    {
                        "code": f"{n:020d}",
                        "completion_id": n,
                        "user_id": user_id,
                        "facts": {},
                        "signature": "x",
                        "key_id": "k",
                        "issued_at": done,
                        "expires_at": done + timedelta(days=365),
                        "pdf": b"",
                    }
                )
        for model, data in (
            (Enrollment, enrollments),
            (QuizAttempt, attempts),
            (Completion, completions),
            (Certificate, certificates),
        ):
            for batch in _batched(data):
                db.execute(insert(model), batch)
    engine.dispose()


def export_sql() -> str:
    """The export's own SELECT, with its one parameter inlined, for the sqlite3 CLI."""
    from sqlalchemy.dialects import sqlite

    from app.exports.completions import _completion_query, _rows_statement
    from app.training.filters import RecordFilter

    statement = _rows_statement(_completion_query(RecordFilter(), NOW))
    return str(statement.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))


# --------------------------------------------------------------------------------------------
# One measurement (child process)


def measure(kind: str, db_path: str, out_path: str) -> dict:
    """Run one export (or the baseline, or the build) in this process; what it took."""
    if kind == "build":
        build_database(Path(db_path), int(out_path))
        return {"sql": export_sql()}
    if kind == "enqueue":
        return enqueue_export(db_path, out_path)
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from app.db import make_engine
    from app.exports.completions import completion_rows, count_rows
    from app.models import Course
    from app.training.filters import RecordFilter

    engine = make_engine(f"sqlite:///{db_path}")
    started = time.perf_counter()
    size = 0
    with Session(engine) as session, open(out_path, "wb") as out:
        if kind == "baseline":
            session.execute(select(Course.id).limit(1)).all()
        elif kind == "count":
            size = count_rows(session, RecordFilter(), NOW)
        elif kind == "count-department":
            size = count_rows(session, RecordFilter(department=DEPARTMENTS[1]), NOW)
        else:
            department = DEPARTMENTS[1] if kind == "csv-department" else None
            rows = completion_rows(session, RecordFilter(department=department), NOW)
            if kind == "xlsx":
                from app.exports.xlsx import xlsx_stream

                chunks = xlsx_stream(rows)
            else:
                from app.exports.csv import csv_stream

                chunks = csv_stream(rows)
            for chunk in chunks:
                out.write(chunk)
                size += len(chunk)
    return {"seconds": time.perf_counter() - started, "size": size}


def worker_environment(db_path: str, jobs_path: str) -> dict[str, str]:
    """The environment of a worker (and of the app that queues) on the bench database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANDOR_")}
    env.update(
        CANDOR_DATABASE_URL=f"sqlite:///{db_path}",
        CANDOR_JOBS_URL=f"sqlite:///{jobs_path}",
        CANDOR_JOBS_QUEUE_NAME="candor-bench",
        CANDOR_SECRET_KEY=base64.b64encode(os.urandom(32)).decode(),
        # Any 32 bytes are an Ed25519 private key; given, so nothing is written to instance/.
        CANDOR_CERTIFICATE_SIGNING_KEY=base64.b64encode(os.urandom(32)).decode(),
    )
    return env


def enqueue_export(db_path: str, jobs_path: str) -> dict:
    """Record a CSV export of everything as a job and queue it, as the HR page does."""
    os.environ.update(worker_environment(db_path, jobs_path))
    from app import create_app
    from app.exports.jobs import start_export
    from app.models import Role, User
    from app.training.filters import RecordFilter

    app = create_app()
    with app.app_context():
        make = app.extensions["candor.sessionmaker"]
        with make() as session:
            hr = User(email="bench-hr@example.test", name="Bench HR")
            hr.roles = {Role.HR}
            session.add(hr)
            session.flush()
            job = start_export(session, hr, "completions.csv", RecordFilter(), NOW, 0)
            session.commit()
            app.extensions["candor.jobs"].enqueue_job(job.id)
            return {"job": job.id}


def run_job_in_worker(me: list[str], db_path: Path, workdir: Path) -> tuple[Run, dict]:
    """Queue the export, run a worker process until the job is done, stop it; its figures."""
    jobs_path = workdir / "jobs.sqlite3"
    queued = spawn([*me, "--measure", "enqueue", "--db", str(db_path), "--out", str(jobs_path)])
    job_id = json.loads(queued.stdout)["job"]
    started = time.perf_counter()
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "app",
            "jobs",
            "worker",
            "--threads",
            "1",
            "--no-periodic",
        ],
        cwd=ROOT,
        env=worker_environment(str(db_path), str(jobs_path)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    state: tuple = ("queued", None, None, None)
    with sqlite3.connect(db_path) as db:
        while state[0] in ("queued", "running") and worker.poll() is None:
            time.sleep(0.05)
            state = db.execute(
                "SELECT state, started_at, finished_at, result_size FROM jobs WHERE id = ?",
                (job_id,),
            ).fetchone()
    waited = time.perf_counter() - started
    worker.send_signal(signal.SIGINT)
    _, status, usage = os.wait4(worker.pid, 0)
    if state[0] != "done":
        raise RuntimeError(f"the job ended {state[0]} (worker status {status})")
    seconds = (datetime.fromisoformat(state[2]) - datetime.fromisoformat(state[1])).total_seconds()
    run = Run(waited, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, b"")
    return run, {"seconds": seconds, "size": state[3]}


@dataclass(frozen=True)
class Run:
    wall: float  # seconds, start to exit
    cpu: float  # user + system seconds
    peak_mib: float  # the process's maximum resident set size
    stdout: bytes


def spawn(argv: list[str], stdout_path: Path | None = None) -> Run:
    """Run ``argv`` to the end and reap it with wait4, which gives its own rusage."""
    # On Linux a child's ru_maxrss starts from its parent's resident size at fork: this parent
    # therefore imports neither SQLAlchemy nor the app, and stays small.
    sink = open(stdout_path, "wb") if stdout_path else None  # noqa: SIM115
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=sink or subprocess.PIPE, stderr=subprocess.PIPE)
    output = process.stdout.read() if process.stdout else b""
    errors = process.stderr.read() if process.stderr else b""
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if sink:
        sink.close()
    if process.returncode != 0:
        raise RuntimeError(
            f"{argv[0]} exited {process.returncode}: {errors.decode(errors='replace')[-2000:]}"
        )
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, output)


# --------------------------------------------------------------------------------------------
# The run

MEASUREMENTS = (
    ("baseline", "python + imports + one query (baseline)"),
    ("count", "count_rows (for the audit event)"),
    ("csv-department", "CSV, one department of eight"),
    ("csv", "CSV"),
    ("xlsx", "XLSX (constant_memory, temp file)"),
)


def main() -> int:
    args = parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.db, args.out)))
        return 0
    me = [sys.executable, str(Path(__file__).resolve())]
    workdir = Path(tempfile.mkdtemp(prefix="candor-bench-exports-"))
    try:
        db_path = workdir / "bench.sqlite3"
        built = spawn([*me, "--measure", "build", "--db", str(db_path), "--out", str(args.rows)])
        sql_path = workdir / "export.sql"
        sql_path.write_text(json.loads(built.stdout)["sql"] + ";\n")
        print(
            f"built {args.rows:,} enrollments in {built.wall:.1f} s "
            f"({db_path.stat().st_size / 2**20:.0f} MiB); Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, load average "
            f"{os.getloadavg()[0]:.1f}"
        )
        table = []  # label, rows, export seconds, wall, cpu, peak MiB, file MiB
        counts: dict[str, int] = {}
        for kind in ("count", "count-department"):
            run = spawn([*me, "--measure", kind, "--db", str(db_path), "--out", os.devnull])
            counts[kind] = json.loads(run.stdout)["size"]
        for kind, label in MEASUREMENTS:
            out = workdir / f"{kind}.out"
            run = spawn([*me, "--measure", kind, "--db", str(db_path), "--out", str(out)])
            report = json.loads(run.stdout)
            rows = {"baseline": None, "csv-department": counts["count-department"]}.get(
                kind, counts["count"]
            )
            size = out.stat().st_size / 2**20 if kind not in ("baseline", "count") else None
            table.append((label, rows, report["seconds"], run.wall, run.cpu, run.peak_mib, size))
        run, report = run_job_in_worker(me, db_path, workdir)
        table.append(
            (
                "CSV as a job, in a worker process",
                counts["count"],
                report["seconds"],
                run.wall,
                run.cpu,
                run.peak_mib,
                report["size"] / 2**20,
            )
        )
        if shutil.which(SQLITE_CLI):
            out = workdir / "sqlite3.csv"
            run = spawn(
                [SQLITE_CLI, "-csv", "-header", str(db_path), f".read {sql_path}"], stdout_path=out
            )
            table.insert(
                1,
                (
                    "sqlite3 -csv, the same SELECT (floor)",
                    counts["count"],
                    run.wall,
                    run.wall,
                    run.cpu,
                    run.peak_mib,
                    out.stat().st_size / 2**20,
                ),
            )
        print(
            f"\n{'export':40} {'rows':>8} {'export s':>9} {'process s':>10} {'CPU s':>7} "
            f"{'peak RSS MiB':>13} {'file MiB':>9}"
        )
        for label, rows, seconds, wall, cpu, peak, size in table:
            print(
                f"{label:40} {'-' if rows is None else rows:>8} {seconds:9.2f} {wall:10.2f} "
                f"{cpu:7.2f} {peak:13.1f} {'-' if size is None else f'{size:.1f}':>9}"
            )
        print(
            "\nexport s: the export alone, by the child's clock; process s and CPU s: the "
            "whole process (start-up and imports included); peak RSS: the whole process. "
            "As a job: export s is the job's own time (claimed to done, its file stored in "
            "the database), process s the wait from queueing to done (worker start-up "
            "included), peak RSS the worker's."
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
