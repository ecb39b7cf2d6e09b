"""Alembic environment: migrations run on the app's engine (``flask --app app db upgrade``).

The engine is handed over in ``config.attributes["engine"]`` by the CLI and the tests; run
through plain ``alembic``, the app is built to find it.
"""

from alembic import context

import app.models  # noqa: F401  (registers every table on Base.metadata)
from app.db import Base

config = context.config
target_metadata = Base.metadata


def _engine():
    engine = config.attributes.get("engine")
    if engine is None:
        from app import create_app
        from app.db import get_engine

        with create_app().app_context():
            engine = get_engine()
    return engine


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    with _engine().begin() as connection:
        _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run them online.")
run_migrations_online()
