"""The floor: a bare Flask app rendering a Jinja page of a given byte size.

``GET /<size>`` renders a page of exactly ``size`` bytes from a Jinja template (``/`` uses
``BENCH_PAGE_BYTES``). Served with the same gunicorn settings as Candor, it shows what the
machine, gunicorn, Flask and Jinja cost on their own:
``gunicorn --pythonpath benchmarks "bare_app:create_app()"``.
"""

from __future__ import annotations

import os

from flask import Flask, render_template
from jinja2 import DictLoader

HEAD = '<!doctype html>\n<html lang="en"><head><title>Bare</title></head><body><p>'
TAIL = "</p></body></html>\n"


TEMPLATE = "{{ head|safe }}{{ body }}{{ tail|safe }}"
MAX_SIZE = 1_000_000


def create_app() -> Flask:
    app = Flask(__name__)
    app.jinja_loader = DictLoader({"page.html": TEMPLATE})  # compiled once, cached as Candor's
    default = int(os.environ.get("BENCH_PAGE_BYTES", "10000"))

    @app.get("/")
    def index():
        return sized(default)

    @app.get("/<int:size>")
    def sized(size: int):
        body = "x" * max(0, min(size, MAX_SIZE) - len(HEAD) - len(TAIL))
        return render_template("page.html", head=HEAD, body=body, tail=TAIL)

    return app
