"""The certificate PDF benchmark: render_certificate against WeasyPrint's floor, and memory.

Renders ``--count`` certificates (each with its own code, name and URL) and, interleaved with
them so that both see the same machine, as many one-line HTML documents rendered with the same
FontConfiguration: what any PDF costs on this stack. Reports milliseconds per PDF (wall clock
and CPU) and the process's resident memory along the way, which must stay flat. Prints a
table; the exit status is 0 unless something failed to run.

    .venv/bin/python benchmarks/certificate_pdf.py [--count 200] [--warmup 10]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import weasyprint  # noqa: E402
from weasyprint import HTML  # noqa: E402

from app.certificates import pdf as certificate_pdf  # noqa: E402
from app.certificates.codes import grouped, new_code  # noqa: E402
from app.certificates.facts import CertificateFacts  # noqa: E402

FLOOR_HTML = "<p>Floor</p>"
SIGNED = b'{"facts":{},"signature":{"alg":"Ed25519","value":"' + b"A" * 86 + b'"}}'
FACTS = CertificateFacts(
    code="",
    holder_name="",
    course_title="AI in the Contact Centre: Handling Customer Data",
    course_slug="ai-in-the-contact-center",
    version_number=3,
    content_hash="1a2b3c4d5e6f",
    score=92,
    completed_on=date(2025, 3, 12),
    issued_on=date(2025, 3, 14),
    expires_on=date(2027, 3, 12),
    issuer="Northwind Customer Services Ltd",
)
NAMES = (
    "Amélie Nakamura-Okafor",
    "Jo Li",
    "Siobhán Ní Bhriain",
    "Wolfgang Amadeus Bauer",
    "Zoë Papadopoulou-Schmidt",
    "Ngozi Adichie",
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200, help="certificates to render")
    parser.add_argument("--warmup", type=int, default=10, help="renders discarded first")
    return parser.parse_args()


def rss_mib() -> float:
    """The resident set size now (not the peak), from /proc/self/status."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def certificate(index: int) -> tuple[CertificateFacts, str]:
    code = grouped(new_code())
    facts = replace(FACTS, code=code, holder_name=f"{NAMES[index % len(NAMES)]} {index}")
    return facts, f"https://candor.example.com/verify/{code}"


def timed(function, *args) -> tuple[float, float, object]:
    """(wall ms, CPU ms, result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000, result


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "mean": statistics.fmean(ordered),
        "p50": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
    }


def main() -> int:
    args = parse_args()
    rss_start = rss_mib()
    render = certificate_pdf.render_certificate
    first_ms, _, pdf = timed(render, *certificate(0), SIGNED)
    with certificate_pdf._lock:  # the FontConfiguration every certificate uses, for the floor
        fonts = certificate_pdf._get_engine().fonts

    def floor() -> bytes:
        return HTML(string=FLOOR_HTML).write_pdf(font_config=fonts)

    for index in range(args.warmup):
        render(*certificate(index), SIGNED)
        floor()
    gc.collect()
    rss_before = rss_mib()
    checkpoints = {round(args.count * share) for share in (0.25, 0.5, 0.75, 1.0)}
    rss_along: list[tuple[int, float]] = []
    cert_wall, cert_cpu, floor_wall, floor_cpu, sizes = [], [], [], [], []
    for index in range(1, args.count + 1):
        wall, cpu, pdf = timed(render, *certificate(index), SIGNED)
        cert_wall.append(wall)
        cert_cpu.append(cpu)
        sizes.append(len(pdf))
        wall, cpu, _ = timed(floor)
        floor_wall.append(wall)
        floor_cpu.append(cpu)
        if index in checkpoints:
            gc.collect()
            rss_along.append((index, rss_mib()))
    rss_after = rss_along[-1][1]

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"certificate PDF: {args.count} renders after {args.warmup} warm-up, interleaved "
        f"with the floor ({FLOOR_HTML!r}, same FontConfiguration)"
    )
    print(
        f"Python {platform.python_version()}, WeasyPrint {weasyprint.__version__}, "
        f"{os.cpu_count()} CPUs, load average {load}"
    )
    print(f"\n  {'ms per PDF':16} {'mean':>7} {'p50':>7} {'p95':>7} {'CPU p50':>8}")
    rows = (("certificate", cert_wall, cert_cpu), ("floor", floor_wall, floor_cpu))
    for label, wall, cpu in rows:
        stats = summary(wall)
        print(
            f"  {label:16} {stats['mean']:7.1f} {stats['p50']:7.1f} {stats['p95']:7.1f} "
            f"{statistics.median(cpu):8.1f}"
        )
    wall_ratio = statistics.median(cert_wall) / statistics.median(floor_wall)
    cpu_ratio = statistics.median(cert_cpu) / statistics.median(floor_cpu)
    print(f"  certificate / floor (p50): {wall_ratio:.1f}x wall, {cpu_ratio:.1f}x CPU")
    print(f"  first certificate (builds the fonts and the stylesheet): {first_ms:.0f} ms")
    print(f"  PDF size: {statistics.median(sizes) / 1024:.1f} KiB")
    print(f"\n  RSS at start {rss_start:.1f} MiB, after warm-up {rss_before:.1f} MiB")
    for index, rss in rss_along:
        print(f"  RSS after {index:5} renders: {rss:7.1f} MiB ({rss - rss_before:+.1f})")
    (first_index, first_rss) = rss_along[0]
    if len(rss_along) > 1 and args.count > first_index:
        steady = (rss_after - first_rss) * 100 / (args.count - first_index)
        print(
            f"  steady state (renders {first_index} to {args.count}): {steady:+.2f} MiB "
            "per 100 renders"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
