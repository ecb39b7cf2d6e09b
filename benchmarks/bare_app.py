"""The baseline: a bare Flask app serving one static page of ``BENCH_PAGE_BYTES`` bytes.

Served with the same gunicorn settings as Candor, it shows what the machine, gunicorn and Flask
cost on their own: ``gunicorn --pythonpath benchmarks "bare_app:create_app()"``.
"""

from __future__ import annotations

import os

from flask import Flask

HEAD = '<!doctype html>\n<html lang="en"><head><title>Bare</title></head><body><p>'
TAIL = "</p></body></html>\n"


def page_of(size: int) -> str:
    """An ASCII HTML page of exactly ``size`` bytes (at least the bare markup)."""
    return HEAD + "x" * max(0, size - len(HEAD) - len(TAIL)) + TAIL


def create_app() -> Flask:
    app = Flask(__name__)
    page = page_of(int(os.environ.get("BENCH_PAGE_BYTES", "10000")))

    @app.get("/")
    def index():
        return page

    return app
