"""Checking an evidence pack offline: the manifest's signature against the published keys,
then every file against the manifest. No database, no Flask; the zip is read, never
extracted, and no name in it is used as a path.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Final

from app.certificates.keyring import KeySet
from app.evidence.packs import FORMAT, MANIFEST, SIGNATURE

_CHUNK: Final = 1024 * 1024
MAX_MEMBERS: Final = 200_000  # far beyond any real pack: a bound on what a hostile zip costs


@dataclass
class PackReport:
    """What the check found: ``ok`` only when the signature holds and no file differs."""

    signature: str = ""
    signed: bool = False
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    checked: int = 0
    manifest: dict | None = None

    @property
    def ok(self) -> bool:
        return self.signed and not (self.changed or self.added or self.missing)

    def lines(self) -> list[str]:
        found = [f"changed: {name}" for name in self.changed]
        found += [f"added: {name}" for name in self.added]
        found += [f"missing: {name}" for name in self.missing]
        return [f"manifest: {self.signature}", *found]


def check_pack(source: IO[bytes] | str, keys: KeySet) -> PackReport:
    """Check a pack: its signed manifest, then every member's SHA-256 against it."""
    report = PackReport()
    try:
        with zipfile.ZipFile(source) as pack:
            members = [info for info in pack.infolist() if not info.is_dir()]
            if len(members) > MAX_MEMBERS:
                report.signature = f"the zip holds {len(members)} files: not a Candor pack"
                return report
            names = [info.filename for info in members]
            if MANIFEST not in names or SIGNATURE not in names:
                report.signature = "no manifest.json and manifest.sig: not a Candor pack"
                return report
            data = pack.read(MANIFEST)
            manifest = _signed_manifest(data, pack.read(SIGNATURE), keys, report)
            if manifest is None:
                return report
            report.manifest = manifest
            listed: dict[str, str] = manifest["files"]
            for info in members:
                name = info.filename
                if name in (MANIFEST, SIGNATURE):
                    continue
                if name not in listed:
                    report.added.append(name)
                    continue
                report.checked += 1
                if _sha256(pack, info) != listed[name]:
                    report.changed.append(name)
            present = set(names)
            report.missing = sorted(name for name in listed if name not in present)
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, TypeError) as error:
        report.signed = False
        report.signature = f"the pack cannot be read ({error})"
    return report


def _sha256(pack: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    digest = hashlib.sha256()
    with pack.open(info) as member:
        while chunk := member.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _signed_manifest(data: bytes, signature: bytes, keys: KeySet, report: PackReport):
    try:
        manifest = json.loads(data)
        signed = json.loads(signature)
        kid = signed["kid"]
        created = datetime.fromisoformat(str(manifest["created_at"]).replace("Z", "+00:00"))
        if manifest.get("format") != FORMAT or not isinstance(manifest.get("files"), dict):
            raise ValueError("not a Candor evidence manifest")
    except (ValueError, KeyError, TypeError) as error:
        report.signature = f"the manifest cannot be read ({error})"
        return None
    key = keys.find(kid)
    if key is None:
        report.signature = f"signed with key {kid!r}, which is not among the published keys"
        return None
    if not key.verifier.verify(data, str(signed.get("value", ""))):
        report.signature = "its signature does not match: the manifest was changed"
        return None
    if not key.covers(created.date()):
        report.signature = f"dated {created:%Y-%m-%d}, outside key {kid}'s period ({key.period()})"
        return None
    report.signed = True
    report.signature = (
        f"signature valid, key {kid}; made {manifest['created_at']}, "
        f"{len(manifest['files'])} files listed"
    )
    return manifest
