"""A pass never waits on a PDF: the certificate exists at once (code and signed facts,
verifiable), its PDF is rendered by a job or at the first download, and kept, once."""

from __future__ import annotations

import pytest
from helpers import csrf_token, list_courses, login, post, read_in_turn, run_jobs, statements_run
from quiz_course import CONVERSATION, Q_PASTE, Q_PERSONAL, Q_SCREEN, SLUG
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from app.certificates import service
from app.certificates.codes import grouped
from app.certificates.keyring import published_keys
from app.certificates.pdf_check import check_pdf
from app.content.sync import sync_courses
from app.models import Certificate, Role
from app.progress.reading import current_version, find_course
from app.tasks import render_certificate_pdf

RIGHT = {Q_PASTE: "2", Q_PERSONAL: ["1", "2"], Q_SCREEN: "2"}
WRONG = {Q_PASTE: "1", Q_PERSONAL: "3", Q_SCREEN: "1"}
CHOICES = {"start.a": "1", "opt-out.a": "1"}


@pytest.fixture
def renders(monkeypatch):
    """Every PDF rendering of a certificate, counted."""
    done: list[str] = []
    real = service.render_signed_pdf

    def counting(issuer, facts, document, logo_png):
        done.append(facts.code)
        return real(issuer, facts, document, logo_png)

    monkeypatch.setattr(service, "render_signed_pdf", counting)
    return done


@pytest.fixture
def ready(db, quiz_demo, make_user):
    """ready() -> a learner who has read every module of the quiz course, signed in on a
    client of their own."""
    sync_courses(db, quiz_demo)
    list_courses(db)
    db.commit()

    def make(app):
        user = make_user(roles=frozenset({Role.LEARNER}))
        read_in_turn(db, user, current_version(db, user, find_course(db, SLUG)).modules)
        db.commit()
        client = app.test_client()
        login(client, user)
        return user, client

    return make


def take_assessment(client, answers) -> str:
    response = post(client, f"/courses/{SLUG}/assessment")
    assert response.status_code == 303
    url = response.location
    for choice in ("start.a", "opt-out.a"):
        reply = {"choice": CHOICES[choice]}
        assert post(client, f"{url}/conversations/{CONVERSATION}", reply).status_code == 303
    return url


def submit(client, url, answers):
    return client.post(f"{url}/submit", data={**answers, "csrf_token": csrf_token(client)})


def pdf_kept(db, certificate_id) -> bytes | None:
    db.rollback()  # a fresh read
    return db.scalar(select(Certificate.pdf).where(Certificate.id == certificate_id))


def test_a_pass_issues_a_verifiable_certificate_at_once_and_renders_no_pdf(app, db, ready, renders):
    _user, client = ready(app)
    url = take_assessment(client, RIGHT)
    assert submit(client, url, RIGHT).status_code == 303
    assert renders == []  # nothing rendered in the request that passed
    certificate = db.scalar(select(Certificate))
    assert pdf_kept(db, certificate.id) is None
    code = grouped(certificate.code)
    # Verifiable at once: the signed facts, on the public page and its JSON.
    assert "<strong>Valid.</strong>" in client.get(f"/verify/{code}").get_data(as_text=True)
    assert client.get(f"/verify/{code}.json").get_json()["status"] == "valid"
    # The commit handed the certificate to the PDF job.
    queued = [task.name for task in app.extensions["candor.jobs"].huey.pending()]
    assert "candor.certificate_pdf" in queued


def test_the_job_renders_the_pdf_and_keeps_it(app, db, ready, renders):
    _user, client = ready(app)
    url = take_assessment(client, RIGHT)
    submit(client, url, RIGHT)
    certificate = db.scalar(select(Certificate))
    run_jobs(app)
    assert renders == [grouped(certificate.code)]
    kept = pdf_kept(db, certificate.id)
    assert kept is not None and check_pdf(kept, published_keys(db, service.issuer_of(db).signer)).ok
    response = client.get(f"/certificates/{certificate.id}.pdf")
    assert response.status_code == 200 and response.data == kept
    assert len(renders) == 1  # the download served what the job kept


def test_a_download_before_the_job_gets_the_pdf_and_the_job_then_does_nothing(
    app, db, ready, renders
):
    _user, client = ready(app)
    url = take_assessment(client, RIGHT)
    submit(client, url, RIGHT)
    certificate = db.scalar(select(Certificate))
    first = client.get(f"/certificates/{certificate.id}.pdf")
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    verdict = check_pdf(first.data, published_keys(db, service.issuer_of(db).signer))
    assert verdict.ok, verdict.message
    assert pdf_kept(db, certificate.id) == first.data  # kept at that first download
    with app.app_context():
        assert render_certificate_pdf(certificate.id) is False  # the job finds it done
    assert client.get(f"/certificates/{certificate.id}.pdf").data == first.data
    assert len(renders) == 1


