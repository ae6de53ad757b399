"""Towers: one text side and one image side, each carrying its own input preparation.

This module holds the two interfaces; `zoo.text_tower` and `zoo.image_tower` hold the towers
LinguaLens trains and saves, each writing and reading its own files.

A tower turns raw inputs into model inputs (`tokenize` / `prepare`) and model inputs into
unnormalised features (`forward`). Keeping tokenizer settings (prefix, max length, padding)
and image preprocessing inside the tower is the point: callers never assemble them, so
training, evaluation, export and the app all feed a model exactly the same way.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .preprocess import ImagePreprocess


def count_parameters(module: nn.Module, exclude: nn.Module | None = None) -> int:
    skip = {id(p) for p in exclude.parameters()} if exclude is not None else set()
    return sum(p.numel() for p in module.parameters() if id(p) not in skip)


class TextTower(nn.Module):
    output_dim: int
    max_length: int

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def num_parameters(self) -> int:
        return count_parameters(self)


class ImageTower(nn.Module):
    output_dim: int
    preprocess: ImagePreprocess | None = None

    def prepare(self, images: list[Any]) -> dict[str, torch.Tensor]:
        if self.preprocess is None:
            raise NotImplementedError
        return {"pixel_values": torch.from_numpy(self.preprocess.batch(images))}

    def num_parameters(self) -> int:
        return count_parameters(self)


def as_numpy(x: torch.Tensor) -> np.ndarray:
    return x.detach().to(torch.float32).cpu().numpy()
