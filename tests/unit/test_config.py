"""Configuration comes from CANDOR_* variables; unsafe or unknown settings stop the app."""

from __future__ import annotations

import pytest

from app import create_app
from app.config import DEV_SECRET_KEY


def test_production_refuses_the_development_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("CANDOR_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="development secret key"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "SECRET_KEY": DEV_SECRET_KEY})


def test_unknown_candor_variable_is_refused(monkeypatch):
    monkeypatch.setenv("CANDOR_DATABSE_URL", "sqlite://")
    with pytest.raises(RuntimeError, match="CANDOR_DATABSE_URL"):
        create_app({"TESTING": True})


def test_environment_sets_keys_and_https_base_url_secures_the_cookie(tmp_path, monkeypatch):
    monkeypatch.setenv("CANDOR_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("CANDOR_BASE_URL", "https://training.example")
    monkeypatch.setenv("CANDOR_SESSION_IDLE_HOURS", "3")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-candor"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.permanent_session_lifetime.total_seconds() == 3 * 3600


def test_secret_key_file_in_instance_is_used(tmp_path, monkeypatch):
    monkeypatch.delenv("CANDOR_SECRET_KEY", raising=False)
    monkeypatch.setattr("flask.Flask.auto_find_instance_path", lambda self: str(tmp_path))
    (tmp_path / "secret_key").write_text("written-by-make-run\n")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert app.config["SECRET_KEY"] == "written-by-make-run"


def test_sqlite_in_instance_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv("CANDOR_DATABASE_URL", raising=False)
    monkeypatch.setattr("flask.Flask.auto_find_instance_path", lambda self: str(tmp_path))
    app = create_app({"TESTING": True})
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path}/candor.sqlite3"
