"""The Candor application factory.

``create_app()`` builds the app in a few named steps; ``gunicorn "app:create_app()"`` serves
it. Nothing imports the factory but launchers and tests.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_wtf.csrf import CSRFProtect

from app import converters, db, security, tasks
from app.audit import ledger
from app.config import load_config

# Every ORM session in the process chains the records it writes (app/audit/ledger.py): done
# when the package is imported, so sessions opened outside an app (tests, migrations) do too.
ledger.install()

csrf = CSRFProtect()


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app; ``overrides`` replace configuration keys (tests use it)."""
    app = Flask(__name__, instance_relative_config=True)
    if overrides and overrides.get("TESTING"):
        app.testing = True
    load_config(app, overrides)
    converters.register(app.url_map)  # before any route is added
    _trust_proxies(app)
    db.init_app(app, info=_session_services(app))
    security.init_app(app)
    tasks.init_app(app)
    csrf.init_app(app)
    app.before_request(_check_csrf)
    _register_blueprints(app)
    _register_single_sign_on(app)
    _register_errors(app)
    _register_templates(app)
    _register_headers(app)
    _register_cli(app)
    _warm_up_pdfs(app)
    return app


def _check_csrf() -> None:
    """Flask-WTF's check of the CSRF token, on the methods it guards (POST, PUT, PATCH,
    DELETE) only: a 400 when the token is missing or wrong (WTF_CSRF_CHECK_DEFAULT is off)."""
    config = current_app.config
    if request.method in config["WTF_CSRF_METHODS"] and config["WTF_CSRF_ENABLED"]:
        csrf.protect(apply_exemptions=True)


def _warm_up_pdfs(app: Flask) -> None:
    """With PDF_WARM_UP, build the PDF renderer now rather than in some learner's request."""
    if app.config["PDF_WARM_UP"]:
        from app.certificates.pdf import warm_up

        warm_up()


def _trust_proxies(app: Flask) -> None:
    """Believe X-Forwarded-For and -Proto from exactly PROXY_HOPS proxies, and nobody else."""
    if hops := app.config["PROXY_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def _session_services(app: Flask) -> dict:
    """What the domain reaches through ``session.info``: the certificate issuer, and the
    process's cache of published versions."""
    from app.content.published import SESSION_KEY, PublishedVersions

    return {"certificate_issuer": _certificate_issuer(app), SESSION_KEY: PublishedVersions()}


def _certificate_issuer(app: Flask):
    from app.certificates.service import CertificateIssuer
    from app.certificates.signing import load_signer

    return CertificateIssuer(
        signer=load_signer(app.config["CERTIFICATE_SIGNING_KEY"], app.instance_path),
        base_url=app.config["BASE_URL"],
        organisation=app.config["ORGANISATION_NAME"],
    )


def _register_blueprints(app: Flask) -> None:
    from app.admin import bp as admin_bp
    from app.auth import bp as auth_bp
    from app.author import bp as author_bp
    from app.hr import bp as hr_bp
    from app.learn import bp as learn_bp
    from app.team import bp as team_bp
    from app.verify import bp as verify_bp

    for blueprint in (auth_bp, learn_bp, hr_bp, admin_bp, author_bp, team_bp, verify_bp):
        app.register_blueprint(blueprint)


def _register_single_sign_on(app: Flask) -> None:
    from app.auth.sso_pages import init_app

    init_app(app)


def _register_errors(app: Flask) -> None:
    from app.errors import register_handlers

    register_handlers(app)


def _register_templates(app: Flask) -> None:
    from app.templating import register

    register(app)


def _register_headers(app: Flask) -> None:
    from app.headers import SecurityHeaders

    app.wsgi_app = SecurityHeaders(app.wsgi_app, app)  # type: ignore[method-assign]


def _register_cli(app: Flask) -> None:
    from app.cli import register

    register(app)
