"""Real worker processes (``flask --app app jobs worker``) on the job queue.

- Embedded queue (SQLite file): a worker killed with SIGKILL in the middle of an export
  leaves a job that is not done and offers nothing; recovery runs it again in a new worker,
  whose file is whole; with no attempts left it is failed with a message saying why.
- A worker runs its threads at idle CPU priority (Linux's SCHED_IDLE), so that PDFs and
  exports rendered beside the web server never slow a page; ``--priority normal`` keeps it.
- Redis (where CANDOR_TEST_REDIS_URL is set; CI sets it): HR asks for an export, a separate
  worker process writes it, HR downloads it.

Waits are bounded (``WAIT_S``) and poll the database; nothing here measures time.
"""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import ROOT, TEST_SIGNING_KEY
from helpers import add_learners, login, post
from sqlalchemy import func, select

from app.exports.jobs import start_export
from app.jobs.records import is_downloadable
from app.models import Job, JobChunk, JobState, Role
from app.training.filters import RecordFilter

REDIS_URL = os.environ.get("CANDOR_TEST_REDIS_URL")
WAIT_S = 120
PEOPLE = 4000  # x the shipped courses: an export of a few 1 MiB chunks


def start_worker(app, *extra: str, stdout=subprocess.DEVNULL) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANDOR_")}
    env.update(
        CANDOR_DATABASE_URL=app.config["DATABASE_URL"],
        CANDOR_SECRET_KEY=app.config["SECRET_KEY"],
        CANDOR_CERTIFICATE_SIGNING_KEY=TEST_SIGNING_KEY,
        CANDOR_JOBS_URL=app.config["JOBS_URL"],
        CANDOR_JOBS_QUEUE_NAME=app.config["JOBS_QUEUE_NAME"],
    )
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "jobs", "worker", "--threads", "1", *extra],
        cwd=ROOT,
        env=env,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def wait_for(db, condition, worker: subprocess.Popen):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        db.rollback()
        db.expire_all()
        if (value := condition()) is not None:
            return value
        if worker.poll() is not None:
            pytest.fail(f"the worker exited ({worker.returncode}): {worker.stderr.read()[-2000:]}")
        time.sleep(0.02)
    pytest.fail(f"nothing happened in {WAIT_S} s")


@pytest.fixture
def queued_export(app, db, courses, make_user, tmp_path):
    """A big completions.csv export queued on an embedded queue that workers can share."""
    app.config["JOBS_URL"] = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    app.config["JOBS_QUEUE_NAME"] = "candor-test"
    add_learners(db, PEOPLE, [c.id for c in courses.values()])
    hr = make_user(roles={Role.HR})
    now = datetime.now(UTC)
    rows = PEOPLE * len(courses)
    job = start_export(db, hr, "completions.csv", RecordFilter(), now, rows)
    db.commit()
    with app.app_context():
        app.extensions["candor.jobs"].enqueue_job(job.id)
    return job.id, rows


def kill_mid_export(app, db, job_id: int) -> None:
    """Start a worker, let it store part of the file, and SIGKILL it."""
    worker = start_worker(app, "--no-periodic")
    try:
        chunks = select(func.count()).select_from(JobChunk).where(JobChunk.job_id == job_id)
        wait_for(db, lambda: True if db.scalar(chunks) else None, worker)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        stop(worker)
    db.rollback()
    db.expire_all()
    job = db.get(Job, job_id)
    assert job.state is JobState.RUNNING and job.done < job.total, "killed too late to test"
    assert not is_downloadable(job, datetime.now(UTC))


