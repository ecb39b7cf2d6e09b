"""Every certificate signing key Candor ever used, with when it could sign. Callers own the
transaction.

The private key is configuration (``certificates.signing``); its public history is here, in
``signing_keys``: published at ``/verify/keys.json``, read back from that file by an offline
check. A key is added the first time it signs (or by ``certificates rotate-key``), which ends
the period of the key before it. A certificate names its key (``kid``); it is genuine only if
that key is published and was valid on the day it was issued.

keys.json holds two JSON Web Keys per signing key: the Ed25519 key that signs the facts
(``kid``) and the P-256 key that signs the PDF (``kid.pdf``, with its X.509 certificate in
``x5c``), each with ``valid_from`` and ``valid_until`` (ISO 8601, UTC; null: still in use).
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.events import record
from app.certificates.signing import Signer, Verifier, b64url, unb64url
from app.db import utcnow
from app.errors import DomainError
from app.models import Certificate, SigningKey, User

PDF_KID_SUFFIX = ".pdf"


@dataclass(frozen=True)
class PublishedKey:
    """One signing key as the world sees it: public parts and validity period."""

    kid: str
    verifier: Verifier
    pdf_certificate: bytes | None  # DER; None in a keys.json from before PDF signatures
    valid_from: datetime | None  # None: not stated (a keys.json from before key history)
    valid_until: datetime | None  # None: still in use

    def covers(self, day: date) -> bool:
        """Whether the key could sign on ``day`` (UTC), its first and last days included."""
        if self.valid_from is not None and day < self.valid_from.date():
            return False
        return self.valid_until is None or day <= self.valid_until.date()

    def period(self) -> str:
        start = self.valid_from.strftime("%Y-%m-%d %H:%M UTC") if self.valid_from else "?"
        end = self.valid_until.strftime("%Y-%m-%d %H:%M UTC") if self.valid_until else "now"
        return f"{start} to {end}"

    def jwks(self) -> list[dict]:
        """The key's two entries in keys.json."""
        validity = {
            "valid_from": _iso(self.valid_from),
            "valid_until": _iso(self.valid_until),
        }
        entries = [{**self.verifier.jwk(), **validity}]
        if self.pdf_certificate is not None:
            public = x509.load_der_x509_certificate(self.pdf_certificate).public_key()
            assert isinstance(public, ec.EllipticCurvePublicKey)  # noqa: S101  # nosec B101
            numbers = public.public_numbers()
            entries.append(
                {
                    "kty": "EC",
                    "crv": "P-256",
                    "alg": "ES256",
                    "use": "sig",
                    "kid": self.kid + PDF_KID_SUFFIX,
                    "x": b64url(numbers.x.to_bytes(32, "big")),
                    "y": b64url(numbers.y.to_bytes(32, "big")),
                    "x5c": [base64.b64encode(self.pdf_certificate).decode("ascii")],
                    **validity,
                }
            )
        return entries


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def _moment(text: object) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return moment


