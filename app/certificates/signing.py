"""Ed25519 signatures over certificate facts.

The private key comes from configuration (``CANDOR_CERTIFICATE_SIGNING_KEY``: a PEM or the
base64 of the 32 raw bytes) or is generated once into ``instance/certificate_signing_key``.
Several app instances must share one configured key. The public key is published at
``/verify/keys.json``, so anyone can check a certificate with nothing but that key.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

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


@dataclass(frozen=True)
class Signer:
    private_key: Ed25519PrivateKey

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.private_key.public_key())

    def sign(self, data: bytes) -> str:
        return b64url(self.private_key.sign(data))


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
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
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
