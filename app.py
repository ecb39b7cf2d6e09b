"""Launcher for ``flask run`` and friends; the application itself is the ``app/`` package.

A package directory wins over a module of the same name, so ``import app`` (and
``flask --app app``, and ``gunicorn "app:create_app()"``) always gets ``app/``, never this
file. This file exists so that ``python app.py`` starts a development server too.
"""

if __name__ == "__main__":
    from app import create_app

    create_app().run(host="127.0.0.1", port=5000)
