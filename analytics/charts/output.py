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
    """Render the figure and encode it as an optimized RGB PNG, palette-quantized if large."""
    raw = io.BytesIO()
    figure.canvas.print_png(raw)  # type: ignore[attr-defined]  # a FigureCanvasAgg is attached
    raw.seek(0)
    with Image.open(raw) as image:
        rgb = image.convert("RGB")
    data = _encode(rgb)
    for colours in (256, 64):
        if len(data) <= TARGET_BYTES:
            break
        data = _encode(rgb.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))
    return data


def _encode(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
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
