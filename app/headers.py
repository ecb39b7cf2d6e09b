"""Response headers every page carries."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from flask import Response, current_app, request

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


def add_security_headers(response: Response) -> Response:
    """Set the CSP and friends; pages that depend on who is signed in are never cached."""
    headers = response.headers
    # One pass over the few headers a response has (setdefault scanned them once per header).
    present = {name.lower() for name in headers.keys()}
    for name, value in DEFAULT_HEADERS:
        if name.lower() not in present:
            headers.add(name, value)
    if request.endpoint != "static" and "cache-control" not in present:
        headers["Cache-Control"] = "no-store"
    # The configured scheme decides, not only what the request looks like: behind a TLS proxy
    # that does not say X-Forwarded-Proto, the request looks like plain HTTP.
    if request.is_secure or current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


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
