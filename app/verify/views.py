"""Public certificate verification: anyone, no sign-in, and nothing beyond what it states."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for

from app.certificates.codes import grouped, normalise
from app.certificates.keyring import published_keys
from app.certificates.service import REVOCATION_REASONS, find_by_code, issuer_of, status_of
from app.db import get_connection, get_session
from app.errors import NotFound
from app.security import count_look_up, public

bp = Blueprint("verify", __name__, url_prefix="/verify")
# One budget per client across every verification endpoint (the page, its JSON, the form,
# the keys), not one per endpoint. Across processes it is one budget only when the counters
# are shared (Redis): memory:// counts per worker.
bp.before_request(count_look_up)


@bp.after_request
def _private(response):
    # Verification pages are for the person holding the code: not for search engines, and the
    # code must not leak to other sites through the Referer header.
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("")
@public
def form():
    typed = request.args.get("code")
    if typed is None:
        return render_template("verify/form.html")
    code = normalise(typed)
    if code is None:
        return render_template(
            "verify/form.html",
            typed=typed,
            error="A code has 20 letters and digits, like 7KQ4-M9XD-2HBT-Q8RE-5WZN.",
        ), 400
    return redirect(url_for("verify.certificate", code=grouped(code)), code=303)


@bp.get("/keys.json")
@public
def keys():
    session = get_session()
    return jsonify(published_keys(session, issuer_of(session).signer).to_json())


def _describe(certificate) -> dict:
    revocation = {
        "revoked_on": certificate.revoked_at.date().isoformat() if certificate.revoked_at else None,
        "revocation_reason": REVOCATION_REASONS.get(certificate.revocation_reason)
        if certificate.revoked_at
        else None,
    }
    if certificate.erased_at is not None:
        # The holder was erased: their name is gone (the stored one is a pseudonym, not shown),
        # and so is the signature over the facts as issued, which would let anyone test a
        # guessed name against it. Status, course and dates stay: they are the evidence.
        facts = {k: v for k, v in certificate.facts.items() if k != "holder_name"}
        return {
            "status": status_of(certificate),
            "holder_erased": True,
            "erased_on": certificate.erased_at.date().isoformat(),
            "certificate": facts,
            **revocation,
        }
    return {
        "status": status_of(certificate),
        "holder_erased": False,
        "certificate": certificate.facts,
        "signature": {
            "alg": "EdDSA",
            "crv": "Ed25519",
            "kid": certificate.key_id,
            "value": certificate.signature,
        },
        **revocation,
    }


@bp.get("/<code>.json")
@public
def certificate_json(code: str):
    try:
        certificate = find_by_code(get_connection(), code)
    except NotFound as error:
        return jsonify({"status": "unknown", "error": error.message}), 404
    return jsonify(_describe(certificate))


@bp.get("/<code>")
@public
def certificate(code: str):
    try:
        certificate = find_by_code(get_connection(), code)
    except NotFound as error:
        # A mistyped code: say so beside the form, with what was typed, to try again.
        return render_template("verify/form.html", typed=code[:64], error=error.message), 404
    return render_template(
        "verify/certificate.html", **_describe(certificate), code=grouped(certificate.code)
    )
