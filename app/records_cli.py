"""Commands about the records an auditor relies on: ``certificates`` (verify, keys,
rotate-key) and ``audit`` (verify the ledger). Each command owns its commit."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.cli import echo
from app.db import get_session
from app.errors import DomainError

certificates_cli = AppGroup("certificates", help="Verify certificate PDFs; manage signing keys.")
audit_cli = AppGroup("audit", help="Check the audit trail and the ledger.")


VERIFY_EXIT = {"valid": 0, "forged": 1, "altered": 1, "unknown": 1, "revoked": 2, "expired": 3}
CANNOT_CHECK = 4  # not a verdict: the issuer's database could not be reached
EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
public_key_option = click.option(
    "--public-key",
    "key_file",
    type=EXISTING_FILE,
    help="keys.json (from /verify/keys.json) to check against, offline: no database is used.",
)


@certificates_cli.command("render-pending")
def certificates_render_pending() -> None:
    """Render and keep every certificate PDF not rendered yet (their job lost or the workers
    stopped); the job worker does this on its own, a minute after."""
    from app.certificates.service import render_missing_pdfs

    total = 0
    try:
        while done := render_missing_pdfs(get_session(), limit=100):
            get_session().rollback()  # begin again: each PDF was kept in a transaction of its own
            total += done
    except DomainError as error:
        raise click.ClickException(error.message) from None
    echo(f"Rendered {total} certificate PDF(s); none is waiting.")


@certificates_cli.command("verify")
@click.argument("pdf", type=EXISTING_FILE)
@public_key_option
@click.option(
    "--offline",
    is_flag=True,
    help="Use no database: check against --public-key, or this installation's own key.",
)
def certificates_verify(pdf: Path, key_file: Path | None, offline: bool) -> None:
    """Check a certificate PDF: its signatures, that its page shows exactly what was signed,
    and (online) its status with the issuer.

    Exit 0 valid, 1 forged or altered, 2 revoked, 3 expired (4: the database could not be
    reached; check offline with --public-key).
    """
    from app.certificates.pdf_check import check_pdf

    logos = None
    if key_file is not None or offline:
        keys, where = _offline_keys(key_file)
        lookup = None
    else:
        keys, lookup = _online_keys()
        logos = _issuer_logos()
        where = "online: the keys, logos and certificate status of this Candor's database"
    echo(f"Checked {where}.")
    verdict = check_pdf(pdf.read_bytes(), keys, lookup, logos)
    if verdict.facts is not None:
        facts = verdict.facts
        echo(
            f"Certificate {facts.code}: {facts.holder_name}, {facts.course_title} "
            f"(version {facts.version_number}), completed {facts.completed_on}."
        )
    for check in verdict.checks:
        echo(f"  {check}")
    echo(f"{verdict.status.upper()}: {verdict.message}")
    sys.exit(VERIFY_EXIT[verdict.status])


def _offline_keys(key_file: Path | None):
    """The keys of keys.json, or this installation's configured key; never the database."""
    from app.certificates.keyring import KeySet, PublishedKey
    from app.certificates.service import issuer_of

    if key_file is None:
        signer = issuer_of(get_session()).signer  # configuration only: no query is made
        key = PublishedKey(signer.key_id, signer.verifier, signer.pdf_certificate(), None, None)
        return KeySet((key,)), "offline, against this installation's own key only"
    try:
        return KeySet.from_text(key_file.read_text()), f"offline, against {key_file}"
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise click.ClickException(f"{key_file}: not a keys.json or key ({error})") from None


def _online_keys():
    """The issuer's published keys and a status look-up, both from the database."""
    from sqlalchemy.exc import OperationalError

    from app.certificates.keyring import published_keys
    from app.certificates.service import find_by_code, issuer_of, status_of
    from app.errors import NotFound

    session = get_session()
    try:
        keys = published_keys(session, issuer_of(session).signer)
    except OperationalError:
        echo(
            "The database cannot be reached: check offline with --public-key keys.json "
            "(from /verify/keys.json).",
            err=True,
        )
        sys.exit(CANNOT_CHECK)

    def lookup(code: str) -> str | None:
        try:
            return status_of(find_by_code(session.connection(), code))
        except NotFound:
            return "unknown"

    return keys, lookup


