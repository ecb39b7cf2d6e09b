"""The certificate signing key: Ed25519 over the certificate facts, and the PDF signing key
derived from it.

The private key comes from configuration (``CANDOR_CERTIFICATE_SIGNING_KEY``: a PEM or the
base64 of the 32 raw bytes) or is generated once into ``instance/certificate_signing_key``.
Several app instances must share one configured key. Every key ever used is published at
``/verify/keys.json`` (``certificates.keyring``), so anyone can check a certificate with
nothing but that file.

PDF readers (poppler's pdfsig, NSS, Acrobat) do not check Ed25519 signatures in a PDF, so the
PAdES signature is ECDSA P-256. Its private key is derived from the Ed25519 key with HKDF
(RFC 5869), so one configured secret gives both and a rotation changes both; its public key
travels in a self-signed X.509 certificate naming the Ed25519 key's id. That certificate is
made with deterministic ECDSA (RFC 6979), so it is the same bytes wherever it is rebuilt.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID

KEY_FILE = "certificate_signing_key"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(public: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: the start of the SHA-256 of its raw bytes."""
    return hashlib.sha256(_raw(public)).hexdigest()[:16]


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """A public key, able to check signatures."""

    public_key: Ed25519PublicKey

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def verify(self, data: bytes, signature: str) -> bool:
        try:
            self.public_key.verify(unb64url(signature), data)
        except (InvalidSignature, ValueError):
            return False
        return True

    def jwk(self) -> dict:
        """The key as a JSON Web Key (RFC 8037), for /verify/keys.json."""
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": "EdDSA",
            "use": "sig",
            "kid": self.key_id,
            "x": b64url(_raw(self.public_key)),
        }

    @classmethod
    def from_jwk(cls, data: dict) -> Verifier:
        if data.get("kty") != "OKP" or data.get("crv") != "Ed25519" or "x" not in data:
            raise ValueError("not an Ed25519 public key")
        return cls(Ed25519PublicKey.from_public_bytes(unb64url(data["x"])))


# The X.509 certificate of a PDF key is valid from a fixed date "for ever" (RFC 5280's
# 99991231235959Z): readers check it at the moment they read, years after signing. When a key
# may sign is its published validity period (certificates.keyring), not the X.509 dates.
_X509_NOT_BEFORE = datetime(2000, 1, 1, tzinfo=UTC)
_X509_NOT_AFTER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
_PDF_KEY_INFO = b"candor certificate pdf signing key/1"


@dataclass(frozen=True)
class Signer:
    private_key: Ed25519PrivateKey

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.private_key.public_key())

    @property
    def key_id(self) -> str:
        return self.verifier.key_id

    def sign(self, data: bytes) -> str:
        return b64url(self.private_key.sign(data))

    def pdf_key(self) -> ec.EllipticCurvePrivateKey:
        """The ECDSA P-256 key that signs PDFs, derived from this key (same key, same result)."""
        seed = HKDF(algorithm=hashes.SHA256(), length=48, salt=None, info=_PDF_KEY_INFO).derive(
            self.private_key.private_bytes_raw()
        )
        # 384 bits reduced modulo the group order: the bias is below 2^-128 (FIPS 186-5 A.4.1).
        scalar = int.from_bytes(seed, "big") % (_P256_ORDER - 1) + 1
        return ec.derive_private_key(scalar, ec.SECP256R1())

    def pdf_certificate(self) -> bytes:
        """The DER X.509 certificate of :meth:`pdf_key`, self-signed, naming this key's id."""
        key = self.pdf_key()
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, f"Candor certificate key {self.key_id}"),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Certificate signing"),
            ]
        )
        usage = x509.KeyUsage(
            digital_signature=True,
            content_commitment=True,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        )
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(int(self.key_id, 16))
            .not_valid_before(_X509_NOT_BEFORE)
            .not_valid_after(_X509_NOT_AFTER)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(usage, critical=True)
            .sign(key, hashes.SHA256(), ecdsa_deterministic=True)
        )
        return certificate.public_bytes(serialization.Encoding.DER)


_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def generate_key_pem() -> bytes:
    """A new Ed25519 private key, as an unencrypted PKCS#8 PEM."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def parse_key(text: str) -> Signer:
    """A signer from a PEM or the base64 of 32 raw bytes; ValueError if it is neither."""
    return Signer(_parse_key(text))


def _parse_key(text: str) -> Ed25519PrivateKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the certificate signing key must be an Ed25519 key")
        return key
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text))


def load_signer(configured: str | None, instance_path: str) -> Signer:
    """The configured key, else the instance key (generated on first use, race-free)."""
    if configured:
        try:
            return Signer(_parse_key(configured))
        except ValueError as error:
            raise RuntimeError(f"CANDOR_CERTIFICATE_SIGNING_KEY is not usable: {error}") from None
    path = Path(instance_path) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = generate_key_pem()
        try:
            # O_EXCL: of two processes starting at once, one writes and both use its key.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
    for _ in range(50):
        text = path.read_text()
        if text.strip().endswith("-----"):
            return Signer(_parse_key(text))
        time.sleep(0.01)  # the other process is still writing it
    raise RuntimeError(f"{path} is not a PEM private key")
