"""The certificate PDF benchmark: render_certificate against WeasyPrint's floor, and memory.

Renders ``--count`` certificates (each with its own code, name and URL) and, interleaved with
them so that both see the same machine, as many one-line HTML documents rendered with the same
FontConfiguration: what any PDF costs on this stack. Reports milliseconds per PDF (wall clock
and CPU) and the process's resident memory along the way, which must stay flat. Prints a
table; the exit status is 0 unless something failed to run.

    .venv/bin/python benchmarks/certificate_pdf.py [--count 200] [--warmup 10]
        [--callgrind-count 10] [--no-callgrind]

Then, under callgrind (``instructions.py``), the instructions of one of each (a
certificate of the format new ones get, and one of format 2, the page before it), and of the
parts of a certificate: its QR code (segno), its layout, writing the PDF (with the QR code and
the mark drawn and the signed JSON embedded), and the PAdES signature (pyHanko) that the job
adds; and what the first certificate of a fresh process
costs with and without ``pdf.warm_up()`` (what ``CANDOR_PDF_WARM_UP`` does at start).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import instructions  # noqa: E402
import weasyprint  # noqa: E402
from weasyprint import HTML  # noqa: E402

from app.certificates import pdf as certificate_pdf  # noqa: E402
from app.certificates.codes import grouped, new_code  # noqa: E402
from app.certificates.facts import FORMAT, CertificateFacts  # noqa: E402

FORMAT_2 = "candor-certificate/2"  # the page before format 3's, for comparison

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
    parser.add_argument("--callgrind-count", type=int, default=10, help="renders per part")
    parser.add_argument("--no-callgrind", action="store_true")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # child: count
    parser.add_argument("--first", choices=("cold", "warm"), help=argparse.SUPPRESS)
    return parser.parse_args()


PARTS = (
    "floor",
    "certificate",
    "certificate, format 2",
    "qr code",
    "layout",
    "write",
    "pades signature",
)


def serve_parts(count: int) -> None:
    """(In the callgrind child.) Each part ``count`` times, one phase each."""
    from weasyprint import Attachment

    from app.certificates.pades import sign_pdf
    from app.certificates.signing import generate_key_pem, parse_key

    signer = parse_key(generate_key_pem().decode())
    facts, url = certificate(0)
    unsigned = certificate_pdf.render_certificate(facts, url, SIGNED)
    with certificate_pdf._lock:
        engine = certificate_pdf._get_engine()

    def layout():
        with certificate_pdf._lock:
            return certificate_pdf._lay_out_lean(facts, url, None)

    laid_out, matrix = layout(), certificate_pdf._qr_matrix(url)

    def write():
        attachment = Attachment(  # as render_certificate makes it (one use each)
            string=SIGNED, name="certificate.json", url_fetcher=certificate_pdf.FETCHER
        )
        with certificate_pdf._lock:
            return certificate_pdf._write_lean(laid_out, matrix, attachment)

    actions = {
        "floor": lambda: HTML(string=FLOOR_HTML).write_pdf(font_config=engine.fonts),
        "certificate": lambda: certificate_pdf.render_certificate(*certificate(1), SIGNED),
        "certificate, format 2": lambda: certificate_pdf.render_certificate(
            *certificate(1, FORMAT_2), SIGNED
        ),
        "qr code": lambda: certificate_pdf._qr_matrix(url),
        "layout": layout,
        "write": write,
        "pades signature": lambda: sign_pdf(unsigned, signer),
    }
    instructions.phases(lambda part: actions[part](), PARTS, count)


def first_render(mode: str) -> None:
    """(In a fresh child.) Print the milliseconds of the first certificate, after warm_up()
    if ``mode`` is warm."""
    if mode == "warm":
        certificate_pdf.warm_up()
    wall, cpu, _ = timed(certificate_pdf.render_certificate, *certificate(0), SIGNED)
    print(f"{wall:.1f} {cpu:.1f}")


def first_costs() -> dict[str, tuple[float, float]]:
    """The first certificate of a fresh process (wall, CPU ms), cold and after warm_up()."""
    costs = {}
    for mode in ("cold", "warm"):
        done = subprocess.run(
            [sys.executable, __file__, "--first", mode], capture_output=True, text=True, check=True
        )
        wall, cpu = done.stdout.split()[-2:]
        costs[mode] = (float(wall), float(cpu))
    return costs


def rss_mib() -> float:
    """The resident set size now (not the peak), from /proc/self/status."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def certificate(index: int, format: str = FORMAT) -> tuple[CertificateFacts, str]:
    code = grouped(new_code())
    facts = replace(
        FACTS, code=code, holder_name=f"{NAMES[index % len(NAMES)]} {index}", format=format
    )
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
    if args.serve is not None:
        serve_parts(args.serve)
        return 0
    if args.first is not None:
        first_render(args.first)
        return 0
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
    costs = first_costs()
    print(
        "\n  first certificate of a fresh process: "
        f"{costs['cold'][0]:.0f} ms ({costs['cold'][1]:.0f} ms CPU) cold, "
        f"{costs['warm'][0]:.0f} ms ({costs['warm'][1]:.0f} ms CPU) after warm_up()"
    )
    if not args.no_callgrind and instructions.available():
        counts = instructions.per_request(
            [__file__, "--serve", str(args.callgrind_count)], PARTS, args.callgrind_count
        )
        floor = counts["floor"]
        print(f"\n  {'instructions':18} {'millions':>9} {'x floor':>8}")
        for part in PARTS:
            print(f"  {part:18} {counts[part] / 1e6:9.1f} {counts[part] / floor:8.1f}")
        print(
            "  (certificate = qr code + layout + write, which draws the QR code and the mark and "
            "embeds the signed JSON; the job adds the signature)"
        )
        ratio = counts["certificate"] / floor
        print(
            f"  target (issue 16): certificate <= 3.0x floor: {'met' if ratio <= 3 else 'MISSED'}"
        )
    elif not args.no_callgrind:
        print("\n  valgrind is not installed: no instruction counts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
