"""The documented deployment holds: nginx (Debian's package) in front of gunicorn on loopback,
started here on ephemeral ports with the repository's deploy/candor-proxy.conf.

- The slow-connection attack: sockets that trickle their headers hold gunicorn's sync workers
  when they reach gunicorn directly (the control, which shows the attack is real), and do
  not stop /login from answering through nginx.
- The lock-out attack through the proxy: wrong passwords for random e-mails from the one
  address everyone shares behind it do not lock out a browser that has signed in before.
"""

from __future__ import annotations

import http.cookiejar
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, TEST_SIGNING_KEY
from helpers import CSRF_INPUT, PASSWORD, PASSWORD_METHOD
from sqlalchemy.orm import Session

from app.db import make_engine
from app.models import Role, User

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
REDIS_URL = os.environ.get("CANDOR_TEST_REDIS_URL")
REQUIRED = bool(os.environ.get("CI") or os.environ.get("CANDOR_REQUIRE_BROWSER"))
GUNICORN_WORKERS = 2
SLOW_SOCKETS = 6
USERS = ("agent.one@example.test", "agent.two@example.test")

if not Path(NGINX).exists():
    if REQUIRED:
        raise RuntimeError(f"nginx is missing ({NGINX}): apt-get install nginx-light")
    pytest.skip("nginx is not installed (apt-get install nginx-light)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_answering(port: int, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5):
                return
        except (OSError, urllib.error.URLError):
            time.sleep(0.2)
    raise RuntimeError(f"{what} is not answering on port {port}")


NGINX_CONF = """\
{user}
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream candor_app {{
        server 127.0.0.1:{app_port};
        keepalive 4;
    }}
    server {{
        listen 127.0.0.1:{web_port};
        include {root}/deploy/candor-proxy.conf;
    }}
}}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory, sqlite_templates, password_hash):
    """gunicorn (as deploy/gunicorn.conf.py, on an ephemeral loopback port) behind nginx."""
    folder = tmp_path_factory.mktemp("stack")
    database = folder / "candor.sqlite3"
    shutil.copyfile(sqlite_templates.published, database)
    engine = make_engine(f"sqlite:///{database}")
    with Session(engine) as session:
        for email in USERS:
            user = User(email=email, name=email.split("@")[0].replace(".", " ").title())
            user.roles = {Role.LEARNER}
            user.password_hash = password_hash
            session.add(user)
        session.commit()
    engine.dispose()
    app_port, web_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CANDOR_")},
        "CANDOR_SECRET_KEY": "nginx-test-" + "k" * 40,
        "CANDOR_DATABASE_URL": f"sqlite:///{database}",
        "CANDOR_CERTIFICATE_SIGNING_KEY": TEST_SIGNING_KEY,
        "CANDOR_BASE_URL": f"http://127.0.0.1:{web_port}",
        "CANDOR_PROXY_HOPS": "1",
        "CANDOR_LOGIN_LIMIT_PER_ADDRESS": '"5 per minute"',
        "CANDOR_RATELIMIT_KEY_PREFIX": f"nginx-test-{secrets.token_hex(4)}",
    }
    if REDIS_URL:  # the deployment's shared counts; memory:// counts per worker
        env["CANDOR_RATELIMIT_STORAGE_URL"] = REDIS_URL
    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "deploy" / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{app_port}",
            "--workers",
            str(GUNICORN_WORKERS),
            "app:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(folder / "gunicorn.log").open("wb"),
    )
    conf = folder / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            user="user root;" if os.geteuid() == 0 else "",
            folder=folder,
            app_port=app_port,
            web_port=web_port,
            root=ROOT,
        )
    )
    nginx = subprocess.Popen(
        [NGINX, "-p", str(folder), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=(folder / "nginx.log").open("wb"),
    )
    try:
        wait_until_answering(app_port, gunicorn, "gunicorn")
        wait_until_answering(web_port, nginx, "nginx")
        yield {"app_port": app_port, "web_port": web_port}
    finally:
        for process in (nginx, gunicorn):
            process.terminate()
        for process in (nginx, gunicorn):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


class SlowClients:
    """Sockets that send a request line and then one header line now and then, never ending
    the head: the slow-connection ("slowloris") attack."""

    def __init__(self, port: int, count: int) -> None:
        self.sockets = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET /login HTTP/1.1\r\nHost: localhost\r\n")
            self.sockets.append(sock)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()
        time.sleep(1)  # let the server take them in

    def _trickle(self) -> None:
        while not self.stop.wait(0.5):
            for sock in self.sockets:
                try:
                    sock.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for sock in self.sockets:
            sock.close()


def answers(port: int, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=timeout) as page:
            return page.status == 200
    except (OSError, urllib.error.URLError):
        return False


def test_slow_clients_stall_gunicorn_on_its_own(stack):
    """The control: the attack is real against gunicorn alone (why it is never public)."""
    attack = SlowClients(stack["app_port"], SLOW_SOCKETS)
    try:
        assert not answers(stack["app_port"], timeout=3)
    finally:
        attack.close()
    assert answers(stack["app_port"], timeout=30)  # back once the sockets are gone


def test_login_answers_through_nginx_while_slow_clients_trickle(stack):
    attack = SlowClients(stack["web_port"], SLOW_SOCKETS * 5)
    try:
        for _ in range(3):
            assert answers(stack["web_port"], timeout=30)
    finally:
        attack.close()


def test_nginx_does_not_name_gunicorn(stack):
    with urllib.request.urlopen(f"http://127.0.0.1:{stack['web_port']}/login") as page:
        server = page.headers.get("Server", "")
    assert "gunicorn" not in server.lower() and "/" not in server  # no name of ours, no version


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A browser with its own cookies, talking to nginx."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )

    def sign_in(self, email: str, password: str) -> int:
        with self.opener.open(f"{self.base}/login", timeout=30) as page:
            token = CSRF_INPUT.search(page.read().decode()).group(1)
        form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token})
        try:
            with self.opener.open(f"{self.base}/login", form.encode(), timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code


def test_the_lock_out_attack_through_the_proxy(stack):
    assert PASSWORD_METHOD  # the users were made with the suite's cheap hash of PASSWORD
    known = [Browser(stack["web_port"]) for _ in USERS]
    for browser, email in zip(known, USERS, strict=True):
        assert browser.sign_in(email, PASSWORD) == 303
    attacker = Browser(stack["web_port"])
    statuses = [attacker.sign_in(f"random{n}@example.test", "wrong guess") for n in range(12)]
    # Everyone behind the proxy shares this address's budget (in Redis, one budget for all
    # workers; with memory:// each worker counts its own).
    allowed = 5 if REDIS_URL else 5 * GUNICORN_WORKERS
    assert statuses.count(429) >= 12 - allowed
    for browser, email in zip(known, USERS, strict=True):
        assert browser.sign_in(email, PASSWORD) == 303  # known browsers are not locked out
    newcomer = Browser(stack["web_port"])
    if REDIS_URL:
        assert newcomer.sign_in(USERS[0], PASSWORD) == 429  # an unknown browser is, for now
