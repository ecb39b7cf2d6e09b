"""Learner pages against the Jinja floor: throughput under wrk, rounds interleaved, and
instructions per request under callgrind.

Per backend: a database of this run's own (SQLite in a temporary folder; on PostgreSQL a
database named for this run, dropped at the end), migrated and synced from ``courses/``, with
a learner who has read every module of the flagship course (and started its assessment) and
one who holds its certificate.
Candor and the floor (``bare_app.py``: a bare Flask app rendering a Jinja page of the same
byte size) run side by side under gunicorn with 2 sync workers. Each round runs wrk on every
page, Candor then the floor for a page of its size, so both see the same machine; the ratio
reported is the median over the rounds. Then each page is served in-process under callgrind
(``instructions.py``), Candor and the floor, for instructions per request.

    .venv/bin/python benchmarks/learner_pages.py [--backend sqlite|postgresql|all]
        [--rounds 5] [--seconds 3] [--connections 16] [--no-callgrind]

Targets (issue 16) are printed, not asserted: the exit status is 0 unless something failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import instructions
from harness import (
    ROOT,
    WORKERS,
    BenchError,
    Browser,
    database_cpu_seconds,
    gunicorn,
    server_cpu_seconds,
    wrk,
    wrk_path,
)

OUT = Path(__file__).resolve().parent / "out"
COURSE = "ai-in-the-contact-center"
READER = "bench.reader@example.com"
HOLDER = "bench.holder@example.com"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# Ratio to the floor that issue 16 asks for, per page: (SQLite, PostgreSQL).
TARGETS = {
    "module page": (0.35, 0.25),
    "dashboard": (0.25, 0.2),
    "course page": (0.25, 0.2),
    "assessment page": (0.25, 0.2),
    "verify page": (0.5, 0.5),
    "verify JSON": (0.5, 0.5),
}
TARGET_P99_MS = 30.0  # the module page at 16 connections
ATTEMPT_SEED = 3  # the reader's attempt: page 1 of 11 is three standalone questions
# Pages for anyone (an employer checking a certificate): measured as such a visitor reaches
# them, without the learner's session cookie.
PUBLIC_PREFIX = "/verify/"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "all"), default="all")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=3, help="per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--callgrind-requests", type=int, default=20)
    parser.add_argument("--no-callgrind", action="store_true")
    parser.add_argument("--no-wrk", action="store_true")
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve", nargs="+", help=argparse.SUPPRESS)  # child: app, count, paths
    return parser.parse_args()


# --- databases -------------------------------------------------------------------------------


class Unavailable(Exception):
    """A backend that cannot be measured here (skipped, not failed)."""


@contextmanager
def sqlite_database():
    with tempfile.TemporaryDirectory(prefix="candor-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'candor.sqlite3'}"


@contextmanager
def postgres_database():
    """A database of this run's own on the server of CANDOR_BENCH_POSTGRES_URL, dropped at the
    end: two runs at once never touch each other's data or connections."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(os.environ.get("CANDOR_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"candor_bench_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        connection = psycopg.connect(admin, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        raise Unavailable(f"PostgreSQL is not reachable ({' '.join(str(error).split())})") from None
    with connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


DATABASES = {"sqlite": sqlite_database, "postgresql": postgres_database}


# --- the data set --------------------------------------------------------------------------


