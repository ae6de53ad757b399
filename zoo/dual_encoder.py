"""`DualEncoder`: the one interface every LinguaLens model exposes.

    encode_text(texts, language=None) -> float32 [N, D], L2-normalised
    encode_image(images)              -> float32 [N, D], L2-normalised

Teachers, students, baselines, open_clip and transformers models, and the ONNX runtime
encoder all answer these two calls, so evaluation, the app and the exporter never care where
a model came from.

Defined edge cases (documented, tested):
- an empty list gives an empty `[0, D]` array;
- an empty or whitespace-only text is encoded as the empty string (for e5 that is the prefix
  alone), a valid vector, never an error;
- texts longer than the tower's `max_length` tokens are truncated, never an error;
- images may be paths, bytes or PIL images in any mode; > 50 MP is refused with a message.

`save_pretrained(dir)` / `from_pretrained(dir)` write and read the checkpoint format
(`zoo.checkpoint`): each tower saves its own files, this class adds the shared config.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.constants import FAMILIES, FAMILY_INIT
from core.io import atomic_dir, atomic_write_text
from core.languages import normalize_language
from core.text import clean_text

from .checkpoint import CONFIG_NAME, FORMAT, FORMAT_VERSION, CheckpointError, read_config, write_config
from .image_tower import TimmImageTower
from .info import ModelInfo
from .text_tower import HFTextTower
from .towers import ImageTower, TextTower, as_numpy

# The towers a checkpoint can hold, by the "type" their settings record; each saves and loads itself.
TEXT_TOWERS: dict[str, type] = {"hf": HFTextTower}
IMAGE_TOWERS: dict[str, type] = {"timm": TimmImageTower}


def _tower_class(kinds: dict[str, type], settings: dict, default: str, cfg_path: Path) -> type:
    kind = settings.get("type", default)
    if kind not in kinds:
        raise CheckpointError(f"{cfg_path}: unknown tower type {kind!r}; this version reads {', '.join(kinds)}")
    return kinds[kind]


class DualEncoder(nn.Module):
    def __init__(self, text: TextTower, image: ImageTower, family: str = "clip",
                 logit_scale: float = FAMILY_INIT["clip"][0], logit_bias: float | None = None,
                 name: str = "", info: ModelInfo | None = None):
        super().__init__()
        if family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
        if text.output_dim != image.output_dim:
            raise ValueError(f"text tower outputs {text.output_dim}-d but image tower "
                             f"{image.output_dim}-d; add a projection so they share one space")
        self.text, self.image, self.family, self.name = text, image, family, name
        self.logit_scale = nn.Parameter(torch.tensor(float(logit_scale)))
        self.logit_bias = nn.Parameter(torch.tensor(float(logit_bias))) if logit_bias is not None else None
        self.info = info if info is not None else ModelInfo()
        self.eval()

    @property
    def embed_dim(self) -> int:
        return int(self.text.output_dim)

    # -- the public, batched, no-grad interface -------------------------------------------
    @torch.inference_mode()
    def encode_text(self, texts: str | Iterable[str], language: str | None = None,
                    batch_size: int = 64) -> np.ndarray:
        if language is not None:
            normalize_language(language)  # unknown codes fail loudly, never silently
        texts = _clean_texts([texts] if isinstance(texts, str) else list(texts))
        if not texts:
            return np.zeros((0, self.embed_dim), np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # length-sorted batches
        out = np.zeros((len(texts), self.embed_dim), np.float32)
        for start in range(0, len(texts), batch_size):
            idx = order[start:start + batch_size]
            feats = self.text(**self.text.tokenize([texts[i] for i in idx]))
            out[idx] = as_numpy(F.normalize(feats.float(), dim=-1))
        return out

    @torch.inference_mode()
    def encode_image(self, images: Any | Iterable[Any], batch_size: int = 32) -> np.ndarray:
        images = list(images) if isinstance(images, (list, tuple)) else [images]
        if not images:
            return np.zeros((0, self.embed_dim), np.float32)
        chunks = []
        for start in range(0, len(images), batch_size):
            feats = self.image(**self.image.prepare(images[start:start + batch_size]))
            chunks.append(as_numpy(F.normalize(feats.float(), dim=-1)))
        return np.concatenate(chunks)

    def logits(self, text_emb: torch.Tensor, image_emb: torch.Tensor) -> torch.Tensor:
        """Similarity logits as the family defines them (softmax CLIP, sigmoid SigLIP)."""
        out = self.logit_scale.exp() * text_emb @ image_emb.T
        return out + self.logit_bias if self.logit_bias is not None else out

    def num_parameters(self) -> dict[str, int]:
        text, image = self.text.num_parameters(), self.image.num_parameters()
        return {"text": text, "image": image, "total": text + image}

    # -- files ---------------------------------------------------------------------------
    def save_pretrained(self, out_dir: Path | str, card: str | None = None,
                        extra: dict[str, Any] | None = None) -> Path:
        """Write a checkpoint directory atomically (a crash leaves the old one intact). A student
        that shares an open_clip/transformers teacher's image tower records `info.image_reference`
        instead of the tower's weights."""
        reference = self.info.image_reference
        if type(self.text) not in TEXT_TOWERS.values() or not (type(self.image) in IMAGE_TOWERS.values() or reference):
            raise NotImplementedError(
                "the LinguaLens checkpoint format stores an HF text tower (BERT/XLM-R-like) and a timm "
                f"image tower (or a reference to a loadable model's image tower); got {type(self.text).__name__} + "
                f"{type(self.image).__name__}. open_clip and transformers teachers are loaded from their own sources.")
        out_dir = Path(out_dir)
        with atomic_dir(out_dir) as tmp:
            self.text.save(tmp)
            if reference is None:
                self.image.save(tmp)
                image_settings = self.image.settings()
            else:  # the teacher's own image tower, loaded from where the teacher came from
                image_settings = {"type": "reference", "model": reference}
            write_config(tmp, {
                "format": FORMAT, "format_version": FORMAT_VERSION, "name": self.name,
                "family": self.family, "embed_dim": self.embed_dim,
                "text": self.text.settings(), "image": image_settings,
                "logit_scale": float(self.logit_scale.detach()),
                "logit_bias": None if self.logit_bias is None else float(self.logit_bias.detach()),
                "parameters": self.num_parameters(), "meta": self.info.to_dict(), **(extra or {})})
            atomic_write_text(tmp / "README.md", card or f"# {self.name}\n")
        return out_dir

    @classmethod
    def from_pretrained(cls, path: Path | str, verify: bool = True,
                        resolve_reference: Callable[[str], "DualEncoder"] | None = None) -> "DualEncoder":
        """Load a checkpoint directory, refusing anything truncated, tampered or inconsistent
        with a `CheckpointError` that names the file. An image tower stored by reference is
        built by `resolve_reference(name)` — `zoo.load_model` passes itself."""
        path = Path(path)
        config = read_config(path, verify=verify)
        cfg_path = path / CONFIG_NAME
        text = _tower_class(TEXT_TOWERS, config["text"], "hf", cfg_path).load(path, config["text"])
        im = config["image"]
        if im.get("type") == "reference":
            if resolve_reference is None:
                raise CheckpointError(f"{cfg_path}: the image tower is a reference to {im['model']!r}; "
                                      "load this checkpoint with zoo.load_model, which resolves references")
            try:
                image = resolve_reference(im["model"]).image
            except (OSError, ValueError, KeyError, RuntimeError) as exc:
                raise CheckpointError(f"{cfg_path}: its image tower reference {im['model']!r} cannot be loaded ({exc})") from exc
        else:
            image = _tower_class(IMAGE_TOWERS, im, "timm", cfg_path).load(path, im)
        try:
            info = ModelInfo.from_dict(config.get("meta"))
            model = cls(text, image, family=config["family"], logit_scale=config["logit_scale"],
                        logit_bias=config.get("logit_bias"), name=config["name"], info=info)
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"{cfg_path}: {exc}") from exc
        if model.embed_dim != int(config["embed_dim"]):
            raise CheckpointError(f"{cfg_path}: embed_dim {config['embed_dim']} but the towers give {model.embed_dim}")
        model.info.checkpoint = str(path)
        model.info.config = config
        return model.eval()


def _clean_texts(texts: Sequence[Any]) -> list[str]:
    out = []
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"text #{i} is {type(t).__name__}, expected str")
        out.append(clean_text(t))
    return out