def test_a_failing_and_a_passing_submission_cost_the_same_few_statements(app, db, ready):

    def statements(client, url, answers) -> int:
        with statements_run(app) as seen:
            assert submit(client, url, answers).status_code == 303
        return len(seen)

    counts = {}
    for name, answers in (("fail", WRONG), ("fail again", WRONG), ("pass", RIGHT)):
        _user, client = ready(app)
        if name == "fail again":  # a second attempt, after a first failed one
            first = take_assessment(client, WRONG)
            submit(client, first, WRONG)
        counts[name] = statements(client, take_assessment(client, answers), answers)
    assert counts["fail"] == counts["fail again"], counts
    # Passing adds the completion, the certificate, their audit events, the rows the ledger
    # chains (read back), its entries (one statement) and the signing key's look-up (here its
    # first use, which records it): a fixed number of statements, whatever came before.
    assert counts["fail"] <= 12 and counts["pass"] <= 29, counts


def test_of_two_racing_renderings_the_first_kept_is_the_one_everyone_gets(app, db, ready, renders):
    _user, client = ready(app)
    url = take_assessment(client, RIGHT)
    submit(client, url, RIGHT)
    certificate_id = db.scalar(select(Certificate.id))
    make_session = app.extensions["candor.sessionmaker"]
    with make_session() as slow, make_session() as fast:
        late = slow.get(Certificate, certificate_id)
        assert late.pdf is None  # read before the other rendering was kept
        kept = service.certificate_pdf(fast, fast.get(Certificate, certificate_id))
        assert service.certificate_pdf(slow, late) == kept
    assert len(renders) == 2 and pdf_kept(db, certificate_id) == kept


def test_the_pdf_is_written_once_and_never_changed(app, db, ready):
    _user, client = ready(app)
    url = take_assessment(client, RIGHT)
    submit(client, url, RIGHT)
    certificate_id = db.scalar(select(Certificate.id))
    db.rollback()
    # From NULL, once: the database allows it.
    db.execute(update(Certificate).where(Certificate.id == certificate_id).values(pdf=b"%PDF"))
    db.commit()
    with pytest.raises(DBAPIError, match="written once"):
        db.execute(
            update(Certificate).where(Certificate.id == certificate_id).values(pdf=b"%PDF-other")
        )
    db.rollback()
    assert pdf_kept(db, certificate_id) == b"%PDF"


def test_a_revoked_certificate_without_its_pdf_is_still_printed_and_never_changed(
    app, db, ready, make_user, renders
):
    _user, client = ready(app)
    url = take_assessment(client, RIGHT)
    submit(client, url, RIGHT)
    certificate_id = db.scalar(select(Certificate.id))
    hr = make_user(roles=frozenset({Role.HR}))
    service.revoke_certificate(db, hr, certificate_id, "issued_in_error")
    db.commit()
    response = client.get(f"/certificates/{certificate_id}.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert pdf_kept(db, certificate_id) is None  # a revoked certificate stays as it was
    with app.app_context():
        assert render_certificate_pdf(certificate_id) is False  # the job leaves it be
    assert len(renders) == 1


def test_maintain_queues_again_a_pdf_whose_job_was_lost(app, db, ready, monkeypatch):
    _user, client = ready(app)
    url = take_assessment(client, RIGHT)
    submit(client, url, RIGHT)
    certificate_id = db.scalar(select(Certificate.id))
    huey = app.extensions["candor.jobs"].huey
    huey.flush()  # the worker died with the job
    monkeypatch.setitem(app.config, "JOBS_STALE_SECONDS", -60)
    with app.app_context():
        app.extensions["candor.jobs"].maintain()
    assert [task.args for task in huey.pending() if task.name == "candor.certificate_pdf"] == [
        (certificate_id,)
    ]
    run_jobs(app)
    assert pdf_kept(db, certificate_id) is not None


def test_workers_can_build_the_pdf_renderer_when_they_start(build_app, monkeypatch):
    from app.certificates import pdf

    monkeypatch.setattr(pdf, "_engine", None)
    build_app()
    assert pdf._engine is None  # off by default: commands and tests start fast
    build_app(PDF_WARM_UP=True)
    assert pdf._engine is not None


def test_pending_pdfs_can_be_rendered_from_the_command_line(app, db, ready):
    _user, client = ready(app)
    url = take_assessment(client, RIGHT)
    submit(client, url, RIGHT)
    certificate_id = db.scalar(select(Certificate.id))
    db.rollback()
    result = app.test_cli_runner().invoke(args=["certificates", "render-pending"])
    assert result.exit_code == 0 and "Rendered 1 certificate PDF(s)" in result.output
    assert pdf_kept(db, certificate_id) is not None
    again = app.test_cli_runner().invoke(args=["certificates", "render-pending"])
    assert "Rendered 0 certificate PDF(s); none is waiting." in again.output