def candor_env(database_url: str) -> dict[str, str]:
    """The environment for ``flask`` and gunicorn: ours, minus any CANDOR_* of the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANDOR_")}
    env.update(CANDOR_DATABASE_URL=database_url, CANDOR_SECRET_KEY=secrets.token_urlsafe(32))
    # wrk sends thousands of look-ups a second from one address: the limiter still counts
    # each one (its bookkeeping is part of what is measured) but never refuses.
    env["CANDOR_VERIFY_LIMIT"] = "1000000000 per minute"
    return env


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(args[:4])} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def prepare(env: dict[str, str]) -> dict:
    """Migrate and sync (the commands a user runs), then make the two learners in-process."""
    flask = (sys.executable, "-m", "flask", "--app", "app")
    _run(env, *flask, "db", "upgrade")
    _run(env, *flask, "courses", "sync", "courses/")
    return json.loads(_run(env, sys.executable, __file__, "--prepare").splitlines()[-1])


def make_learners() -> dict:
    """(In the child.) A reader who has read every module and started the assessment, and a
    holder of a certificate."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import select

    from app import create_app
    from app.db import get_session
    from app.models import Certificate, Enrollment, Role, Visibility
    from app.people.accounts import create_user
    from app.progress.completion import complete_course
    from app.progress.reading import current_version, find_course, mark_read
    from app.quizzes.attempts import start_attempt

    password = secrets.token_urlsafe(18)
    app = create_app()
    with app.app_context():
        session = get_session()
        course = find_course(session, COURSE)
        course.visibility = Visibility.LISTED  # synced courses are hidden until listed
        learners = []
        for email in (READER, HOLDER):
            user = create_user(
                session, email=email, name="Bench Learner", roles={Role.LEARNER}, password=password
            )
            session.flush()
            start = datetime.now(UTC) - timedelta(days=1)
            for number, module in enumerate(current_version(session, user, course).modules):
                opened = start + timedelta(hours=number)
                mark_read(session, user, module, opened, now=opened + timedelta(minutes=50))
            learners.append(user)
        reader, holder = learners
        # The assessment page: the attempt's first page. Its draw is seeded, so every run (and
        # both backends) measures the same page.
        with mock.patch("app.quizzes.attempts.secrets.randbits", return_value=ATTEMPT_SEED):
            attempt = start_attempt(session, reader, course)
        enrollment = session.scalar(select(Enrollment).where(Enrollment.user_id == holder.id))
        complete_course(session, holder, enrollment)
        session.commit()
        code = session.scalar(select(Certificate.code).where(Certificate.user_id == holder.id))
    if code is None:
        raise SystemExit("the holder has no certificate")
    return {"password": password, "code": code, "attempt": attempt.id}


# --- the pages -------------------------------------------------------------------------------


