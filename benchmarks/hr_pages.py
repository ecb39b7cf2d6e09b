"""The HR pages at a contact centre's size: the dashboard and the people x courses matrix over
10,000 people x 10 courses, next to a one-query page of the same app in the same run.

Builds the data set (bulk-inserted with SQLAlchemy Core: ``--people`` people, each on every one
of ``--courses`` courses, in every status), then serves the pages in-process through Flask's
test client with one HR account signed in, and reports for each page: the server time (median
and worst of ``--repeat`` requests, after one warm-up), the number of SQL statements, and, with
``--callgrind``, the instructions one request costs (``instructions.py``: callgrind over a
child process serving each page ``--callgrind-requests`` times). The floor is
``/verify/<code>``, one query. Targets are printed, not asserted: the exit status is 0 unless
something failed to run.

    .venv/bin/python benchmarks/hr_pages.py [--backend sqlite|postgresql|all] [--callgrind]

Requests are made in rounds: each round asks every page once, in turn, so a burst of load
from elsewhere on the machine falls on all pages alike rather than on one.

PostgreSQL: only the server is taken from ``CANDOR_BENCH_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``); the run creates its own database,
``candor_bench_<pid>``, and drops it at the end (never a fixed name, never ``FORCE``), so two
runs, or a run and the test suite, never touch each other's data.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import instructions

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = Path(__file__).resolve().parent / "out"

NOW = datetime.now(UTC)
TARGET_MS = 150.0
BATCH = 20_000
FIRST = ["Ana", "Ígor", "Zoë", "Émile", "Łukasz", "Søren", "Ben", "Chloé", "Ömer", "Iñaki"]
LAST = ["Silva", "Åberg", "Okafor", "Dunn", "Müller", "Ng", "Ørsted", "Zhou", "Écija", "Wu"]
DEPARTMENTS = [f"Floor {n}" for n in range(1, 21)]
CERTIFICATE = "BENCH000000000000001"  # 20 Crockford base32 characters
PAGES = {
    "dashboard": "/hr/",
    "matrix, page 1": "/hr/status",
    "matrix, page 100, by status": "/hr/status?sort=status&page=100",
    "matrix, overdue, by due date": "/hr/status?status=overdue&sort=-due",
    "matrix, one department": "/hr/status?department=Floor+7&sort=course",
    "grid, page 1": "/hr/grid",
    "grid, page 50, overdue": "/hr/grid?status=overdue&page=50",
    "grid, employee id search": "/hr/grid?search=E004242",
    "grid, accent-free name search": "/hr/grid?search=igor+aberg",
    "reminders: who would be reminded": "/hr/reminders",
    "floor: verify page (one query)": f"/verify/{CERTIFICATE}",
}
FLOOR = "floor: verify page (one query)"
# Pages whose instructions --callgrind counts (a run under valgrind takes minutes each).
COUNTED = ("dashboard", "matrix, page 1", "grid, page 1", "reminders: who would be reminded", FLOOR)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--courses", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "all"), default="all")
    parser.add_argument("--callgrind", action="store_true", help="count instructions too")
    parser.add_argument(
        "--callgrind-requests", type=int, default=3, help="requests per page under callgrind"
    )
    parser.add_argument("--serve", nargs="+", help=argparse.SUPPRESS)  # child: URL, count, paths
    return parser.parse_args()


def _batched(rows):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def build(url: str, people: int, courses: int) -> None:
    """The data set: one HR account, ``people`` learners, each on every course."""
    from sqlalchemy import insert

    from app.dates import expiry_of
    from app.db import Base, make_engine
    from app.fields import search_key
    from app.models import (
        Certificate,
        Completion,
        Course,
        CourseVersion,
        Enrollment,
        User,
        UserRole,
    )

    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    t0 = NOW - timedelta(days=400)
    with engine.begin() as db:
        db.execute(
            insert(Course),
            [{"id": c, "slug": f"course-{c}", "created_at": t0} for c in range(1, courses + 1)],
        )
        db.execute(
            insert(CourseVersion),
            [
                {
                    "id": c,
                    "course_id": c,
                    "number": 1,
                    "content_hash": f"{c:064d}",
                    "title": f"Course {c}: working with AI",
                    "summary": "",
                    "estimated_minutes": 30,
                    "pass_mark": 80,
                    "max_attempts": 3,
                    "recertify_months": 12 if c % 2 else 0,
                    "metadata_source": "",
                    "published_at": t0,
                    "obligations": [],
                    "release_notes": "",
                    "material": True,
                }
                for c in range(1, courses + 1)
            ],
        )
        users = [
            {
                "id": 1,
                "email": "hr@example.test",
                "name": "HR Person",
                "locale": "en",
                "active": True,
                "session_generation": "bench",
                "created_at": t0,
            }
        ]
        users += [
            {
                "id": i,
                "email": f"person{i}@example.test",
                "name": f"{FIRST[i % 10]} {LAST[(i // 10) % 10]} {i}",
                "employee_id": f"E{i:06d}",
                "department": DEPARTMENTS[i % len(DEPARTMENTS)],
                "manager_id": None if i % 25 == 2 else (i - 2) // 25 * 25 + 2,
                "locale": "en",
                "active": i % 50 != 0,
                "search_key": search_key(
                    f"{FIRST[i % 10]} {LAST[(i // 10) % 10]} {i}",
                    f"person{i}@example.test",
                    f"E{i:06d}",
                ),
                # Signed in once (a password), except one in 40: the reminders skip those.
                "password_hash": None if i % 40 == 3 else "bench-not-a-real-hash",
                "session_generation": "bench",
                "created_at": t0,
            }
            for i in range(2, people + 2)
        ]
        for batch in _batched(users):
            db.execute(insert(User), batch)
        db.execute(insert(UserRole), [{"user_id": 1, "role": "hr"}])
        for batch in _batched({"user_id": i, "role": "learner"} for i in range(2, people + 2)):
            db.execute(insert(UserRole), batch)

        def enrollments():
            for i in range(2, people + 2):
                for c in range(1, courses + 1):
                    n = (i - 2) * courses + c
                    state = (i + c) % 10  # 0-3 completed, 4 started, 5-6 overdue, 7-9 not
                    assigned = t0 + timedelta(days=n % 300)
                    done = assigned + timedelta(days=2) if state < 4 else None
                    yield {
                        "id": n,
                        "user_id": i,
                        "course_id": c,
                        "version_id": c if state < 5 else None,
                        "created_at": assigned,
                        "assigned_at": assigned,
                        "due_at": NOW + timedelta(days=(n % 90) - (60 if state in (5, 6) else 0)),
                        "started_at": assigned + timedelta(days=1) if state < 5 else None,
                        "cycle": 1,
                        "completed_at": done,
                        "expires_at": expiry_of(done, 12 if c % 2 else 0),
                    }

        for batch in _batched(enrollments()):
            db.execute(insert(Enrollment), batch)
        done = NOW - timedelta(days=10)
        db.execute(
            insert(Completion),
            [
                {
                    "id": 1,
                    "user_id": 2,
                    "course_id": 1,
                    "version_id": 1,
                    "enrollment_id": 1,
                    "cycle": 1,
                    "completed_at": done,
                }
            ],
        )
        db.execute(
            insert(Certificate),
            [
                {
                    "id": 1,
                    "code": CERTIFICATE,
                    "completion_id": 1,
                    "user_id": 2,
                    "facts": {
                        "code": CERTIFICATE,
                        "holder_name": "Ana Silva",
                        "course_title": "Course 1: working with AI",
                        "course_slug": "course-1",
                        "version_number": 1,
                        "content_hash": "0" * 12,
                        "score": 90,
                        "completed_on": done.date().isoformat(),
                        "issued_on": done.date().isoformat(),
                        "expires_on": None,
                        "issuer": "Bench",
                    },
                    "signature": "bench",
                    "key_id": "bench",
                    "issued_at": done,
                    "pdf": b"",
                }
            ],
        )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE")
    engine.dispose()


def make_app(url: str):
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from app import create_app

    key = base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()
    app = create_app(
        {
            "SECRET_KEY": "bench",
            "DATABASE_URL": url,
            "RATELIMIT_STORAGE_URL": "memory://",
            "CERTIFICATE_SIGNING_KEY": key,
        }
    )
    app.instance_path = tempfile.mkdtemp(prefix="candor-bench-")
    return app


def signed_in_client(app):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:bench"  # the HR account (id:session generation)
        session["_fresh"] = True
        session["signed_in_at"] = time.time()
    return client


class QueryCounter:
    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.count = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_args) -> None:
        self.count += 1


def measure(url: str, repeat: int) -> dict:
    """Each page ``repeat`` times, in rounds (every page once per round), after a warm-up."""
    app = make_app(url)
    counter = QueryCounter(app.extensions["candor.engine"])
    client = signed_in_client(app)
    times: dict[str, list[float]] = {name: [] for name in PAGES}
    queries: dict[str, set[int]] = {name: set() for name in PAGES}
    sizes: dict[str, int] = {}
    for path in PAGES.values():
        response = client.get(path)  # warm-up, and a check of what is measured
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}: {response.text[:400]}")
    for _ in range(repeat):
        for name, path in PAGES.items():
            counter.count = 0
            started = time.perf_counter()
            response = client.get(path)
            body = response.get_data()
            times[name].append((time.perf_counter() - started) * 1000)
            queries[name].add(counter.count)
            sizes[name] = len(body)
    app.extensions["candor.engine"].dispose()
    return {
        name: {
            "path": path,
            "median_ms": round(statistics.median(times[name]), 1),
            "worst_ms": round(max(times[name]), 1),
            "queries": sorted(queries[name]),
            "bytes": sizes[name],
        }
        for name, path in PAGES.items()
    }


def serve_child(url: str, count: int, paths: list[str]) -> None:
    """In the callgrind child: serve each path ``count`` times, one phase each."""
    client = signed_in_client(make_app(url))

    def serve(path: str) -> None:
        response = client.get(path)
        response.get_data()
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")

    instructions.phases(serve, paths, count)


def instruction_counts(url: str, results: dict, count: int) -> None:
    """Instructions per request for the ``COUNTED`` pages, into ``results``."""
    paths = [results[name]["path"] for name in COUNTED]
    counts = instructions.per_request([__file__, "--serve", url, str(count), *paths], paths, count)
    for name in COUNTED:
        results[name]["instructions"] = counts[results[name]["path"]]


def backends(choice: str, folder: Path) -> dict[str, str]:
    found = {}
    if choice in ("sqlite", "all"):
        found["sqlite"] = f"sqlite:///{folder / 'hr-bench.sqlite3'}"
    if choice in ("postgresql", "all"):
        found["postgresql"] = _own_database_url()
    return found


def _own_database_url() -> str:
    from sqlalchemy.engine import make_url

    server = make_url(
        os.environ.get(
            "CANDOR_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        )
    )
    return server.set(database=f"candor_bench_{os.getpid()}").render_as_string(hide_password=False)


def _maintenance(url: str):
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def create_database(url: str) -> None:
    """Create this run's own PostgreSQL database (its name holds the process id)."""
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    engine = _maintenance(url)
    with engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()


