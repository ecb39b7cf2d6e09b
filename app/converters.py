"""The URL converters: what a number in a path may be.

Every ``<int:...>`` in a route is a row id or a version number: plain ASCII digits, at most
:data:`app.fields.MAX_ID`. Werkzeug's own converter takes any Unicode digit and any size,
so ``/attempts/9223372036854775808`` reached the database, which raised (a 500) instead of
finding nothing. Anything else now answers 404 before a view runs.
"""

from __future__ import annotations

from werkzeug.routing import IntegerConverter, Map, ValidationError

from app.fields import MAX_ID, whole_number


class IdConverter(IntegerConverter):
    """``<int:name>``: a whole number from 0 to MAX_ID, written in plain digits."""

    regex = r"[0-9]{1,10}"

    def to_python(self, value: str) -> int:
        number = whole_number(value, 0, MAX_ID)
        if number is None:
            raise ValidationError()
        return number


def register(url_map: Map) -> None:
    """Make ``<int:...>`` mean :class:`IdConverter` in every route of ``url_map``."""
    url_map.converters["int"] = IdConverter
