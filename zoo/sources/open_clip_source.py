"""open_clip models behind the DualEncoder interface.

Accepts any open_clip model name (`ViT-B-32`, `xlm-roberta-base-ViT-B-32`, …), a JSON model
config file, or an `hf-hub:org/repo` id; `pretrained=` may be an open_clip tag or a local
weight file (open_clip loads .safetensors directly and .pt/.bin with weights_only=True).
The tokenizer and preprocessing come from open_clip itself, never rebuilt by hand.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..dual_encoder import DualEncoder
from ..hub import is_cached, require_hub
from ..info import ModelInfo
from ..preprocess import ImagePreprocess
from ..towers import ImageTower, TextTower, count_parameters


class OpenClipTextTower(TextTower):
    def __init__(self, model: nn.Module, tokenizer):
        super().__init__()
        self.model, self.tokenizer = model, tokenizer
        self.output_dim = int(model.visual.output_dim)
        self.max_length = int(getattr(tokenizer, "context_length", 77))

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        return {"text": self.tokenizer(texts)}

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        return self.model.encode_text(text)

    def num_parameters(self) -> int:
        return count_parameters(self.model, exclude=self.model.visual) - sum(
            p.numel() for n, p in self.model.named_parameters(recurse=False) if n.startswith("logit"))


class OpenClipImageTower(ImageTower):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.output_dim = int(model.visual.output_dim)
        cfg = dict(getattr(model.visual, "preprocess_cfg", {}) or {})
        size = cfg.get("size", model.visual.image_size)
        size = size[0] if isinstance(size, (tuple, list)) else size
        self.preprocess = ImagePreprocess(
            image_size=int(size),
            mean=tuple(cfg.get("mean", (0.48145466, 0.4578275, 0.40821073))),
            std=tuple(cfg.get("std", (0.26862954, 0.26130258, 0.27577711))),
            resize="squash" if cfg.get("resize_mode") == "squash" else "shortest",
            interpolation=cfg.get("interpolation", "bicubic"),
        )

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image(pixel_values)

    def num_parameters(self) -> int:
        return count_parameters(self.model.visual)


def load_open_clip(ref: str, pretrained: str | None = None, name: str | None = None, **kwargs) -> DualEncoder:
    import open_clip

    model_name = ref
    if ref.endswith(".json") and Path(ref).is_file():
        open_clip.add_model_config(ref)
        model_name = Path(ref).stem
    elif ref.startswith("hf-hub:") and not is_cached(ref, "open_clip"):
        require_hub(f"open_clip model {ref!r}")
    if model_name not in open_clip.list_models() and not model_name.startswith("hf-hub:"):
        import difflib

        close = difflib.get_close_matches(model_name, open_clip.list_models(), n=5)
        raise ValueError(f"unknown open_clip model {model_name!r}; closest: {', '.join(close)}")
    if pretrained and not Path(pretrained).is_file():
        hub_id = (open_clip.get_pretrained_cfg(model_name, pretrained) or {}).get("hf_hub", "").strip("/")
        if not hub_id:
            raise ValueError(f"open_clip has no pretrained tag {pretrained!r} for {model_name!r} "
                             f"and no file exists at that path; tags: {open_clip.list_pretrained_tags_by_model(model_name)}")
        if not is_cached(hub_id, "open_clip"):
            require_hub(f"open_clip weights {model_name}:{pretrained}")
    model = open_clip.create_model(model_name, pretrained=pretrained, **kwargs)
    tokenizer = open_clip.get_tokenizer(model_name)
    model.eval()
    has_bias = getattr(model, "logit_bias", None) is not None
    family = "siglip" if has_bias else "clip"
    return DualEncoder(
        OpenClipTextTower(model, tokenizer), OpenClipImageTower(model), family=family,
        logit_scale=float(model.logit_scale.detach().reshape(-1)[0]),
        logit_bias=float(model.logit_bias.detach().reshape(-1)[0]) if has_bias else None,
        name=name or f"open_clip:{model_name}",
        info=ModelInfo(source={"library": "open_clip", "model_name": model_name, "pretrained": pretrained}),
    )
