"""transformers CLIPModel / SiglipModel / Siglip2Model behind the DualEncoder interface.

The tokenizer and image processor are loaded from the same directory as the model, and the
text padding follows what each family was trained with: SigLIP and SigLIP2 pad to
`max_length` (64 tokens) — feeding them 'longest' padding silently degrades retrieval, the
most common SigLIP complaint in the transformers tracker.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from core.io import load_image

from ..dual_encoder import DualEncoder
from ..hub import is_cached, require_hub
from ..info import ModelInfo
from ..towers import ImageTower, TextTower

SUPPORTED = {"clip": "clip", "siglip": "siglip", "siglip2": "siglip"}
SIGLIP_MAX_LENGTH = 64


class TransformersTextTower(TextTower):
    def __init__(self, model: nn.Module, tokenizer, padding: str, max_length: int):
        super().__init__()
        self.model, self.tokenizer, self.padding, self.max_length = model, tokenizer, padding, int(max_length)
        self.output_dim = int(model.config.projection_dim if hasattr(model.config, "projection_dim")
                              else model.config.text_config.hidden_size)

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        enc = self.tokenizer(texts, padding=self.padding, truncation=True, max_length=self.max_length,
                             return_tensors="pt")
        return {k: v for k, v in enc.items() if k in ("input_ids", "attention_mask")}

    def forward(self, **batch: torch.Tensor) -> torch.Tensor:
        return self.model.get_text_features(**batch)

    def num_parameters(self) -> int:
        return sum(p.numel() for n, p in self.model.named_parameters()
                   if n.startswith(("text_model", "text_projection")))


class TransformersImageTower(ImageTower):
    def __init__(self, model: nn.Module, processor):
        super().__init__()
        self.model, self.processor = model, processor
        self.output_dim = int(model.config.projection_dim if hasattr(model.config, "projection_dim")
                              else model.config.vision_config.hidden_size)

    def prepare(self, images: list) -> dict[str, torch.Tensor]:
        return dict(self.processor(images=[load_image(im) for im in images], return_tensors="pt"))

    def forward(self, **inputs: torch.Tensor) -> torch.Tensor:
        return self.model.get_image_features(**inputs)

    def num_parameters(self) -> int:
        return sum(p.numel() for n, p in self.model.named_parameters()
                   if n.startswith(("vision_model", "visual_projection")))


def load_transformers(ref: str, name: str | None = None, **kwargs) -> DualEncoder:
    import json

    from transformers import AutoImageProcessor, AutoModel, AutoTokenizer

    local = Path(ref).expanduser()
    if local.is_dir():
        config_file = local / "config.json"
        if not config_file.is_file():
            raise FileNotFoundError(f"{local} has no config.json; not a transformers model directory")
        model_type = json.loads(config_file.read_text()).get("model_type", "")
        if model_type not in SUPPORTED:
            raise ValueError(f"{config_file}: model_type {model_type!r} is not supported; "
                             f"supported: {', '.join(sorted(SUPPORTED))}")
        source = str(local)
    else:
        if not is_cached(ref):
            require_hub(f"transformers model {ref!r}")
        source = ref
    model = AutoModel.from_pretrained(source, **kwargs).eval()
    model_type = model.config.model_type
    if model_type not in SUPPORTED:
        raise ValueError(f"model_type {model_type!r} is not supported; supported: {', '.join(sorted(SUPPORTED))}")
    family = SUPPORTED[model_type]
    tokenizer = AutoTokenizer.from_pretrained(source)
    processor = AutoImageProcessor.from_pretrained(source)
    if family == "siglip":
        padding, max_length = "max_length", SIGLIP_MAX_LENGTH
    else:
        padding, max_length = "longest", model.config.text_config.max_position_embeddings
    bias = getattr(model, "logit_bias", None)
    return DualEncoder(
        TransformersTextTower(model, tokenizer, padding, max_length), TransformersImageTower(model, processor),
        family=family, logit_scale=float(model.logit_scale.detach().reshape(-1)[0]),
        logit_bias=float(bias.detach().reshape(-1)[0]) if bias is not None else None,
        name=name or f"transformers:{ref}", info=ModelInfo(source={"library": "transformers", "model_type": model_type, "ref": ref}),
    )
