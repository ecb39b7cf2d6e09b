# Examples for semgrep/candor.yml, checked by `semgrep --test semgrep/`.
# ruff: noqa
import sqlalchemy
from flask import redirect, request, url_for

from app.fields import whole_number


def page_number(text):
    # ruleid: candor-isdigit-then-int
    if text.isdigit():
        return int(text)
    # ok: candor-isdigit-then-int
    return whole_number(text)


@bp.get("/report")
def report():
    db = get_session()
    # ruleid: candor-get-route-commits
    db.commit()


@bp.post("/report")
def make_report():
    db = get_session()
    # ok: candor-get-route-commits
    db.commit()


def count(connection, name):
    # ruleid: candor-raw-sql
    connection.execute(sqlalchemy.text(f"SELECT count(*) FROM users WHERE name = '{name}'"))
    # ruleid: candor-raw-sql
    connection.exec_driver_sql("PRAGMA foreign_keys = ON")
    # ok: candor-raw-sql
    return connection.execute(sqlalchemy.select(User).where(User.name == name))


def after_login(form):
    # ruleid: candor-unchecked-redirect
    redirect(request.args.get("next"))
    # ruleid: candor-unchecked-redirect
    redirect(form.next.data, code=303)
    # ok: candor-unchecked-redirect
    redirect(safe_next(form.next.data) or url_for("auth.account"), code=303)
    # ok: candor-unchecked-redirect
    return redirect(url_for("auth.login"), code=303)
