"""Sign-in security: requiring two-step sign-in for HR and administrators, and resetting the
two-step sign-in of someone who lost their phone."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.admin.views import bp
from app.db import get_or_404, get_session
from app.models import User
from app.people import two_factor as factors


@bp.get("/security")
def security():
    db = get_session()
    return render_template(
        "admin/security.html",
        required=factors.required_for_staff(db),
        staff=factors.staff_with_factors(db),
        listed_max=factors.STAFF_LISTED,
    )


@bp.post("/security")
def save_security():
    factors.require_for_staff(get_session(), current_user, request.form.get("required") == "1")
    get_session().commit()
    flash("Saved. The change applies from each person's next sign-in.", "info")
    return redirect(url_for("admin.security"), code=303)


@bp.post("/users/<int:user_id>/two-factor/reset")
def reset_two_factor(user_id: int):
    db = get_session()
    person = get_or_404(db, User, user_id, "There is no such person.")
    factors.reset_for(db, current_user, person.id)
    db.commit()
    flash(
        f"{person.name}'s two-step sign-in is reset and their sessions have ended; they set "
        "it up again at their next sign-in (if their role requires it) or from their account.",
        "info",
    )
    return redirect(url_for("admin.security"), code=303)
