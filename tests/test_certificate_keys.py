"""`certificates verify` offline and online, and keys that change: every key published with
its period, rotation by command, old certificates valid after it, online and offline."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from helpers import list_courses, read_in_turn
from sqlalchemy import select

from app import create_app
from app.certificates.service import certificate_pdf
from app.certificates.signing import generate_key_pem, parse_key
from app.content.sync import sync_courses
from app.db import dispose_engines
from app.errors import DomainError
from app.models import AuditEvent, Certificate, SigningKey
from app.progress.reading import current_version, find_course

REFRESHER = "ai-data-refresher"
UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:9/nowhere"  # nothing listens on port 9


@pytest.fixture
def complete(db, make_user, refresher_without_quiz):
    """complete(name) -> the certificate of a learner who read the refresher to the end."""
    sync_courses(db, refresher_without_quiz)
    list_courses(db)
    db.commit()

    def run(name="Ana Silva", session=None):
        session = session or db
        user = make_user(name=name)
        course = find_course(session, REFRESHER)
        read_in_turn(session, user, current_version(session, user, course).modules)
        session.commit()
        certificate = session.scalar(select(Certificate).where(Certificate.user_id == user.id))
        certificate_pdf(session, certificate)  # as its job renders it after the commit
        session.commit()  # ends this read: the PDF was kept in a transaction of its own
        return certificate

    return run


def other_app(tmp_path, database_url: str, key: str | None = None):
    """Another Candor: its own database and its own signing key."""
    other = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "another-secret",
            "DATABASE_URL": database_url,
            "CERTIFICATE_SIGNING_KEY": key
            or base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode(),
        }
    )
    other.instance_path = str(tmp_path / "other-instance")
    return other


def write(tmp_path, name: str, data: bytes | str):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return str(path)


def verify(app, *args):
    return app.test_cli_runner().invoke(args=["certificates", "verify", *args])


def test_offline_never_touches_a_database(app, client, complete, tmp_path):
    pdf = write(tmp_path, "certificate.pdf", complete().pdf)
    keys = write(tmp_path, "keys.json", client.get("/verify/keys.json").data)
    nowhere = other_app(tmp_path, UNREACHABLE)
    result = verify(nowhere, pdf, "--public-key", keys)
    assert result.exit_code == 0, result.output
    assert f"Checked offline, against {keys}." in result.output
    assert "VALID: The signatures are valid (offline: status not checked)." in result.output
    for line in ("name: Ana Silva: as signed", "PDF signature: valid", "expires: "):
        assert line in result.output
    # --offline alone: this installation's own key, which did not sign it; still no database.
    alone = verify(nowhere, pdf, "--offline")
    assert alone.exit_code == 1 and "own key only" in alone.output
    assert "not signed with any of the issuer's keys" in alone.output
    online = verify(nowhere, pdf)  # without keys: the database is needed, and says so
    assert online.exit_code == 4 and "--public-key" in online.output


def test_a_certificate_of_another_candor_verifies_with_its_keys_only(
    app, client, complete, tmp_path
):
    pdf = write(tmp_path, "certificate.pdf", complete().pdf)
    keys = write(tmp_path, "keys.json", client.get("/verify/keys.json").data)
    elsewhere = other_app(tmp_path, f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}")
    from app.db import Base

    Base.metadata.create_all(elsewhere.extensions["candor.engine"])
    offline = verify(elsewhere, pdf, "--public-key", keys)
    assert offline.exit_code == 0, offline.output
    online = verify(elsewhere, pdf)
    assert online.output.startswith("Checked online: the keys, logos and certificate status")
    assert online.exit_code == 1 and "not signed with any of the issuer's keys" in online.output
    dispose_engines(elsewhere)


def test_online_says_so_and_checks_the_status(app, complete, tmp_path):
    pdf = write(tmp_path, "certificate.pdf", complete().pdf)
    result = verify(app, pdf)
    assert result.exit_code == 0, result.output
    assert "Checked online" in result.output and "(checked with the issuer)" in result.output


def test_keys_json_publishes_each_key_with_its_period(client, complete):
    kid = complete().key_id
    keys = client.get("/verify/keys.json").get_json()["keys"]
    assert [(k["kid"], k["kty"]) for k in keys] == [(kid, "OKP"), (f"{kid}.pdf", "EC")]
    assert keys[0]["valid_from"].endswith("Z") and keys[0]["valid_until"] is None
    assert keys[1]["x5c"] and keys[1]["crv"] == "P-256"


def test_after_a_rotation_old_and_new_certificates_verify_online_and_offline(
    app, db, client, complete, tmp_path, database_url
):
    old = complete("Ana Silva")
    old_pdf = write(tmp_path, "old.pdf", old.pdf)
    new_pem = generate_key_pem()
    rotated = app.test_cli_runner().invoke(
        args=["certificates", "rotate-key", "--key-file", write(tmp_path, "new.pem", new_pem)]
    )
    assert rotated.exit_code == 0, rotated.output
    assert "Set CANDOR_CERTIFICATE_SIGNING_KEY" in rotated.output
    new_kid = parse_key(new_pem.decode()).key_id
    db.rollback()  # end this session's snapshot from before the rotation
    history = db.scalars(select(SigningKey).order_by(SigningKey.id)).all()
    assert [k.kid for k in history] == [old.key_id, new_kid]
    assert history[0].valid_until == history[1].valid_from
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "certificates.key_added"))
    # This process still holds the retired key: it refuses to sign with it.
    with pytest.raises(DomainError, match="retired"):
        complete("Ben Okafor")
    db.rollback()
    # An instance restarted with the new key issues with it.
    renewed = other_app(tmp_path, database_url, new_pem.decode())
    with renewed.extensions["candor.sessionmaker"]() as session:
        new = complete("Chidi Obi", session=session)
        assert new.key_id == new_kid
        new_pdf = write(tmp_path, "new.pdf", new.pdf)
    keys_json = renewed.test_client().get("/verify/keys.json").data
    keys = write(tmp_path, "keys.json", keys_json)
    assert [k["kid"] for k in json.loads(keys_json)["keys"]] == [
        old.key_id,
        f"{old.key_id}.pdf",
        new_kid,
        f"{new_kid}.pdf",
    ]
    for pdf in (old_pdf, new_pdf):
        assert verify(renewed, pdf).exit_code == 0
        assert verify(renewed, pdf, "--public-key", keys).exit_code == 0
    dispose_engines(renewed)


def test_a_certificate_dated_outside_its_keys_period_is_forged(app, db, complete, tmp_path):
    """A retired key cannot sign later: a certificate it signed after its period is refused."""
    from dataclasses import replace
    from datetime import timedelta

    from app.certificates.facts import CertificateFacts
    from app.certificates.pdf import render_certificate
    from app.certificates.service import issuer_of, signed_document

    certificate = complete()
    app.test_cli_runner().invoke(
        args=[
            "certificates",
            "rotate-key",
            "--key-file",
            write(tmp_path, "n.pem", generate_key_pem()),
        ]
    )
    issuer = issuer_of(db)
    facts = CertificateFacts.from_dict(certificate.facts)
    later = replace(
        facts, issued_on=facts.issued_on + timedelta(days=2), format="candor-certificate/1"
    )
    document = signed_document(
        later, issuer.signer.sign(later.canonical_json()), issuer.signer.key_id
    )
    pdf = write(
        tmp_path,
        "late.pdf",
        render_certificate(later, issuer.verify_url(certificate.code), document),
    )
    result = verify(app, pdf)
    assert result.exit_code == 1 and "outside the period of its key" in result.output


def test_rotate_key_generates_into_the_instance_folder_when_not_configured(tmp_path, database_url):
    from pathlib import Path

    from app.certificates.signing import KEY_FILE

    local = other_app(tmp_path, database_url)
    local.config["CERTIFICATE_SIGNING_KEY"] = None
    runner = local.test_cli_runner()
    refused = runner.invoke(args=["certificates", "rotate-key"])
    assert refused.exit_code == 0, refused.output
    key_file = Path(local.instance_path) / KEY_FILE
    assert key_file.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert "Restart the web server and the job workers" in refused.output
    dispose_engines(local)
