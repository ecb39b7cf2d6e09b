"""Privacy requests HR handles for a person: a copy of everything Candor keeps about them."""

from __future__ import annotations

from flask import redirect, url_for
from flask_login import current_user

from app.db import get_or_404, get_session
from app.hr.views import bp
from app.models import User
from app.privacy.subject_access import start_subject_access
from app.tasks import get_queue


@bp.post("/people/<int:user_id>/personal-data")
def subject_access(user_id: int):
    db = get_session()
    person = get_or_404(db, User, user_id, "There is no such person.")
    job = start_subject_access(db, current_user, person)
    db.commit()
    get_queue().enqueue_job(job.id)
    return redirect(url_for("hr.job", job_id=job.id), code=303)