@dataclass(frozen=True)
class KeySet:
    """The published keys, by id."""

    keys: tuple[PublishedKey, ...]

    def find(self, kid: object) -> PublishedKey | None:
        return next((key for key in self.keys if key.kid == kid), None)

    def by_pdf_certificate(self, der: bytes) -> PublishedKey | None:
        return next((key for key in self.keys if key.pdf_certificate == der), None)

    def to_json(self) -> dict:
        return {"keys": [entry for key in self.keys for entry in key.jwks()]}

    @classmethod
    def from_json(cls, data: object) -> KeySet:
        """Read keys.json (or one key of it); ValueError naming what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        entries = data["keys"] if "keys" in data else [data]
        if not isinstance(entries, list):
            raise ValueError('"keys" is not a list')
        ed25519: dict[str, dict] = {}
        pdf: dict[str, bytes] = {}
        for entry in entries:
            if not isinstance(entry, dict):
                raise ValueError("a key is not a JSON object")
            if entry.get("kty") == "OKP":
                verifier = Verifier.from_jwk(entry)
                if entry.get("kid", verifier.key_id) != verifier.key_id:
                    raise ValueError(f"key {entry.get('kid')!r} does not have that id")
                ed25519[verifier.key_id] = entry
            elif entry.get("kty") == "EC" and str(entry.get("kid", "")).endswith(PDF_KID_SUFFIX):
                chain = entry.get("x5c")
                if not isinstance(chain, list) or not chain:
                    raise ValueError(f"key {entry['kid']!r} has no x5c certificate")
                pdf[entry["kid"][: -len(PDF_KID_SUFFIX)]] = base64.b64decode(chain[0])
        if not ed25519:
            raise ValueError("no Ed25519 key in it")
        return cls(
            tuple(
                PublishedKey(
                    kid=kid,
                    verifier=Verifier.from_jwk(entry),
                    pdf_certificate=pdf.get(kid),
                    valid_from=_moment(entry.get("valid_from")),
                    valid_until=_moment(entry.get("valid_until")),
                )
                for kid, entry in ed25519.items()
            )
        )

    @classmethod
    def from_text(cls, text: str) -> KeySet:
        return cls.from_json(json.loads(text))


def _published(row: SigningKey) -> PublishedKey:
    return PublishedKey(
        kid=row.kid,
        verifier=Verifier(Ed25519PublicKey.from_public_bytes(unb64url(row.public_key))),
        pdf_certificate=bytes(row.pdf_certificate),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
    )


def published_keys(session: Session, signer: Signer) -> KeySet:
    """Every key in the history, oldest first, and the configured key if it has not signed
    yet (valid from the first certificate it signed, if any). Writes nothing."""
    rows = session.scalars(select(SigningKey).order_by(SigningKey.valid_from, SigningKey.id))
    keys = [_published(row) for row in rows]
    if all(key.kid != signer.key_id for key in keys):
        keys.append(_unrecorded(session, signer))
    return KeySet(tuple(keys))


def _unrecorded(session: Session, signer: Signer) -> PublishedKey:
    first = session.scalar(
        select(func.min(Certificate.issued_at)).where(Certificate.key_id == signer.key_id)
    )
    return PublishedKey(signer.key_id, signer.verifier, signer.pdf_certificate(), first, None)


@functools.cache
def _key_query() -> Select:
    return select(SigningKey).where(SigningKey.kid == bindparam("kid"))  # every pass runs it


def signing_key(session: Session, signer: Signer) -> SigningKey:
    """The history row of the key about to sign: added (ending its predecessor's period) if
    new; DomainError if it was retired (this process still holds a key rotated out)."""
    row = session.scalar(_key_query(), {"kid": signer.key_id})
    if row is None:
        row = _add_key(session, signer, None)
    if row.valid_until is not None:
        raise DomainError(
            "The certificate signing key of this server was retired; it must be restarted "
            "with the current key before certificates can be issued.",
            status=503,
        )
    return row


def _add_key(session: Session, signer: Signer, actor: User | None) -> SigningKey:
    """Record ``signer`` as the key in use from now on and retire the one before it."""
    unrecorded = _unrecorded(session, signer)
    now = utcnow()
    row = SigningKey(
        kid=signer.key_id,
        public_key=b64url(signer.verifier.public_key.public_bytes_raw()),
        pdf_certificate=signer.pdf_certificate(),
        # A key that signed before key history existed (migration 0017) was valid since then.
        valid_from=unrecorded.valid_from or now,
    )
    try:
        with session.begin_nested():
            session.execute(
                update(SigningKey).where(SigningKey.valid_until.is_(None)).values(valid_until=now)
            )
            session.add(row)
    except IntegrityError:
        # Another process added this key at the same moment: use its row.
        return session.scalars(select(SigningKey).where(SigningKey.kid == signer.key_id)).one()
    record(session, "certificates.key_added", actor=actor, subject=row, kid=row.kid)
    return row


def rotate(session: Session, actor: User | None, new: Signer) -> SigningKey:
    """Make ``new`` the signing key from now on; the current key's period ends now."""
    if session.scalar(select(SigningKey).where(SigningKey.kid == new.key_id)) is not None:
        raise DomainError(f"Key {new.key_id} has been used already: rotate to a new key.")
    return _add_key(session, new, actor)


def key_history(session: Session) -> Iterable[SigningKey]:
    return session.scalars(select(SigningKey).order_by(SigningKey.valid_from, SigningKey.id))
