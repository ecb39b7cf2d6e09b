"""``make bench``: Candor's benchmarks. For now one, the signed-in module page (module_page.py).

Prints a table per database backend and writes benchmarks/out/module_page.json. The targets
are printed, not asserted: the exit status is 0 unless something failed to run.

    .venv/bin/python benchmarks/run.py [--duration 10] [--backend sqlite]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

import module_page
from harness import WORKERS, BenchError, wrk_path

OUT = Path(__file__).resolve().parent / "out"
TARGET_RATIO = 0.5
TARGET_P99_MS = 30.0
BACKENDS = {"sqlite": module_page.sqlite_database, "postgresql": module_page.postgres_database}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of discarded warm-up")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backend", choices=[*BACKENDS, "all"], default="all")
    return parser.parse_args()


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def print_table(name: str, result: dict, settings: str) -> None:
    candor, bare = result["candor"], result["bare"]
    print(f"\n{name}: {result['path']} ({result['page_bytes']:,} bytes), {settings}")
    print(f"  {'':8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for label, row in (("candor", candor), ("bare", bare)):
        print(f"  {label:8} {row['requests_per_s']:9.1f} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f}")
    print(
        f"  ratio (candor/bare req/s): {result['ratio']:.2f}   "
        f"target >= {TARGET_RATIO}: {verdict(result['targets']['ratio_met'])}"
    )
    print(
        f"  candor p99: {candor['p99_ms']:.1f} ms   "
        f"target < {TARGET_P99_MS:g} ms: {verdict(result['targets']['p99_met'])}"
    )
    for label, row in (("candor", candor), ("bare", bare)):
        if row["socket_errors"]:
            print(f"  note: wrk saw socket errors on {label}: {row['socket_errors']}")


def main() -> int:
    args = parse_args()
    if wrk_path() is None:
        print("wrk is not installed. On Debian/Ubuntu: sudo apt-get install wrk", file=sys.stderr)
        return 2
    wrk_options = dict(
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        threads=args.threads,
    )
    settings = (
        f"gunicorn -w {WORKERS} (sync), wrk -c{args.connections} -t{args.threads} "
        f"-d{args.duration}s after {args.warmup}s warm-up"
    )
    report = {
        "benchmark": "module_page",
        "finished_at": None,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": {"workers": WORKERS, **wrk_options},
        "targets": {"ratio_at_least": TARGET_RATIO, "p99_ms_below": TARGET_P99_MS},
        "backends": {},
    }
    load = os.getloadavg()[0]
    report["machine"]["load_before"] = round(load, 2)
    if load > 0.5:
        print(
            f"note: the machine is busy (1-min load average {load:.1f} on {os.cpu_count()} "
            "cores); the figures may be low and noisy."
        )
    names = list(BACKENDS) if args.backend == "all" else [args.backend]
    failed = False
    for name in names:
        print(f"{name}: preparing a fresh database and measuring ...", flush=True)
        try:
            result = module_page.run(BACKENDS[name], wrk_options=wrk_options)
        except module_page.Unavailable as reason:
            print(f"{name}: SKIPPED: {reason}")
            report["backends"][name] = {"skipped": str(reason)}
            continue
        except BenchError as error:
            print(f"{name}: FAILED: {error}", file=sys.stderr)
            report["backends"][name] = {"failed": str(error)}
            failed = True
            continue
        result["targets"] = {
            "ratio_met": result["ratio"] >= TARGET_RATIO,
            "p99_met": result["candor"]["p99_ms"] < TARGET_P99_MS,
        }
        report["backends"][name] = result
        print_table(name, result, settings)

    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["machine"]["load_after"] = round(os.getloadavg()[0], 2)
    OUT.mkdir(exist_ok=True)
    (OUT / "module_page.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nWrote {OUT / 'module_page.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
