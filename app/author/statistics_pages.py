"""Question statistics per version, and their CSV."""

from __future__ import annotations

from flask import Response, render_template, request

from app.author.views import STUDIO, bp
from app.authoring.statistics import (
    CSV_HEADER,
    MIN_ATTEMPTS,
    counted_grades,
    csv_rows,
    version_statistics,
)
from app.content.versions import find_version
from app.db import get_session
from app.exports.csv import csv_stream
from app.headers import attachment
from app.security import allow


def _statistics(slug: str, number: int):
    db = get_session()
    version = find_version(db, slug, number)
    first_only = request.args.get("attempts", "first") != "all"
    grades = counted_grades(db, version.id, first_only=first_only)
    return version, first_only, version_statistics(grades)


@bp.get("/courses/<slug>/v<int:number>/statistics")
@allow(*STUDIO)
def statistics(slug: str, number: int):
    version, first_only, stats = _statistics(slug, number)
    return render_template(
        "author/statistics.html",
        version=version,
        slug=slug,
        first_only=first_only,
        stats=stats,
        minimum=MIN_ATTEMPTS,
    )


@bp.get("/courses/<slug>/v<int:number>/statistics.csv")
@allow(*STUDIO)
def statistics_csv(slug: str, number: int):
    version, first_only, stats = _statistics(slug, number)
    which = "first" if first_only else "all"
    response = Response(csv_stream(csv_rows(stats), header=CSV_HEADER), mimetype="text/csv")
    return attachment(response, f"{slug}-v{number}-statistics-{which}.csv")