def sign_in(browser: Browser, email: str, password: str) -> None:
    status, _, page = browser.request("GET", "/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if status != 200 or token is None:
        raise BenchError(f"GET /login gave {status} without a csrf_token")
    status, headers, _ = browser.request(
        "POST",
        "/login",
        form={"csrf_token": token.group(1), "email": email, "password": password, "next": ""},
    )
    if status != 303 or headers.get("Location", "").endswith("/login"):
        raise BenchError(f"POST /login gave {status} (Location: {headers.get('Location')})")


def find_pages(browser: Browser, data: dict) -> dict[str, str]:
    """Each page's path, found by following the links a learner follows (the attempt, started
    with the data set, is where the course page's "Continue the assessment" button leads)."""
    course = f"/courses/{COURSE}"
    status, _, page = browser.request("GET", course)
    if status != 200:
        raise BenchError(f"GET {course} gave {status}")
    pattern = rf'<a href="(/courses/{COURSE}/v\d+/(?!assets/)[^"/#?]+)"'
    modules = list(dict.fromkeys(re.findall(pattern, page)))
    if len(modules) < 2:
        raise BenchError(f"the course page links fewer than 2 modules: {modules}")
    return {
        "module page": modules[1],
        "dashboard": "/dashboard",
        "course page": course,
        "assessment page": f"/attempts/{data['attempt']}",
        "verify page": f"/verify/{data['code']}",
        "verify JSON": f"/verify/{data['code']}.json",
    }


def fetch(browser: Browser, path: str) -> int:
    """GET ``path``; it must be a 200 (never a redirect to sign-in). Its size in bytes."""
    status, _, body = browser.request("GET", path)
    if status != 200:
        raise BenchError(f"GET {path} gave {status} (a redirect to sign-in, or an error?)")
    return len(body.encode("utf-8"))


# --- throughput ------------------------------------------------------------------------------


def throughput(env, data, rounds, seconds, connections) -> tuple[dict, dict]:
    """Interleaved wrk rounds, Candor then the floor for each page; medians and ratios."""
    options = dict(duration=seconds, warmup=0, connections=connections, threads=2)
    bare_env = {k: v for k, v in os.environ.items() if not k.startswith("CANDOR_")}
    bare_args = ("--pythonpath", str(Path(__file__).parent))
    with (
        gunicorn("app:create_app()", env) as port,
        gunicorn("bare_app:create_app()", bare_env, *bare_args) as bare_port,
    ):
        browser = Browser(port)
        sign_in(browser, READER, data["password"])
        pages = find_pages(browser, data)
        fetch(browser, pages["module page"])  # the session cookie settles on the first page
        sizes = {name: fetch(browser, path) for name, path in pages.items()}
        cookie = (f"Cookie: {browser.cookie_header()}",)
        headers = {
            path: () if path.startswith(PUBLIC_PREFIX) else cookie for path in pages.values()
        }
        for name, path in pages.items():  # warm-up: both apps, every page
            wrk(port, path, headers=headers[path], **{**options, "duration": 1})
            wrk(bare_port, f"/{sizes[name]}", **{**options, "duration": 1})
        runs: dict[str, list[tuple[dict, dict]]] = {name: [] for name in pages}
        for _ in range(rounds):
            for name, path in pages.items():
                candor = metered(port, path, headers[path], options)
                bare = metered(bare_port, f"/{sizes[name]}", (), options)
                runs[name].append((candor, bare))
        for path in pages.values():
            fetch(browser, path)  # still signed in, still a 200
    result = {}
    for name, pairs in runs.items():
        ratios = [c["requests_per_s"] / b["requests_per_s"] for c, b in pairs]
        result[name] = {
            "path": pages[name],
            "bytes": sizes[name],
            "ratio": round(statistics.median(ratios), 3),
            # How far the rounds spread: on a shared machine, more than any change measured.
            "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)],
            "candor_rps": round(statistics.median(c["requests_per_s"] for c, _ in pairs), 1),
            "floor_rps": round(statistics.median(b["requests_per_s"] for _, b in pairs), 1),
            "candor_p99_ms": round(statistics.median(c["p99_ms"] for c, _ in pairs), 2),
            # CPU a request costs, from /proc: Candor's gunicorn, the database server, the floor's.
            "candor_cpu_us": round(statistics.median(c["server_cpu_us"] for c, _ in pairs)),
            "database_cpu_us": round(statistics.median(c["database_cpu_us"] for c, _ in pairs)),
            "floor_cpu_us": round(statistics.median(b["server_cpu_us"] for _, b in pairs)),
            "rounds": len(pairs),
        }
    return result, pages


def metered(port: int, path: str, headers: tuple[str, ...], options: dict) -> dict:
    """A wrk run, with the CPU time the server (its gunicorn) and the database server
    (PostgreSQL's processes) spent per request meanwhile, in microseconds."""
    server, database = server_cpu_seconds(port), database_cpu_seconds()
    run = wrk(port, path, headers=headers, **options)
    requests = max(run["requests"], 1)
    run["server_cpu_us"] = (server_cpu_seconds(port) - server) / requests * 1e6
    run["database_cpu_us"] = (database_cpu_seconds() - database) / requests * 1e6
    return run


# --- instructions ----------------------------------------------------------------------------


def serve_child(app_name: str, count: int, paths: list[str]) -> None:
    """(In the child, under callgrind.) Serve ``paths`` in-process, one phase each."""
    if app_name == "bare":
        sys.path.insert(0, str(Path(__file__).parent))
        from bare_app import create_app as create_bare

        client = anonymous = create_bare().test_client()
    else:
        sys.path.insert(0, str(ROOT))
        from app import create_app

        app = create_app()
        client, anonymous = app.test_client(), app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        form = {"csrf_token": token, "email": READER, "password": os.environ["BENCH_PASSWORD"]}
        if client.post("/login", data=form).status_code != 303:
            raise SystemExit("the child could not sign in")

    def serve(path: str) -> None:
        response = (anonymous if path.startswith(PUBLIC_PREFIX) else client).get(path)
        response.get_data()
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")

    instructions.phases(serve, paths, count)


def instruction_counts(env, data, pages, sizes, count) -> dict:
    names = list(pages)
    child_env = {**env, "BENCH_PASSWORD": data["password"]}
    paths = list(pages.values())
    candor = instructions.per_request(
        [__file__, "--serve", "candor", str(count), *paths], paths, count, child_env
    )
    floor_paths = [f"/{sizes[name]}" for name in names]
    bare = instructions.per_request(
        [__file__, "--serve", "bare", str(count), *floor_paths], floor_paths, count
    )
    return {
        name: {
            "candor": candor[pages[name]],
            "floor": bare[f"/{sizes[name]}"],
            "times_floor": round(candor[pages[name]] / bare[f"/{sizes[name]}"], 1),
        }
        for name in names
    }


# --- the report ------------------------------------------------------------------------------


def measure(backend: str, args) -> dict:
    with DATABASES[backend]() as url:
        env = candor_env(url)
        data = prepare(env)
        result: dict = {}
        if not args.no_wrk:
            result["throughput"], pages = throughput(
                env, data, args.rounds, args.seconds, args.connections
            )
            sizes = {name: row["bytes"] for name, row in result["throughput"].items()}
        else:
            pages, sizes = _pages_in_process(env, data)
        if not args.no_callgrind and instructions.available():
            result["instructions"] = instruction_counts(
                env, data, pages, sizes, args.callgrind_requests
            )
    return result


def _pages_in_process(env, data) -> tuple[dict, dict]:
    with gunicorn("app:create_app()", env) as port:
        browser = Browser(port)
        sign_in(browser, READER, data["password"])
        pages = find_pages(browser, data)
        fetch(browser, pages["module page"])
        return pages, {name: fetch(browser, path) for name, path in pages.items()}


def print_report(backend: str, result: dict) -> None:
    column = 0 if backend == "sqlite" else 1
    print(
        f"\n{backend}: ratio = Candor's requests/s over the floor's (median of the rounds; "
        "rounds: the lowest and highest)"
    )
    print(
        "  (CPU us/req: what a request cost Candor's gunicorn, the database server and the "
        "floor's gunicorn, read from /proc during the wrk runs)"
    )
    print(
        f"  {'page':15} {'bytes':>7} {'ratio':>6} {'rounds':>11} {'target':>6} {'':6} "
        f"{'p99 ms':>7} "
        f"{'CPU us/req: Candor':>18} {'db':>5} {'floor':>6} {'instr/req':>11} {'x floor':>8}"
    )
    for name, targets in TARGETS.items():
        row = result.get("throughput", {}).get(name, {})
        counts = result.get("instructions", {}).get(name, {})
        ratio = row.get("ratio")
        verdict = "" if ratio is None else ("met" if ratio >= targets[column] else "MISSED")
        instructions_text = f"{counts['candor']:>11,} {counts['times_floor']:>8}" if counts else ""
        cpu_text = (
            f"{row['candor_cpu_us']:>18} {row['database_cpu_us']:>5} {row['floor_cpu_us']:>6}"
            if "candor_cpu_us" in row
            else f"{'':>31}"
        )
        spread = row.get("ratio_range")
        spread_text = f"{spread[0]:.3f}-{spread[1]:.3f}" if spread else ""
        print(
            f"  {name:15} {row.get('bytes', ''):>7} {ratio or '':>6} {spread_text:>11} "
            f"{targets[column]:>6.2f} {verdict:6} {row.get('candor_p99_ms', ''):>7} {cpu_text} "
            f"{instructions_text}"
        )


def main() -> int:
    args = parse_args()
    if args.prepare:
        sys.path.insert(0, str(ROOT))
        print(json.dumps(make_learners()))
        return 0
    if args.serve:
        serve_child(args.serve[0], int(args.serve[1]), args.serve[2:])
        return 0
    if not args.no_wrk and wrk_path() is None:
        print("wrk is not installed. On Debian/Ubuntu: sudo apt-get install wrk", file=sys.stderr)
        return 2
    report = {
        "benchmark": "learner_pages",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": {
            "workers": WORKERS,
            "rounds": args.rounds,
            "seconds": args.seconds,
            "connections": args.connections,
        },
        "load_before": round(os.getloadavg()[0], 2),
        "backends": {},
    }
    failed = False
    for backend in ("sqlite", "postgresql") if args.backend == "all" else (args.backend,):
        print(f"{backend}: a fresh database, then {args.rounds} interleaved rounds ...", flush=True)
        try:
            result = measure(backend, args)
        except Unavailable as reason:
            print(f"{backend}: SKIPPED: {reason}")
            report["backends"][backend] = {"skipped": str(reason)}
            continue
        except (BenchError, RuntimeError) as error:
            print(f"{backend}: FAILED: {error}", file=sys.stderr)
            report["backends"][backend] = {"failed": str(error)}
            failed = True
            continue
        report["backends"][backend] = result
        print_report(backend, result)
    report["load_after"] = round(os.getloadavg()[0], 2)
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    OUT.mkdir(exist_ok=True)
    (OUT / "learner_pages.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nWrote {OUT / 'learner_pages.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
