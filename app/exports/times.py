"""How a moment reads in a CSV export: ISO 8601 in UTC to the second, ``2026-12-01T09:15:00Z``.

One rule, two readers: ``iso_utc`` in Python (any CSV cell holding a datetime) and
``iso_utc_sql`` in SQL (the completion export has the database write its times, so no
datetime is made per cell). Both cut the fraction of a second off, never round it;
``tests/services/test_export_times.py`` checks that they agree on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, func, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC to the second, ``2026-12-01T09:15:00Z``; naive times are taken as UTC."""
    if moment.tzinfo is not None and moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # isoformat is several times faster than strftime; its first 19 characters are the time.
    return moment.isoformat(timespec="seconds")[:19] + "Z"


class iso_utc_sql(FunctionElement[str]):  # noqa: N801  (used like a SQL function)
    """``iso_utc`` of a UTC time column, computed by the database (NULL stays NULL)."""

    type = String()
    inherit_cache = True
    name = "iso_utc"


@compiles(iso_utc_sql, "sqlite")
def _sqlite(element: iso_utc_sql, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps UTC times as text, 'YYYY-MM-DD HH:MM:SS.ffffff'; strftime reads that.
    (column,) = element.clauses
    return compiler.process(func.strftime("%Y-%m-%dT%H:%M:%SZ", column), **kw)


@compiles(iso_utc_sql, "postgresql")
def _postgresql(element: iso_utc_sql, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    utc = column.op("AT TIME ZONE")(literal_column("'UTC'"))
    return compiler.process(func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), **kw)
