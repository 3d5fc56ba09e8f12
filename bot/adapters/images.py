"""Chart files prepared for upload: checked to be PNG/JPEG and shrunk under a vendor's size cap.

Runs in a worker thread (file I/O and Pillow re-encoding are blocking); callers use
``await asyncio.to_thread(load_image, path, max_bytes)``.
"""

from __future__ import annotations

import io
from pathlib import Path

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"


class ImageError(Exception):
    """A chart that cannot be sent as an image (missing, not an image, cannot be made small enough)."""


def image_kind(data: bytes) -> str | None:
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    return None


def _shrink(data: bytes, max_bytes: int) -> bytes:
    from PIL import Image  # Pillow ships with matplotlib

    with Image.open(io.BytesIO(data)) as img:
        img.load()
        image = img.convert("RGBA") if img.mode not in ("RGB", "RGBA", "L", "P") else img.copy()
    scale = 1.0
    for _ in range(8):
        out = io.BytesIO()
        size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
        frame = image if scale == 1.0 else image.resize(size, Image.LANCZOS)
        frame.save(out, format="PNG", optimize=True)
        if out.tell() <= max_bytes:
            return out.getvalue()
        scale *= 0.75
    raise ImageError("chart stays above the size limit after downscaling")


def load_image(path: Path, max_bytes: int) -> tuple[bytes, str]:
    """The image bytes (re-encoded as a smaller PNG when over ``max_bytes``) and their kind."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ImageError(f"chart file unreadable: {type(exc).__name__}") from None
    kind = image_kind(data)
    if kind is None:
        raise ImageError("chart file is neither PNG nor JPEG")
    if len(data) <= max_bytes:
        return data, kind
    return _shrink(data, max_bytes), "png"
