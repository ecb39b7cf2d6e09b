"""Errors the domain raises and the pages that show them.

A ``DomainError`` carries a message that is safe to show the user and the HTTP status that
fits it; the web layer renders it, the CLI prints it. Anything else that escapes a view is a
bug: the user sees a generic page with a reference id, the log gets the traceback.
"""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the user can understand; ``status`` is the HTTP status that fits it."""

    status: int = 400

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class NotFound(DomainError):
    """The object does not exist, or is not this user's (both answer the same)."""

    status = 404

    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(message)


def register_handlers(app) -> None:
    """Render refusals as pages with their status; hide internal errors behind a reference."""
    import secrets

    from flask import render_template, request
    from flask_wtf.csrf import CSRFError
    from werkzeug.exceptions import HTTPException

    def page(title: str, message: str, status: int, reference: str | None = None):
        return (
            render_template(
                "error.html", title=title, message=message, status=status, reference=reference
            ),
            status,
        )

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        return page(_TITLES.get(error.status, "Cannot do that"), error.message, error.status)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return page(
            "Form expired",
            "The form was missing its security token or it had "
            "expired. Go back, reload the page and try again.",
            400,
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        body, status = page(_TITLES.get(status, error.name), error.description or "", status)
        # The error's own headers: Allow on a 405 (RFC 9110 15.5.6), WWW-Authenticate, ...
        headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
        return body, status, headers

    @app.errorhandler(Exception)
    def internal_error(error: Exception):
        reference = secrets.token_hex(6)
        app.logger.exception("unhandled error %s on %s %r", reference, request.method, request.path)
        return page(
            "Something went wrong",
            "Something went wrong on our side. If it "
            "happens again, tell your administrator this reference.",
            500,
            reference,
        )


_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Invalid content",
    429: "Too many attempts",
}
