"""LinguaLens models inside LAION's CLIP_benchmark, so they can sit in the field's tables.

    python -m export.clip_benchmark eval --model_type lingualens --model lit-e5s-effl0-clip-half-dr \\
        --pretrained onnx-int8 --dataset wds/xtd10 --dataset_root DIR --task zeroshot_retrieval

takes every argument `clip_benchmark eval` takes. CLIP_benchmark 1.6.2 keeps its model types in a
fixed table with no plugin hook, so its own `clip_benchmark` command cannot know about
LinguaLens; this entry point adds the `lingualens` type to that table and then runs
CLIP_benchmark's unchanged command line.

`--model` is a zoo name, a checkpoint folder or an ONNX export folder. `--pretrained` picks the
runtime: `pytorch` (default for zoo models), `onnx` or `onnx-int8` (the export of that name under
$LINGUALENS_HOME/exports, or the folder itself).

CLIP_benchmark wants `(model, transform, tokenizer)`: a transform from a PIL image to a pixel
tensor, a tokenizer from a list of strings to one tensor (it only calls `.to(device)` on it), and a
model with `encode_image(pixels)` / `encode_text(tokens)`. Our tokenizer applies the model's own
prefix and cleaning and stacks every input the text tower needs (ids and attention mask) into
that one tensor, so nothing is guessed back from padding.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from core.paths import export_path
from core.text import clean_text
from zoo import load_model

from .runtime import OnnxEncoder, is_export

MODEL_TYPE = "lingualens"
RUNTIMES = ("pytorch", "onnx", "onnx-int8")


class _PixelTransform:
    """PIL image → [3, H, W] float tensor, with the model's own resize, crop and normalisation."""

    def __init__(self, preprocess):
        self.preprocess = preprocess

    def __call__(self, image) -> torch.Tensor:
        return torch.from_numpy(self.preprocess.batch([image])[0])


class _StackedTokenizer:
    """list[str] → LongTensor [B, len(keys), L]: the tower's inputs, stacked in a fixed key order."""

    def __init__(self, tokenize, keys: tuple[str, ...]):
        self.tokenize, self.keys = tokenize, keys

    def __call__(self, texts) -> torch.Tensor:
        texts = [clean_text(str(t)) for t in ([texts] if isinstance(texts, str) else texts)]
        inputs = self.tokenize(texts)
        return torch.stack([torch.as_tensor(np.asarray(inputs[k]), dtype=torch.long) for k in self.keys], dim=1)

    def unstack(self, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
        if tokens.dim() != 3 or tokens.shape[1] != len(self.keys):
            raise ValueError(f"expected tokens from this model's tokenizer ([batch, {len(self.keys)}, length]), "
                             f"got shape {tuple(tokens.shape)}")
        return {k: tokens[:, i] for i, k in enumerate(self.keys)}


class TorchModel(nn.Module):
    """A zoo model (PyTorch) seen through CLIP_benchmark's interface."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        keys = tuple(sorted(model.text.tokenize(["x"])))
        self.tokenizer = _StackedTokenizer(model.text.tokenize, keys)

    # CLIP_benchmark wraps these in torch.autocast, which on CPU means bfloat16 unless --no_amp is
    # given; the published numbers are float32, so autocast is switched off inside.
    @torch.no_grad()
    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", enabled=False):
            return F.normalize(self.model.text(**self.tokenizer.unstack(tokens.cpu())).float(), dim=-1)

    @torch.no_grad()
    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", enabled=False):
            return F.normalize(self.model.image(pixel_values=pixels.cpu().float()).float(), dim=-1)


class OnnxModel(nn.Module):
    """An ONNX export (fp32 or int8) seen through CLIP_benchmark's interface."""

    def __init__(self, encoder: OnnxEncoder):
        super().__init__()
        self.encoder = encoder
        self.tokenizer = _StackedTokenizer(encoder.tokenize, tuple(encoder.text_inputs))

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        feed = {k: v.cpu().numpy() for k, v in self.tokenizer.unstack(tokens).items()}
        return torch.from_numpy(self.encoder.run_text(feed)).float()

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.encoder.run_image(pixels.cpu().numpy())).float()


def _export_path(model_name: str) -> Path:
    path = Path(model_name).expanduser()
    if is_export(path):
        return path
    found = export_path(model_name)
    if not is_export(found):
        raise FileNotFoundError(f"no ONNX export of {model_name!r} (make one: python -m export.onnx --model {model_name} --int8)")
    return found


def load_lingualens(model_name: str, pretrained: str = "", cache_dir: str | None = None,
                    device: Any = "cpu") -> tuple[nn.Module, _PixelTransform, _StackedTokenizer]:
    """CLIP_benchmark's loader signature: (model, transform, tokenizer). `cache_dir` is unused (nothing
    is downloaded); the models run on CPU, where the ONNX runtimes live, whatever `device` says."""
    runtime = (pretrained or "").strip().lower() or ("onnx" if is_export(Path(model_name).expanduser()) else "pytorch")
    if runtime not in RUNTIMES:
        raise ValueError(f"--pretrained for LinguaLens picks the runtime: one of {', '.join(RUNTIMES)}; got {pretrained!r}")
    if runtime == "pytorch":
        wrapped: nn.Module = TorchModel(load_model(model_name))
        preprocess = wrapped.model.image.preprocess
    else:
        encoder = OnnxEncoder(_export_path(model_name), variant="int8" if runtime == "onnx-int8" else "fp32")
        wrapped, preprocess = OnnxModel(encoder), encoder.preprocess
    return wrapped.eval(), _PixelTransform(preprocess), wrapped.tokenizer


def register() -> None:
    """Add the `lingualens` model type to CLIP_benchmark's table (the list its argument parser and
    `load_clip` check are the same objects, changed in place)."""
    from clip_benchmark import models

    models.TYPE2FUNC[MODEL_TYPE] = load_lingualens
    if MODEL_TYPE not in models.MODEL_TYPES:
        models.MODEL_TYPES.append(MODEL_TYPE)


def main(argv: list[str] | None = None) -> int:
    register()
    from clip_benchmark import cli

    sys.argv = ["clip_benchmark", *(sys.argv[1:] if argv is None else argv)]
    if "--model_type" not in sys.argv and sys.argv[1:2] == ["eval"]:
        sys.argv += ["--model_type", MODEL_TYPE]
    cli.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