def test_a_worker_killed_mid_export_is_retried_and_the_file_is_whole(app, db, queued_export):
    job_id, rows = queued_export
    kill_mid_export(app, db, job_id)

    # The next maintenance run finds the attempt dead and queues the job again.
    app.config["JOBS_STALE_SECONDS"] = 0
    with app.app_context():
        app.extensions["candor.jobs"].maintain()
    db.rollback()
    db.expire_all()
    assert db.get(Job, job_id).state is JobState.QUEUED
    assert db.scalar(select(func.count()).select_from(JobChunk)) == 0

    worker = start_worker(app, "--no-periodic")
    try:
        job = wait_for(
            db,
            lambda: (
                j
                if (j := db.get(Job, job_id)).state is not JobState.RUNNING
                and j.state is not JobState.QUEUED
                else None
            ),
            worker,
        )
    finally:
        stop(worker)
    assert (job.state, job.attempts, job.done) == (JobState.DONE, 2, rows)
    data = b"".join(
        db.scalars(select(JobChunk.data).where(JobChunk.job_id == job_id).order_by(JobChunk.seq))
    )
    assert len(data) == job.result_size
    records = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(records) == rows + 1
    assert len({(r[2], r[5]) for r in records[1:]}) == rows  # every person x course once


def test_a_worker_killed_on_the_last_attempt_fails_the_job_saying_why(app, db, queued_export):
    job_id, _ = queued_export
    app.config["JOBS_MAX_ATTEMPTS"] = 1
    kill_mid_export(app, db, job_id)
    app.config["JOBS_STALE_SECONDS"] = 0
    with app.app_context():
        app.extensions["candor.jobs"].maintain()
    db.rollback()
    db.expire_all()
    job = db.get(Job, job_id)
    assert job.state is JobState.FAILED
    assert job.error.startswith("The worker running this job stopped before it finished")
    assert db.scalar(select(func.count()).select_from(JobChunk)) == 0


@pytest.mark.skipif(not REDIS_URL, reason="set CANDOR_TEST_REDIS_URL to run")
def test_with_redis_a_separate_worker_runs_the_export(app, db, client, courses, make_user):
    app.config.update(
        JOBS_URL=REDIS_URL,
        JOBS_QUEUE_NAME=f"candor-test-{secrets.token_hex(4)}",
        JOBS_DIRECT_EXPORT_MAX_ROWS=-1,
    )
    add_learners(db, 50, [c.id for c in courses.values()])
    login(client, make_user(roles={Role.HR}))
    worker = start_worker(app)
    try:
        response = post(client, "/hr/exports/completions.xlsx")
        assert response.status_code == 303
        job_id = int(re.fullmatch(r"/hr/jobs/(\d+)", response.location).group(1))
        wait_for(db, lambda: True if db.get(Job, job_id).state is JobState.DONE else None, worker)
    finally:
        stop(worker)
        app.extensions["candor.jobs"].huey.storage.flush_all()
    download = post(client, f"/hr/jobs/{job_id}/download")
    assert download.status_code == 200 and download.data[:2] == b"PK"
    assert db.get(Job, job_id).total == 50 * len(courses)


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's own")
@pytest.mark.parametrize(
    ("options", "policy", "said"),
    [
        ((), "SCHED_IDLE", "at idle CPU priority."),
        (("--priority", "normal"), "SCHED_OTHER", "at normal CPU priority."),
    ],
)
def test_a_worker_and_its_threads_run_at_idle_priority_unless_told_otherwise(
    app, tmp_path, options, policy, said
):
    app.config["JOBS_URL"] = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    worker = start_worker(app, *options, stdout=subprocess.PIPE)
    try:
        first = worker.stdout.readline()
        assert first.startswith("Candor worker: 1 thread(s) on ") and first.rstrip().endswith(said)
        threads = Path(f"/proc/{worker.pid}/task")
        deadline = time.monotonic() + WAIT_S
        while len(list(threads.iterdir())) < 2:  # the consumer's threads have started
            if worker.poll() is not None:  # its stderr is complete only once it has exited
                pytest.fail(f"the worker exited: {worker.stderr.read()[-2000:]}")
            assert time.monotonic() < deadline, f"the worker started no threads in {WAIT_S} s"
            time.sleep(0.02)
        policies = {os.sched_getscheduler(int(task.name)) for task in threads.iterdir()}
        assert policies == {getattr(os, policy)}
    finally:
        stop(worker)
