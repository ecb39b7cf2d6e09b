"""The learner's certificates."""

from __future__ import annotations

from flask import current_app, render_template
from flask_login import current_user

from app.certificates.codes import grouped
from app.certificates.service import certificate_pdf as kept_pdf
from app.certificates.service import find_own_certificate, list_certificates, status_of
from app.db import get_session
from app.headers import attachment
from app.learn.views import bp


@bp.get("/certificates")
def certificates():
    owned = list_certificates(get_session(), current_user.id)
    return render_template(
        "learn/certificates.html", certificates=owned, status_of=status_of, grouped=grouped
    )


@bp.get("/certificates/<int:certificate_id>.pdf")
def certificate_pdf(certificate_id: int):
    session = get_session()
    certificate = find_own_certificate(session, current_user, certificate_id)
    # Kept by the job after the pass; if it has not run yet, rendered (and kept) now.
    response = current_app.response_class(
        kept_pdf(session, certificate), mimetype="application/pdf"
    )
    slug = certificate.facts["course_slug"]
    return attachment(response, f"candor-certificate-{slug}-{certificate.code[:4]}.pdf")
