"""open_clip models behind the DualEncoder interface.

Accepts any open_clip model name (`ViT-B-32`, `xlm-roberta-base-ViT-B-32`, …), a JSON model
config file, an `hf-hub:org/repo` id, or `local-dir:PATH` — a folder in the hub layout
(`open_clip_config.json` + `open_clip_model.safetensors`, what downloading an `hf-hub:` model gives);
`pretrained=` may be an open_clip tag or a local weight file (open_clip loads .safetensors
directly and .pt/.bin with weights_only=True). The tokenizer and preprocessing come from
open_clip itself, never rebuilt by hand.

A Hugging Face text tower inside open_clip (`xlm-roberta-base-ViT-B-32`, …) has an exact
`HFTextTower` view (`OpenClipTextTower.hf_view`) sharing its weights: that is what a student is
cut from (layers picked, vocabulary kept), like any LinguaLens teacher.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..dual_encoder import DualEncoder
from ..hub import is_cached, require_hub
from ..info import ModelInfo
from ..preprocess import ImagePreprocess
from ..text_tower import HFTextTower, projection_linears
from ..towers import ImageTower, TextTower, count_parameters

LOCAL_DIR = "local-dir:"
CONFIG_FILE = "open_clip_config.json"


class OpenClipTextTower(TextTower):
    def __init__(self, model: nn.Module, tokenizer):
        super().__init__()
        self.model, self.tokenizer = model, tokenizer
        self.output_dim = int(model.visual.output_dim)
        self.max_length = int(getattr(tokenizer, "context_length", 77))
        self._hf_pad = self._hf_pad_id()

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        ids, pad = self.tokenizer(texts), self._hf_pad
        if pad is not None and ids.numel():
            # open_clip pads every text to its context (77); a Hugging Face encoder masks pads by id,
            # so the trailing all-pad columns change nothing and cost most of a short query's time
            used = (ids != pad).any(0).nonzero()
            ids = ids[:, : int(used.max()) + 1 if len(used) else 1]
        return {"text": ids}

    def _hf_pad_id(self) -> int | None:
        from open_clip.hf_model import HFTextEncoder

        text = getattr(self.model, "text", None)
        return int(text.config.pad_token_id) if isinstance(text, HFTextEncoder) else None

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        return self.model.encode_text(text)

    def num_parameters(self) -> int:
        return count_parameters(self.model, exclude=self.model.visual) - sum(
            p.numel() for n, p in self.model.named_parameters(recurse=False) if n.startswith("logit"))

    def hf_view(self) -> HFTextTower:
        """The same text tower as an `HFTextTower` over the same weight tensors (nothing copied),
        when it is a Hugging Face encoder with mean or first-token pooling; ValueError otherwise.

        It pads to the longest text rather than to the context length: with the attention mask,
        the pooled output is the same (the parity test measures it) and short queries cost less."""
        from open_clip.hf_model import ClsPooler, HFTextEncoder, MeanPooler

        text = getattr(self.model, "text", None)
        if not isinstance(text, HFTextEncoder):
            raise ValueError(f"this open_clip text tower ({type(text or self.model).__name__}) is not a Hugging Face "
                             "encoder; only those (e.g. xlm-roberta-base-ViT-B-32) can be cut into a student")
        if isinstance(text.pooler, MeanPooler):
            pooling = "mean"
        elif isinstance(text.pooler, ClsPooler) and not text.pooler.use_pooler_output:
            pooling = "cls"
        else:
            raise ValueError(f"open_clip pooler {type(text.pooler).__name__} has no HFTextTower equivalent (mean, cls)")
        projection = None if isinstance(text.proj, nn.Identity) else text.proj
        projection_linears(projection)  # an unsupported head fails here, with its name
        hf_tokenizer = getattr(self.tokenizer, "tokenizer", None)
        if not getattr(hf_tokenizer, "is_fast", False):
            raise ValueError("the open_clip tokenizer of this model is not a fast (tokenizers-backed) tokenizer")
        return HFTextTower(text.transformer, hf_tokenizer.backend_tokenizer, pooling=pooling, prefix="",
                           max_length=self.max_length, padding="longest", projection=projection)


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
    if ref.startswith(LOCAL_DIR):
        folder = Path(ref[len(LOCAL_DIR):]).expanduser()
        if not (folder / CONFIG_FILE).is_file():
            raise FileNotFoundError(f"{folder} has no {CONFIG_FILE}; a local open_clip model folder holds it and "
                                    "its weights (open_clip_model.safetensors), as downloaded from the hub")
        if pretrained:
            raise ValueError(f"{ref}: the weights are the folder's own; pretrained= is not used with {LOCAL_DIR}")
        model_name = f"{LOCAL_DIR}{folder.resolve()}"
    elif ref.endswith(".json") and Path(ref).is_file():
        open_clip.add_model_config(ref)
        model_name = Path(ref).stem
    elif ref.startswith("hf-hub:") and not is_cached(ref, "open_clip"):
        require_hub(f"open_clip model {ref!r}")
    if model_name not in open_clip.list_models() and not model_name.startswith(("hf-hub:", LOCAL_DIR)):
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
