"""Shared pieces: gunicorn servers on loopback, a small cookie-keeping HTTP client, and wrk."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2


class BenchError(Exception):
    """Something the benchmark needs did not work; the run stops with this message."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the gunicorn master (it stops its workers), then SIGKILL to its group."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # its own group (start_new_session), stragglers
    except ProcessLookupError:
        pass
    process.wait()


def _no_control_socket() -> list[str]:
    # gunicorn >= 25.1 opens a control socket at ~/.gunicorn/gunicorn.ctl, shared by every
    # gunicorn of the user; the benchmark's servers need none.
    from gunicorn.config import KNOWN_SETTINGS

    known = any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS)
    return ["--no-control-socket"] if known else []


# The process group of the gunicorn serving each port (its master's pid: see ``gunicorn``).
_GROUPS: dict[int, int] = {}
_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(keep) -> float:
    """User and system CPU seconds of the live processes whose /proc stat ``keep`` accepts
    (called with the process's name and its stat fields after the name)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        name, _, rest = stat.partition(" (")[2].rpartition(")")
        fields = rest.split()  # state, ppid, pgrp, ..., utime (12th), stime (13th)
        if keep(name, fields):
            total += int(fields[11]) + int(fields[12])
    return total / _TICKS


def server_cpu_seconds(port: int) -> float:
    """CPU seconds used so far by the gunicorn serving ``port``: its master and workers."""
    group = str(_GROUPS[port])
    return _cpu_seconds(lambda _name, fields: fields[2] == group)


def database_cpu_seconds() -> float:
    """CPU seconds used so far by PostgreSQL's server processes on this machine (none on
    SQLite, whose work is in the workers)."""
    return _cpu_seconds(lambda name, _fields: name == "postgres")


@contextmanager
def gunicorn(app_spec: str, env: dict[str, str], *extra: str):
    """Serve ``app_spec`` as deployed (``deploy/gunicorn.conf.py``), with 2 sync workers on a
    free loopback port; yield the port (``server_cpu_seconds`` reads what it used). The floor
    is served the same way."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="candor-bench-gunicorn-", suffix=".log")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",  # as deployed; the options below override its address and workers
            str(ROOT / "deploy" / "gunicorn.conf.py"),
            "-w",
            str(WORKERS),
            "-k",
            "sync",
            "-b",
            f"{HOST}:{port}",
            *_no_control_socket(),
            *extra,
            app_spec,
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    _GROUPS[port] = process.pid  # start_new_session: the master leads a group of its own
    try:
        _wait_until_answering(process, port, log.name)
        yield port
    finally:
        _stop(process)
        _GROUPS.pop(port, None)
        log.close()


def _wait_until_answering(process: subprocess.Popen, port: int, log_path: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"gunicorn exited with {process.returncode}:\n{_tail(log_path)}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("GET", "/")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.1)
    raise BenchError(f"gunicorn did not answer on port {port} in 30 s:\n{_tail(log_path)}")


def _tail(path: str, lines: int = 30) -> str:
    return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])


class Browser:
    """Just enough of a browser: one host, cookies kept, redirects not followed."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None):
        headers = {"Cookie": self.cookie_header()} if self.cookies else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8")
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, response.headers, text

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())


@dataclass
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx_3xx: int
    socket_errors: str | None


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value).groups()
    return float(number) * _UNITS_MS[unit]


def parse_wrk(output: str) -> WrkResult:
    """Requests/sec, the 50% and 99% latency lines, and any errors wrk reports."""

    def find(pattern: str) -> str:
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            raise BenchError(f"wrk output has no line matching {pattern!r}:\n{output}")
        return match.group(1)

    non_2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output)
    errors = re.search(r"Socket errors:\s*(.+)$", output, re.MULTILINE)
    return WrkResult(
        requests_per_s=float(find(r"^Requests/sec:\s*([\d.]+)")),
        p50_ms=_ms(find(r"^\s*50%\s+(\S+)")),
        p99_ms=_ms(find(r"^\s*99%\s+(\S+)")),
        requests=int(find(r"^\s*(\d+) requests in")),
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=errors.group(1).strip() if errors else None,
    )


def wrk_path() -> str | None:
    return shutil.which("wrk") or (os.path.exists("/usr/bin/wrk") and "/usr/bin/wrk") or None


def wrk(
    port: int,
    path: str,
    *,
    duration: int,
    connections: int,
    threads: int,
    warmup: int,
    headers: tuple[str, ...] = (),
) -> dict:
    """A discarded warm-up run, then the measured one; the parsed figures as a dict."""
    command = [wrk_path(), f"-c{connections}", f"-t{threads}", "--latency"]
    for header in headers:
        command += ["-H", header]
    url = f"http://{HOST}:{port}{path}"
    try:
        if warmup > 0:
            subprocess.run([*command, f"-d{warmup}s", url], check=True, capture_output=True)
        done = subprocess.run(
            [*command, f"-d{duration}s", url], check=True, capture_output=True, text=True
        )
    except subprocess.CalledProcessError as error:
        raise BenchError(f"wrk failed ({error.returncode}): {error.stderr}") from None
    result = parse_wrk(done.stdout)
    if result.non_2xx_3xx:
        raise BenchError(f"{result.non_2xx_3xx} error responses from {path}:\n{done.stdout}")
    return asdict(result)