def drop_database(url: str) -> None:
    """Drop this run's own database, and only it (no FORCE: a session left open fails it)."""
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    assert name and name.startswith("candor_bench_"), name  # noqa: S101 (never another one)
    engine = _maintenance(url)
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
    engine.dispose()


def main() -> int:
    args = parse_args()
    if args.serve:
        url, count, *paths = args.serve
        serve_child(url, int(count), paths)
        return 0
    report = {
        "people": args.people,
        "courses": args.courses,
        "machine": platform.platform(),
        "load_average": os.getloadavg(),
        "backends": {},
    }
    with tempfile.TemporaryDirectory() as folder:
        for backend, url in backends(args.backend, Path(folder)).items():
            if backend == "postgresql":
                create_database(url)
            try:
                started = time.perf_counter()
                build(url, args.people, args.courses)
                print(
                    f"{backend}: built {args.people} people x {args.courses} courses "
                    f"in {time.perf_counter() - started:.0f} s"
                )
                results = measure(url, args.repeat)
                if args.callgrind:
                    instruction_counts(url, results, args.callgrind_requests)
            finally:
                if backend == "postgresql":
                    drop_database(url)
            report["backends"][backend] = results
            floor = results[FLOOR]
            print(f"{'page':36} {'median ms':>10} {'worst ms':>9} {'queries':>8} {'x floor':>8}")
            for name, r in results.items():
                ratio = r["median_ms"] / floor["median_ms"] if floor["median_ms"] else 0
                mark = "" if name == FLOOR or r["median_ms"] <= TARGET_MS else "  over target"
                line = (
                    f"{name:36} {r['median_ms']:>10.1f} {r['worst_ms']:>9.1f} "
                    f"{','.join(map(str, r['queries'])):>8} {ratio:>8.1f}{mark}"
                )
                if r.get("instructions"):
                    line += f"  {r['instructions'] / 1e6:,.0f} M instructions"
                print(line)
    OUT.mkdir(exist_ok=True)
    (OUT / "hr_pages.json").write_text(json.dumps(report, indent=2, default=str))
    print(f"target: each HR page <= {TARGET_MS:.0f} ms server time; written to out/hr_pages.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
