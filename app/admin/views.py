"""Administration: the people with accounts, and switching accounts off and on."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from app.db import get_session
from app.models import Role, User
from app.people.accounts import deactivate_account, reactivate_account
from app.security import restrict_to

bp = Blueprint("admin", __name__, url_prefix="/admin")
restrict_to(bp, Role.ADMIN)


@bp.get("/users")
def users():
    people = get_session().scalars(select(User).order_by(User.name, User.id)).all()
    return render_template("admin/users.html", people=people)


@bp.post("/users/<int:user_id>/deactivate")
def deactivate(user_id: int):
    user = deactivate_account(get_session(), current_user, user_id)
    get_session().commit()
    flash(f"{user.name} is deactivated: they cannot sign in, and their records stay.", "info")
    return redirect(url_for("admin.users"), code=303)


@bp.post("/users/<int:user_id>/reactivate")
def reactivate(user_id: int):
    user = reactivate_account(get_session(), current_user, user_id)
    get_session().commit()
    flash(f"{user.name} can sign in again.", "info")
    return redirect(url_for("admin.users"), code=303)
