"""HR: the obligations registry and who each obligation covers, by department."""

from __future__ import annotations

from flask import render_template

from app.db import get_session, utcnow
from app.hr.views import bp
from app.obligations.coverage import obligation_coverage


@bp.get("/obligations")
def obligations():
    return render_template(
        "hr/obligations.html", report=obligation_coverage(get_session(), utcnow())
    )