def _issuer_logos() -> list[bytes] | None:
    """Every logo the issuer kept (a certificate prints the one in use when it was issued);
    None when it keeps none, so the picture is then left to the PDF signature."""
    from sqlalchemy import select

    from app.models import OrganisationLogo

    return list(get_session().scalars(select(OrganisationLogo.png))) or None


@certificates_cli.command("keys")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file (default: print).",
)
def certificates_keys(output: Path | None) -> None:
    """Every signing key ever used, as /verify/keys.json publishes them (for offline checks)."""
    import json

    from app.certificates.keyring import published_keys
    from app.certificates.service import issuer_of

    session = get_session()
    text = json.dumps(published_keys(session, issuer_of(session).signer).to_json(), indent=2)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n")
        echo(f"Wrote {output}.")


@certificates_cli.command("rotate-key")
@click.option(
    "--key-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The new Ed25519 private key (PEM). Required when CANDOR_CERTIFICATE_SIGNING_KEY "
    "is set; otherwise a new key is generated into the instance folder.",
)
def certificates_rotate_key(key_file: Path | None) -> None:
    """Sign certificates with a new key from now on; every earlier key stays published, so
    certificates signed with it stay valid. Audited."""
    import os

    from app.certificates import keyring
    from app.certificates.service import issuer_of
    from app.certificates.signing import KEY_FILE, generate_key_pem, parse_key

    session = get_session()
    configured = bool(current_app.config["CERTIFICATE_SIGNING_KEY"])
    if configured and key_file is None:
        raise click.ClickException(
            "CANDOR_CERTIFICATE_SIGNING_KEY is set: give the new key with --key-file, then "
            "set CANDOR_CERTIFICATE_SIGNING_KEY to it on every instance."
        )
    pem = key_file.read_bytes() if key_file is not None else generate_key_pem()
    try:
        new = parse_key(pem.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise click.ClickException(f"{key_file}: not an Ed25519 private key ({error})") from None
    old = issuer_of(session).signer
    try:
        keyring.signing_key(session, old)  # the key in use is on record before it is retired
        row = keyring.rotate(session, None, new)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    staged = Path(current_app.instance_path) / f"{KEY_FILE}.new"
    if not configured:
        staged.parent.mkdir(parents=True, exist_ok=True)
        staged.write_bytes(pem)
        staged.chmod(0o600)
    session.commit()
    if configured:
        echo(f"Key {row.kid} signs from now on; key {old.key_id} is retired.")
        echo("Set CANDOR_CERTIFICATE_SIGNING_KEY to the new key on every instance and restart.")
        return
    os.replace(staged, Path(current_app.instance_path) / KEY_FILE)
    echo(f"Key {row.kid} signs from now on; key {old.key_id} is retired (still published).")
    echo("Restart the web server and the job workers so that they sign with it.")


@audit_cli.command("verify")
@click.option(
    "--head",
    "noted",
    metavar="HASH",
    help="An entry hash noted earlier (printed by this command, shown on the audit log): the "
    "chain must still hold it, so nothing up to it was rewritten or cut away.",
)
def audit_verify(noted: str | None) -> None:
    """Walk the ledger's hash chain (completions, certificates, audit events): exit 1 naming
    the first row or entry changed, removed or inserted. Prints the head to note."""
    import re

    from app.audit.ledger import verify

    if noted is not None:
        noted = noted.strip().lower().rpartition(":")[2]  # "SEQ:HASH" as printed, or HASH
        if not re.fullmatch(r"[0-9a-f]{64}", noted):
            raise click.BadParameter("a head is 64 hexadecimal digits", param_hint="--head")
    report = verify(get_session(), head=noted)
    if report.problems:
        echo(f"BROKEN: {report.problems[0]}")
        for problem in report.problems[1:]:
            echo(f"  and: {problem}")
        echo(f"Head of the chain now: entry {report.head_seq}, {report.head}.")
        sys.exit(1)
    echo(f"INTACT: {report.entries} entries, every record chained and unchanged.")
    if report.rewritten:
        echo(
            f"{report.rewritten} record(s) were rewritten by erasures, each explained by the "
            "erasure's chained audit event (person.erased)."
        )
    if report.anchor_seq is not None:
        echo(f"The noted head is entry {report.anchor_seq}: the chain up to it is unchanged.")
    echo(
        f"Head of the chain: entry {report.head_seq}, {report.head} "
        "(note it: a later check with --head must still find it)."
    )


evidence_cli = AppGroup("evidence", help="Evidence packs for auditors: build and check them.")


@evidence_cli.command("pack")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--course", "slug", help="Only this course (its slug).")
@click.option("--department", help="Only people in this department.")
@click.option(
    "--obligation",
    help="Only courses meeting this obligation (its slug: see `obligations report`).",
)
@click.option("--completed-from", help="Completed on or after this UTC day (YYYY-MM-DD).")
@click.option("--completed-to", help="Completed on or before this UTC day (YYYY-MM-DD).")
@click.option("--include-inactive", is_flag=True, help="Deactivated people (leavers) too.")
def evidence_pack(output: Path, slug: str | None, **scope) -> None:
    """Build the signed evidence pack of a scope into OUTPUT (a zip); audited."""
    from app.certificates.service import render_missing_pdfs
    from app.db import utcnow
    from app.evidence.packs import build_pack, record_pack
    from app.progress.reading import find_course
    from app.training.filters import RecordFilter

    session = get_session()
    if render_missing_pdfs(session, limit=100_000):
        session.rollback()  # begin again: the PDFs were kept in transactions of their own
    args = {key: value for key, value in scope.items() if value}
    args["include_inactive"] = "1" if scope["include_inactive"] else ""
    try:
        if slug:
            args["course_id"] = str(find_course(session, slug).id)
        record_filter = RecordFilter.from_args(args)
        with output.open("wb") as target:
            manifest = build_pack(session, record_filter, utcnow(), target)
        record_pack(session, None, record_filter, manifest)
    except DomainError as error:
        output.unlink(missing_ok=True)
        raise click.ClickException(error.message) from None
    session.commit()
    echo(
        f"Wrote {output}: {len(manifest['files'])} files, manifest signed with key "
        f"{manifest['key']}."
    )


@evidence_cli.command("verify")
@click.argument("pack", type=EXISTING_FILE)
@public_key_option
def evidence_verify(pack: Path, key_file: Path | None) -> None:
    """Check a pack: its signed manifest, and every file in it. Exit 0 intact, 1 otherwise,
    naming every file changed, added or missing."""
    from app.evidence.checking import check_pack

    if key_file is not None:
        keys, where = _offline_keys(key_file)
    else:
        keys, _lookup = _online_keys()
        where = "online: the keys of this Candor's database"
    echo(f"Checked {where}.")
    report = check_pack(str(pack), keys)
    for line in report.lines():
        echo(f"  {line}")
    if report.ok:
        echo(f"INTACT: {report.checked} files, each as signed.")
        return
    echo(
        "ALTERED: the pack is not as it was signed."
        if report.signed
        else "FORGED: " + report.signature
    )
    sys.exit(1)


obligations_cli = AppGroup("obligations", help="The obligations registry and its coverage.")


@obligations_cli.command("report")
@click.option("--obligation", "slug", help="Only this obligation (its slug).")
def obligations_report(slug: str | None) -> None:
    """Per obligation: who must be covered, who is, who is not and why, by department."""
    from app.db import utcnow
    from app.obligations.coverage import obligation_coverage
    from app.obligations.registry import obligation_problem

    if slug and (problem := obligation_problem(slug)):
        raise click.ClickException(problem)
    for coverage in obligation_coverage(get_session(), utcnow()):
        if slug and coverage.obligation.slug != slug:
            continue
        echo(f"{coverage.obligation.slug}: {coverage.obligation.title}")
        echo(
            f"  {coverage.covered} of {coverage.required} covered; met by: "
            f"{', '.join(coverage.courses) or 'no course yet'}"
        )
        for department in coverage.departments:
            name = department.department or "No department"
            echo(f"  {name}: {department.covered} of {department.required} covered")
            for gap in department.gaps:
                echo(f"    not covered: {gap.name} ({gap.why})")
