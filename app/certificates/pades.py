"""The PDF's own signature (PAdES, with pyHanko): over the whole file, so any change after
signing is caught here and shown by PDF readers (poppler's pdfsig, Acrobat).

The signature is a certification signature that permits no changes (DocMDP level 1), made
with the signing key's derived P-256 key (``certificates.signing``); its X.509 certificate is
self-signed and published in keys.json, which is the only trust root a check uses. Signing is
a pure function of the PDF and the key: no session, so it can run wherever the PDF is
rendered (in the completion's transaction today, in a job later).
"""

from __future__ import annotations

import asyncio
import io
import warnings
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC
from typing import Any, TypeVar

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization

from app.certificates.keyring import KeySet, PublishedKey
from app.certificates.signing import Signer

with warnings.catch_warnings():
    # pyHanko imports cryptography's DSA names, which cryptography deprecates: not our use.
    warnings.simplefilter("ignore")
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import fields, signers
    from pyhanko.sign.general import SigningError
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.registry import SimpleCertificateStore

FIELD_NAME = "CandorCertificate"
T = TypeVar("T")


def _run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run one of pyHanko's coroutines to its end from synchronous code.

    pyHanko's synchronous calls use ``asyncio.run``, which fails in a thread whose event loop
    is running (a Playwright or async caller's): then the coroutine runs in a thread of its own.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def sign_pdf(pdf: bytes, signer: Signer, reason: str = "Certificate of completion") -> bytes:
    """``pdf`` with a PAdES certification signature over the whole file by ``signer``."""
    key = signer.pdf_key()
    signing_key = asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pdf_signer = signers.PdfSigner(
        signers.PdfSignatureMetadata(
            field_name=FIELD_NAME,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason,
            certify=True,
            docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        ),
        signer=signers.SimpleSigner(
            signing_cert=asn1_x509.Certificate.load(signer.pdf_certificate()),
            signing_key=signing_key,
            cert_registry=SimpleCertificateStore(),
        ),
    )
    output = io.BytesIO()
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    _run(lambda: pdf_signer.async_sign_pdf(writer, output=output))
    return output.getvalue()


@dataclass(frozen=True)
class PdfSignature:
    """What a check of the PDF signature found: ``ok``, and what to tell the reader."""

    ok: bool
    message: str
    key: PublishedKey | None = None


def signature_count(pdf: bytes) -> int:
    """How many signatures the PDF holds (0 for a certificate issued before PDF signing)."""
    try:
        return len(PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures)
    except (PdfError, ValueError, KeyError, TypeError, OSError):
        return 0


def check_pdf_signature(pdf: bytes, keys: KeySet) -> PdfSignature:
    """Check the one signature of ``pdf`` against the published keys: intact, made by one of
    them while it was valid, covering the whole file (nothing added after signing)."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except (PdfError, ValueError, KeyError, TypeError, OSError) as error:
        return PdfSignature(False, f"The PDF cannot be read ({error}).")
    if len(signatures) != 1:
        return PdfSignature(False, f"The PDF holds {len(signatures)} signatures, not one.")
    embedded = signatures[0]
    try:
        der = embedded.signer_cert.dump()
    except (SignatureValidationError, ValueError, KeyError, TypeError, AttributeError):
        return PdfSignature(False, "The PDF signature names no signer.")
    key = keys.by_pdf_certificate(der)
    if key is None:
        return PdfSignature(False, "The PDF is not signed with any published Candor key.")
    roots = [asn1_x509.Certificate.load(der)]
    try:
        context = ValidationContext(trust_roots=roots, allow_fetching=False)
        status = _run(lambda: async_validate_pdf_signature(embedded, context))
    except (SignatureValidationError, SigningError, PdfError, ValueError) as error:
        return PdfSignature(False, f"The PDF signature cannot be checked ({error}).", key)
    if not (status.intact and status.valid):
        return PdfSignature(False, "The PDF was changed after it was signed.", key)
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        return PdfSignature(False, "Something was added to the PDF after it was signed.", key)
    reported = status.signer_reported_dt
    signed_at = reported.astimezone(UTC) if reported is not None else None
    if signed_at is not None and not key.covers(signed_at.date()):
        return PdfSignature(
            False,
            f"The PDF was signed on {signed_at:%Y-%m-%d}, outside the period of key "
            f"{key.kid} ({key.period()}).",
            key,
        )
    when = f" on {signed_at:%Y-%m-%d %H:%M} UTC" if signed_at is not None else ""
    return PdfSignature(True, f"valid, covers the whole file, signed{when} with key {key.kid}", key)
