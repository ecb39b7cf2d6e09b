"""Images uploaded in the studio: checked, then re-encoded so nothing but pixels survives.

A PNG, JPEG or WebP is accepted when its first bytes say so (the name is not trusted), it is
within the size limit, and its pixel count is capped *before* it is decoded (a small file can
claim a huge canvas). It is then rotated as its EXIF says and saved afresh, without EXIF, XMP,
ICC or text chunks: a photo's GPS position or camera serial never reaches a learner.
Pillow does the decoding and encoding.
"""

from __future__ import annotations

import io
import re
import warnings

from PIL import Image, ImageOps

from app.content.loader import MAX_ASSET_BYTES, sniff_image
from app.errors import DomainError

MAX_PIXELS = 25_000_000  # 25 megapixels: a large photo; decoding more is refused
FORMATS = {
    "image/png": ("PNG", "png"),
    "image/jpeg": ("JPEG", "jpg"),
    "image/webp": ("WEBP", "webp"),
}


class ImageRefused(DomainError):
    status = 400


def clean_image(data: bytes, filename: str) -> tuple[str, bytes]:
    """``(asset name, re-encoded bytes)`` for an upload, or ImageRefused saying why."""
    if not data:
        raise ImageRefused("The file is empty: choose a PNG, JPEG or WebP image.")
    if len(data) > MAX_ASSET_BYTES:
        raise ImageRefused(
            f"The image is {len(data):,} bytes; at most {MAX_ASSET_BYTES:,} are allowed."
        )
    media_type = sniff_image(data)
    if media_type is None:
        raise ImageRefused("This is not a PNG, JPEG or WebP image (judged by its content).")
    pillow_format, extension = FORMATS[media_type]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[pillow_format]) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise ImageRefused(
                        f"The image is {width} × {height} pixels; at most "
                        f"{MAX_PIXELS:,} pixels are allowed. Make it smaller first."
                    )
                image.load()
                cleaned = _pixels_only(ImageOps.exif_transpose(image))
    except ImageRefused:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Warning):
        raise ImageRefused("The image cannot be read: it may be damaged.") from None
    out = io.BytesIO()
    if pillow_format == "JPEG":
        cleaned.convert("RGB").save(out, "JPEG", quality=90)
    elif pillow_format == "WEBP":
        cleaned.save(out, "WEBP", quality=90)
    else:
        cleaned.save(out, "PNG", optimize=True)
    return _asset_name(filename, extension), out.getvalue()


def _pixels_only(image: Image.Image) -> Image.Image:
    """A new image with the same pixels and nothing else (no info, EXIF, ICC, palette text)."""
    if image.mode not in ("1", "L", "LA", "RGB", "RGBA", "P"):
        image = image.convert("RGBA" if "A" in image.mode else "RGB")
    if image.mode == "P":
        image = image.convert("RGBA")
    bare = Image.new(image.mode, image.size)
    bare.paste(image)
    return bare


def _asset_name(filename: str, extension: str) -> str:
    stem = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].rsplit(".", 1)[0]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._").lower()[:80] or "image"
    return f"{stem}.{extension}"
