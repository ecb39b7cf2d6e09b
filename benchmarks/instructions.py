"""Instructions per request, counted by valgrind's callgrind: the same count for the same code
and inputs however loaded the machine is, where seconds are not.

A child process (``python <script> <its arguments>``) starts under callgrind, warms up, and
then serves each page ``count`` times in a phase of its own, calling ``os.getpgid(0)`` before
each phase and at the end. Callgrind is started with ``--dump-before=getpgid``, so each call
writes the counts since the previous one to a file of its own and starts again from zero:
the first file holds start-up and warm-up, the next ones one phase each. Nothing in a request
calls ``getpgid``. Python functions cannot be named to callgrind (only C functions can), which
is why the phases are marked this way.

A child uses :func:`phases` to mark them (having frozen its start-up heap, as a deployed worker
does); the parent calls :func:`per_request`.
"""

from __future__ import annotations

import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

MARK = "getpgid"


def available() -> bool:
    return shutil.which("valgrind") is not None


def phases(serve: Callable[[str], object], paths: Sequence[str], count: int) -> None:
    """In the child: serve each path ``count`` times, one phase each, after two warm-ups.
    First, what start-up made is frozen out of the garbage collector's reach, as each
    gunicorn worker does once it has built the app (``deploy/gunicorn.conf.py``): otherwise
    a full collection over the start-up heap lands in whichever phase reaches its threshold
    (the same one every run), and that phase counts as a costlier page than it is."""
    gc.collect()
    gc.freeze()
    for _ in range(2):
        for path in paths:
            serve(path)
    for path in paths:
        os.getpgid(0)
        for _ in range(count):
            serve(path)
    os.getpgid(0)


def per_request(
    child: Sequence[str], paths: Sequence[str], count: int, env: dict[str, str] | None = None
) -> dict[str, int]:
    """Run ``python *child`` under callgrind (the child calls :func:`phases` with ``paths``
    and ``count``); the instructions one request to each path costs, by path."""
    with tempfile.TemporaryDirectory(prefix="candor-callgrind-") as folder:
        out = Path(folder) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--dump-before={MARK}",
            f"--callgrind-out-file={out}",
            sys.executable,
            *child,
        ]
        run_env = {**(env or os.environ), "PYTHONHASHSEED": "0"}
        done = subprocess.run(command, capture_output=True, text=True, env=run_env, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"callgrind run failed:\n{done.stderr[-2000:]}")
        dumps = sorted(
            Path(folder).glob("callgrind.out.*"), key=lambda p: int(p.name.rsplit(".", 1)[1])
        )
        # The first dump is start-up and warm-up; then one per path, in order.
        totals = [_total(dump) for dump in dumps]
        if len(totals) != len(paths) + 1:
            raise RuntimeError(
                f"expected {len(paths) + 1} callgrind dumps, found {len(totals)}: did "
                f"something else call {MARK}()?"
            )
        return {path: total // count for path, total in zip(paths, totals[1:], strict=True)}


def _total(dump: Path) -> int:
    match = re.search(r"^(?:summary|totals): (\d+)", dump.read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"{dump} has no summary line")
    return int(match.group(1))
