"""`make run PORT=...`: the sign-in address printed, and the address certificates point to."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from app import create_app
from app.db import dispose_engines

ROOT = Path(__file__).resolve().parents[1]


def dry_run(*args: str, **env: str) -> str:
    """What ``make run`` would run (``make -n``: nothing is run)."""
    clean = {k: v for k, v in os.environ.items() if k != "CANDOR_BASE_URL"}
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_on_another_port_points_everything_at_it():
    commands = dry_run("PORT=5050")
    assert "--port 5050" in commands
    assert "sign in at http://127.0.0.1:5050/login" in commands
    # The demo accounts' sign-in address, and the web server and the worker (which issue
    # certificates and e-mail links) all get the base URL of that port.
    assert commands.count("CANDOR_BASE_URL='http://127.0.0.1:5050'") == 2
    assert "5000" not in commands


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_a_configured_base_url_wins_over_the_port():
    commands = dry_run("PORT=5050", CANDOR_BASE_URL="https://training.example.test")
    assert "sign in at https://training.example.test/login" in commands
    assert "CANDOR_BASE_URL='https://training.example.test'" in commands


def test_certificates_point_to_the_base_url_in_the_environment(tmp_path, monkeypatch):
    from conftest import TEST_SIGNING_KEY

    from app.certificates.service import issuer_of

    monkeypatch.setenv("CANDOR_BASE_URL", "http://127.0.0.1:5050")  # what make run sets
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'candor.sqlite3'}",
            "CERTIFICATE_SIGNING_KEY": TEST_SIGNING_KEY,
        }
    )
    with app.extensions["candor.sessionmaker"]() as session:
        url = issuer_of(session).verify_url("7KQ4M9XD2HBTQ8RE5WZN")
    dispose_engines(app)
    assert url.startswith("http://127.0.0.1:5050/verify/")
