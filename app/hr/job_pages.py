"""HR: a job's progress page, its state as JSON for the page's script, and its download.

Only the person who started a job, and admins, reach any of these (``records.find_job_for``:
anyone else gets a 404). The page works without JavaScript (it reloads itself every few
seconds while the job runs, and has a link to do so); ``static/jobs.js`` updates it in place.
The download is a POST (CSRF-checked, like every POST), like the export it finishes: it is
audited before the first byte.
"""

from __future__ import annotations

from flask import Response, jsonify, render_template, stream_with_context, url_for
from flask_login import current_user

from app.audit.events import record
from app.db import get_session, utcnow
from app.errors import DomainError
from app.headers import attachment
from app.hr.views import bp
from app.jobs.records import find_job_for, is_downloadable, list_jobs_for, result_chunks
from app.models import Job, JobState

RUNNING = (JobState.QUEUED, JobState.RUNNING)


def _state(job: Job) -> dict:
    now = utcnow()
    return {
        "id": job.id,
        "state": job.state.value,
        "done": job.done,
        "total": job.total,
        "error": job.error,
        "downloadable": is_downloadable(job, now),
        "page": url_for("hr.job", job_id=job.id),
    }


@bp.get("/jobs")
def jobs():
    return render_template("hr/jobs.html", jobs=list_jobs_for(get_session(), current_user))


@bp.get("/jobs/<int:job_id>")
def job(job_id: int):
    found = find_job_for(get_session(), current_user, job_id)
    return render_template(
        "hr/job.html",
        job=found,
        running=found.state in RUNNING,
        downloadable=is_downloadable(found, utcnow()),
    )


@bp.get("/jobs/<int:job_id>.json")
def job_state(job_id: int):
    return jsonify(_state(find_job_for(get_session(), current_user, job_id)))


@bp.post("/jobs/<int:job_id>/download")
def job_download(job_id: int):
    db = get_session()
    found = find_job_for(db, current_user, job_id)
    if not is_downloadable(found, utcnow()):
        raise DomainError("This job has no file to download (yet, or any more).", status=409)
    record(
        db,
        "export.downloaded",
        actor=current_user,
        subject=found,
        kind=found.kind,
        rows=found.total,
        size=found.result_size,
    )
    db.commit()  # audited before the first byte, as the export itself
    response = Response(
        stream_with_context(result_chunks(db, found)), content_type=found.result_type
    )
    response.headers["Content-Length"] = str(found.result_size)
    return attachment(response, found.result_name or f"candor-job-{found.id}")
