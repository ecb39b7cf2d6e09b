"""Response headers every page carries."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from urllib.parse import quote

from flask import Flask, Response

# Everything Candor shows comes from Candor: no CDN, no third-party script, font or image.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self'",
        "style-src 'self'",
        "script-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# Set on every response unless the view set its own (a verify page's Referrer-Policy).
DEFAULT_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
_DEFAULTS = tuple((name.lower(), (name, value)) for name, value in DEFAULT_HEADERS)
NO_STORE = ("Cache-Control", "no-store")
HSTS = ("Strict-Transport-Security", "max-age=31536000")


class SecurityHeaders:
    """WSGI middleware around the app: every response gets ``DEFAULT_HEADERS`` (but those the
    view set itself), ``Cache-Control: no-store`` unless it says otherwise or is a static
    file (pages depend on who is signed in), and Strict-Transport-Security over HTTPS.

    Added to the list of headers as it is sent: as an ``after_request`` hook, each constant
    went through Werkzeug's header checks twice (when set, then when the response copied its
    headers to send them), about 9% of a verification JSON's instructions."""

    def __init__(self, wsgi_app: Callable, app: Flask) -> None:
        self.wsgi_app = wsgi_app
        self.app = app
        # None when the app serves no static files (every path would start with "/").
        self.static_prefix = f"{app.static_url_path}/" if app.static_url_path else None

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info=None):
            present = {name.lower() for name, _ in headers}
            headers.extend(header for name, header in _DEFAULTS if name not in present)
            static = self.static_prefix is not None and environ.get("PATH_INFO", "").startswith(
                self.static_prefix
            )
            if "cache-control" not in present and not static:
                headers.append(NO_STORE)
            # The configured scheme decides, not only what the request looks like: behind a
            # TLS proxy that does not say X-Forwarded-Proto, the request looks like plain HTTP.
            if "strict-transport-security" not in present and (
                environ.get("wsgi.url_scheme") == "https"
                or self.app.config.get("SESSION_COOKIE_SECURE")
            ):
                headers.append(HSTS)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


def attachment(response: Response, filename: str) -> Response:
    """Make ``response`` a download named ``filename``, never kept by a cache (what Candor
    sends as a file is personal data or a record). The name is quoted, without control
    characters; one that is not ASCII also goes as RFC 6266 says (as Werkzeug's send_file
    does): an ASCII fallback, then the UTF-8 name."""
    plain = "".join(c for c in filename if c.isprintable())
    value = f"attachment; filename={_quoted(plain)}"
    if not plain.isascii():
        fallback = unicodedata.normalize("NFKD", plain).encode("ascii", "ignore").decode()
        encoded = quote(plain, safe="!#$&+-.^_`|~")
        value = f"attachment; filename={_quoted(fallback)}; filename*=UTF-8''{encoded}"
    response.headers["Content-Disposition"] = value
    response.headers["Cache-Control"] = "no-store"
    return response


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
