"""What the CRNN example scripts share: the input spec, text-line rendering, paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

#: the network's input: grayscale lines 32 pixels high, of any width in [MIN_WIDTH, MAX_WIDTH]
HEIGHT, MIN_WIDTH, MAX_WIDTH = 32, 16, 512
WEIGHTS = ROOT / "weights" / "crnn.wts"
ENGINE = ROOT / "engines" / "crnn.engine"


def render(text: str, width: int | None = None, shift: tuple[int, int] = (0, 0), size: int = 22) -> np.ndarray:
    """``text`` in black on white as a (32, W) uint8 line, drawn with Pillow's bundled font; W is
    ``width``, or fits the text (a multiple of 4)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=size)
    left, top, right, bottom = font.getbbox(text)
    if width is None:
        width = -(-(right - left + 8) // 4) * 4
    image = Image.new("L", (width, HEIGHT), 255)
    y = (HEIGHT - (bottom - top)) // 2 - top
    ImageDraw.Draw(image).text((4 - left + shift[0], y + shift[1]), text, fill=0, font=font)
    return np.asarray(image)


def normalize(line: np.ndarray) -> np.ndarray:
    """A (32, W) uint8 line as the network's (1, 1, 32, W) float input in [-1, 1] (as tensorrtx's crnn)."""
    return ((line.astype(np.float32) / 255.0 - 0.5) * 2.0)[None, None]


def input_spec():
    """The network input: (1, 1, 32, W) with a dynamic width W."""
    import netdef

    return netdef.Input((1, 1, HEIGHT, -1), min=(1, 1, HEIGHT, MIN_WIDTH), max=(1, 1, HEIGHT, MAX_WIDTH))
