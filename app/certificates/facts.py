"""The facts a certificate states, and their canonical form for signing.

The facts are a snapshot taken at issue: renaming the holder or the course later changes
nothing printed or signed. Canonical JSON (sorted keys, no spaces, UTF-8) makes the signed
bytes the same wherever they are rebuilt.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date

# Format 3: as format 2, on the lean page (certificate-3.html: one font family, a dozen
# boxes, the QR code drawn as rectangles), a third of format 2's rendering cost.
# Format 2: the PDF carries a PAdES signature too, so a PDF without one was stripped of it.
# Format 1: issued before PDFs were signed; the page is still checked against the facts.
# A format's page never changes: pdf.py renders each format as it always did.
LEAN_FORMAT = "candor-certificate/3"
FORMAT = LEAN_FORMAT  # what new certificates are issued as
FORMATS = ("candor-certificate/1", "candor-certificate/2", LEAN_FORMAT)


@dataclass(frozen=True)
class CertificateFacts:
    """Everything a certificate says, and nothing more (no e-mail, no employee id)."""

    code: str  # grouped, as printed: "7KQ4-M9XD-..."
    holder_name: str
    course_title: str
    course_slug: str
    version_number: int
    content_hash: str  # the short form printed, 12 hex digits
    score: int | None  # percent; None for a course without assessment
    completed_on: date
    issued_on: date
    expires_on: date | None  # None: never expires
    issuer: str  # the organisation that trained the holder
    format: str = FORMAT

    def to_dict(self) -> dict:
        data = asdict(self)
        for key in ("completed_on", "issued_on", "expires_on"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> CertificateFacts:
        """Rebuild facts from their JSON form; raise ValueError if it is not one."""
        try:
            values = dict(data)
            if values.get("format") not in FORMATS:
                raise ValueError("not a Candor certificate")
            for key in ("completed_on", "issued_on", "expires_on"):
                if values[key] is not None:
                    values[key] = date.fromisoformat(values[key])
            return cls(**values)
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a Candor certificate: {error}") from None

    @property
    def pdf_signed(self) -> bool:
        """Whether a PDF of this certificate must carry a PDF signature."""
        return self.format != FORMATS[0]

    def canonical_json(self) -> bytes:
        """The bytes that are signed."""
        return json.dumps(
            self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")
