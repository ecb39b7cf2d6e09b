"""A streamed response closes what it opened: after every kind of export, read to the end or
dropped after its first chunk, PostgreSQL has no session of ours left "idle in transaction"
(such a session holds its locks: three of them once made ``ALTER TABLE users`` time out)."""

from __future__ import annotations

import pytest
from conftest import POSTGRES_URL
from helpers import csrf_token, post, run_jobs
from sqlalchemy import text

from app.models import Role

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="a PostgreSQL-only behaviour")

STREAMS = [
    "/hr/exports/completions.csv",
    "/hr/exports/completions.xlsx",
    "/hr/exports/items.csv",
    "/admin/audit.csv",
]


def open_transactions(db) -> list[str]:
    db.rollback()
    rows = db.execute(
        text(
            "SELECT state, left(query, 80) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND state LIKE 'idle in transaction%'"
        )
    ).all()
    db.rollback()
    return [f"{state}: {query}" for state, query in rows]


@pytest.fixture
def hr_client(app, client, db, synced, signed_in, make_user):
    for number in range(5):
        make_user(email=f"learner{number}@example.test")
    signed_in(roles={Role.HR, Role.ADMIN})
    return client


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("path", STREAMS)
@pytest.mark.parametrize("read", ["all", "first chunk"])
def test_a_stream_leaves_no_transaction_open(app, hr_client, db, path, read):
    assert open_transactions(db) == []
    response = hr_client.post(path, data={"csrf_token": csrf_token(hr_client)}, buffered=False)
    assert response.status_code == 200
    chunks = iter(response.response)
    assert next(chunks)
    if read == "all":
        for _ in chunks:
            pass
    response.close()  # as a WSGI server does, at the end or when the client goes away
    assert open_transactions(db) == []


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("read", ["all", "first chunk"])
def test_a_job_download_leaves_no_transaction_open(app, hr_client, db, read):
    app.config["JOBS_DIRECT_EXPORT_MAX_ROWS"] = -1  # the export becomes a job
    started = post(hr_client, "/hr/exports/completions.csv")
    assert started.status_code == 303
    assert run_jobs(app) == 1
    assert open_transactions(db) == []
    response = hr_client.post(
        started.location + "/download",
        data={"csrf_token": csrf_token(hr_client)},
        buffered=False,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    chunks = iter(response.response)
    assert next(chunks)
    if read == "all":
        for _ in chunks:
            pass
    response.close()
    assert open_transactions(db) == []
