"""The migrations build exactly the schema the models describe, and run down and up again."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from conftest import BACKENDS, POSTGRES_URL, ROOT
from sqlalchemy import create_engine, exc, inspect, text

from app.db import Base, make_engine

SCHEMA = "candor_migrations"


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path):
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'migrated.sqlite3'}")
    else:
        with create_engine(POSTGRES_URL).begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        engine = create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={SCHEMA}"})
    yield engine
    engine.dispose()


def alembic(engine) -> Config:
    config = Config(toml_file=str(ROOT / "pyproject.toml"))
    config.attributes["engine"] = engine
    return config


def schema_differences(engine):
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)


def test_migrated_schema_equals_the_models(engine):
    command.upgrade(alembic(engine), "head")
    assert schema_differences(engine) == []


def test_downgrade_and_upgrade_round_trip(engine):
    config = alembic(engine)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(config, "head")
    assert schema_differences(engine) == []


def test_migrated_audit_table_is_append_only(engine):
    command.upgrade(alembic(engine), "head")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_events (occurred_at, action, details) "
                "VALUES (CURRENT_TIMESTAMP, 'test.event', '{}')"
            )
        )
    with pytest.raises(exc.DatabaseError, match="never deleted"), engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_events"))
    with pytest.raises(exc.DatabaseError, match="by an erasure|final"), engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET details = '{\"x\": 1}'"))


def test_upgrading_a_populated_database_keeps_its_rows(engine):
    config = alembic(engine)
    command.upgrade(config, "0001")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, email, name, locale, active, session_generation, "
                "created_at) VALUES (1, 'a@example.test', 'A', 'en', true, 'g', CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text("INSERT INTO courses (id, slug, created_at) VALUES (1, 'c', CURRENT_TIMESTAMP)")
        )
        connection.execute(
            text(
                "INSERT INTO enrollments (id, user_id, course_id, created_at) "
                "VALUES (1, 1, 1, CURRENT_TIMESTAMP)"
            )
        )
    command.upgrade(config, "head")
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT e.id, e.cycle, u.email FROM enrollments e JOIN users u ON u.id = e.user_id"
            )
        ).all()
    assert [tuple(r) for r in rows] == [(1, 1, "a@example.test")]
    assert schema_differences(engine) == []


def test_the_ledger_migration_chains_the_rows_written_before(engine):
    from sqlalchemy.orm import Session

    from app.audit.ledger import verify

    config = alembic(engine)
    command.upgrade(config, "0017")
    with engine.begin() as connection:
        for action, moment in (("b.second", "2026-02-01"), ("a.first", "2026-01-01")):
            connection.execute(
                text(
                    "INSERT INTO audit_events (occurred_at, action, details) "
                    "VALUES (:moment, :action, '{}')"
                ),
                {"moment": f"{moment} 10:00:00+00:00", "action": action},
            )
    command.upgrade(config, "head")
    with Session(engine) as session:
        report = verify(session)
        actions = session.scalars(
            text(
                "SELECT a.action FROM ledger_entries l JOIN audit_events a ON a.id = l.row_id "
                "ORDER BY l.seq"
            )
        ).all()
    assert report.problems == [] and report.entries == 2
    assert actions == ["a.first", "b.second"]  # oldest first


def test_the_search_key_is_backfilled_for_existing_accounts(engine):
    config = alembic(engine)
    command.upgrade(config, "0015")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, email, name, employee_id, locale, active, "
                "session_generation, created_at) VALUES (1, 'IGOR@example.test', 'Ígor Ørsted', "
                "'É-7', 'en', true, 'g', CURRENT_TIMESTAMP)"
            )
        )
    command.upgrade(config, "head")
    with engine.connect() as connection:
        key = connection.execute(text("SELECT search_key FROM users")).scalar_one()
    assert key == "igor orsted\nigor@example.test\ne-7"
