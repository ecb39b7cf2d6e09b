"""A course as the files of its folder: from a published version, to a folder or a zip.

``version_files`` gives back exactly the files ``courses sync`` read (course.toml, modules,
quiz.md, assets/), so writing them out and syncing them elsewhere reports the course
unchanged: the same content hash. The studio's drafts hold the same mapping.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path, PurePosixPath

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Asset, CourseVersion

# A fixed timestamp for every zip entry, so the same version always gives the same bytes.
ZIP_TIME = (2026, 1, 1, 0, 0, 0)


def version_files(session: Session, version: CourseVersion) -> dict[str, bytes]:
    """The course folder of ``version``: path inside the folder -> bytes."""
    files = {"course.toml": version.metadata_source.encode()}
    for module in version.modules:
        files[f"{module.stem}.md"] = module.source.encode()
    if version.quiz_source is not None:
        files["quiz.md"] = version.quiz_source.encode()
    for name, data in session.execute(
        select(Asset.name, Asset.data).where(Asset.version_id == version.id).order_by(Asset.name)
    ):
        files[f"assets/{name}"] = data
    return files


def write_folder(files: dict[str, bytes], folder: Path) -> None:
    """Write ``files`` into ``folder`` (created; it must not hold a course already)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path, data in files.items():
        target = folder / PurePosixPath(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def zip_folder(files: dict[str, bytes], slug: str) -> bytes:
    """The folder as a zip holding ``slug/`` and its files, byte for byte reproducible."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(f"{slug}/{path}", date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[path])
    return buffer.getvalue()
