"""Image preprocessing in plain PIL + numpy, so PyTorch and the ONNX runtime share one code path.

Every tower carries an `ImagePreprocess`; nobody builds resize/normalise pipelines by hand,
which is how exported models end up fed differently from the ones that were evaluated.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable

import numpy as np
from PIL import Image

from core.io import load_image

_RESAMPLE = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR, "nearest": Image.NEAREST}


@dataclass(frozen=True)
class ImagePreprocess:
    image_size: int = 224
    mean: tuple[float, float, float] = (127.0 / 255, 127.0 / 255, 127.0 / 255)
    std: tuple[float, float, float] = (128.0 / 255, 128.0 / 255, 128.0 / 255)
    resize: str = "shortest"  # "shortest" + centre crop, or "squash"
    interpolation: str = "bicubic"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ImagePreprocess":
        return cls(image_size=int(d["image_size"]), mean=tuple(d["mean"]), std=tuple(d["std"]),
                   resize=d.get("resize", "shortest"), interpolation=d.get("interpolation", "bicubic"))

    def pixels(self, image: Image.Image) -> np.ndarray:
        """One RGB image -> float32 [3, S, S], normalised."""
        s, resample = self.image_size, _RESAMPLE[self.interpolation]
        if self.resize == "squash":
            image = image.resize((s, s), resample=resample)
        else:
            w, h = image.size
            scale = s / min(w, h)
            nw, nh = max(s, round(w * scale)), max(s, round(h * scale))
            if (nw, nh) != (w, h):
                image = image.resize((nw, nh), resample=resample)
            left, top = (nw - s) // 2, (nh - s) // 2
            image = image.crop((left, top, left + s, top + s))
        x = np.asarray(image, dtype=np.float32) / 255.0
        x = (x - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        return np.ascontiguousarray(x.transpose(2, 0, 1))

    def batch(self, images: Iterable[Any]) -> np.ndarray:
        arrays = [self.pixels(load_image(im)) for im in images]
        if not arrays:
            return np.zeros((0, 3, self.image_size, self.image_size), np.float32)
        return np.stack(arrays)
