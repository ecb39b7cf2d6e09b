"""Finding one's own way in: a forgotten password, and the links e-mailed for a first or a
new password (invitations, resets). Every page works without JavaScript."""

from __future__ import annotations

from flask import current_app, flash, make_response, redirect, render_template, request, url_for

from app.auth.forms import ForgotPasswordForm, SetPasswordForm
from app.auth.views import bp
from app.db import get_session
from app.errors import DomainError
from app.fields import normalise_email
from app.people.invitations import find_invitation, redeem_invitation
from app.people.resets import find_reset, reset_password
from app.security import count_reset_request, public
from app.tasks import get_queue

# A link that cannot be used: its page says why and how to get a new one (a 404, 410 or 403).
LINK_PROBLEM = "auth/link_problem.html"


def _link_problem(error: DomainError):
    return _page(
        LINK_PROBLEM,
        error.status,
        message=error.message,
        status=error.status,
        form=ForgotPasswordForm(),
    )


def _page(template: str, code: int = 200, **context):
    """A page reached through a link that carries a token: no Referer leaves it."""
    response = make_response(render_template(template, **context), code)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/forgot-password", methods=["GET", "POST"])
@public
def forgot_password():
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/forgot.html", form=form), status
    email = normalise_email(form.email.data)
    # The same work for every address: count, hand over to a worker, answer. Whether the
    # address has an account is decided by the worker (people.resets.send_reset).
    if count_reset_request(email):
        get_queue().send_password_reset(email)
    return redirect(url_for("auth.forgot_password_sent"), code=303)


@bp.get("/forgot-password/sent")
@public
def forgot_password_sent():
    return render_template(
        "auth/forgot_sent.html", minutes=current_app.config["PASSWORD_RESET_MINUTES"]
    )


@bp.route("/reset-password/<reset_token>", methods=["GET", "POST"])
@public
def reset(reset_token: str):
    db = get_session()
    try:
        find_reset(db, reset_token)
    except DomainError as error:
        return _link_problem(error)
    form = SetPasswordForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return _page("auth/reset.html", status, form=form)
    try:
        reset_password(db, reset_token, form.new.data)
    except DomainError as error:  # the password policy (the link stays open)
        form.new.errors.append(error.message)
        return _page("auth/reset.html", 400, form=form)
    db.commit()
    flash(
        "Your new password is set and every session of your account has ended. "
        "Sign in with the new password.",
        "info",
    )
    return redirect(url_for("auth.login"), code=303)


@bp.route("/invite/<token>", methods=["GET", "POST"])
@public
def invitation(token: str):
    db = get_session()
    try:
        find_invitation(db, token)  # the same refusal for unknown and used links
    except DomainError as error:
        return _link_problem(error)
    form = SetPasswordForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return _page("auth/invitation.html", status, form=form)
    try:
        redeem_invitation(db, token, form.new.data)
    except DomainError as error:  # the password policy (the link stays open)
        form.new.errors.append(error.message)
        return _page("auth/invitation.html", 400, form=form)
    db.commit()
    flash("Your password is set. Sign in with your work e-mail and the new password.", "info")
    return redirect(url_for("auth.login"), code=303)
