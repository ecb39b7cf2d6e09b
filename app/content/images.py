"""Images: the one check every picture Candor accepts goes through, and its re-encoding.

Course assets (`courses sync`), studio uploads and the organisation's logo are all read
here. An image is a PNG, JPEG or WebP when its first bytes say so (its name is not trusted);
its size in bytes and its declared size in pixels are capped *before* it is decoded (a 35 KB
PNG can declare 60,000 x 60,000 pixels, 14 GB once decoded); then it is decoded in full, so
a truncated or corrupt file is refused here rather than in a learner's browser. Uploads are
saved afresh from their pixels (`clean_upload`), so no EXIF, GPS, XMP, ICC or text chunk
survives. Pillow does the decoding and encoding.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from app.errors import DomainError

MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}
_PILLOW_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


@dataclass(frozen=True)
class Limits:
    """What an image may be: bytes, declared pixels in all, and pixels on a side."""

    max_bytes: int
    max_pixels: int
    max_side: int | None = None
    min_side: int = 1


MAX_ASSET_BYTES = 2 * 1024 * 1024
MAX_ASSET_PIXELS = 4096 * 4096  # ~16.8 million: a full-width picture, far below a bomb
COURSE_IMAGE = Limits(MAX_ASSET_BYTES, MAX_ASSET_PIXELS)


class ImageRefused(DomainError):
    """Why an image cannot be used. ``reason`` is the bare clause (``courses check`` prints
    it after ``file:line:``); the message is the same as a sentence for a page."""

    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(f"{reason[0].upper()}{reason[1:]}.")
        self.reason = reason


def sniff_image(data: bytes) -> str | None:
    """The image type its first bytes say ``data`` is (PNG, JPEG or WebP), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def decode(data: bytes, limits: Limits, expected: str | None = None) -> Image.Image:
    """The decoded image, or ImageRefused saying why. ``expected`` is the media type the
    file's name promises, when it has one."""
    if not data:
        raise ImageRefused("the file is empty: choose a PNG, JPEG or WebP image")
    if len(data) > limits.max_bytes:
        raise ImageRefused(
            f"the file is {len(data):,} bytes; at most {limits.max_bytes:,} are allowed"
        )
    media_type = sniff_image(data)
    if expected is not None and media_type != expected:
        raise ImageRefused(f"the file is not a {_PILLOW_FORMATS[expected]} image")
    if media_type is None:
        raise ImageRefused("the file is not a PNG, JPEG or WebP image (judged by its content)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[media_type]])
            _check_size(*image.size, limits)
            image.load()
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused(
            f"the image declares far more than the {limits.max_pixels:,} pixels allowed"
        ) from None
    except (OSError, SyntaxError, ValueError):
        raise ImageRefused(
            "the image cannot be decoded: the file is damaged or not an image"
        ) from None
    return image


def _check_size(width: int, height: int, limits: Limits) -> None:
    if limits.max_side is not None and max(width, height) > limits.max_side:
        raise ImageRefused(
            f"the image is {width:,} x {height:,} pixels; at most {limits.max_side:,} pixels "
            "on a side are allowed"
        )
    if width * height > limits.max_pixels:
        raise ImageRefused(
            f"the image is {width:,} x {height:,} pixels; at most {limits.max_pixels:,} "
            "pixels in all are allowed"
        )
    if min(width, height) < limits.min_side:
        raise ImageRefused(f"the image is too small: at least {limits.min_side} pixels a side")


def pixels_only(image: Image.Image) -> Image.Image:
    """A new image with the same pixels, turned as its EXIF says, and nothing else (no info,
    EXIF, ICC or palette text)."""
    image = ImageOps.exif_transpose(image)
    if image.mode not in ("1", "L", "LA", "RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.mode or image.mode == "P" else "RGB")
    bare = Image.new(image.mode, image.size)
    bare.paste(image)
    return bare


def clean_upload(data: bytes, filename: str) -> tuple[str, bytes]:
    """A course image uploaded in the studio as ``(asset name, re-encoded bytes)`` in its own
    format, or ImageRefused: the limits are those ``courses sync`` applies, so an image the
    studio accepts is one a publish accepts."""
    image = decode(data, COURSE_IMAGE)
    media_type = sniff_image(data) or "image/png"  # decode has checked it is one of three
    pillow_format = _PILLOW_FORMATS[media_type]
    cleaned = pixels_only(image)
    out = io.BytesIO()
    if pillow_format == "PNG":
        cleaned.save(out, "PNG", optimize=True)
    else:  # JPEG has no alpha channel
        (cleaned.convert("RGB") if pillow_format == "JPEG" else cleaned).save(
            out, pillow_format, quality=90
        )
    return _asset_name(filename, _EXTENSIONS[media_type]), out.getvalue()


def _asset_name(filename: str, extension: str) -> str:
    stem = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].rsplit(".", 1)[0]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._").lower()[:80] or "image"
    return f"{stem}.{extension}"
