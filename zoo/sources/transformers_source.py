"""transformers CLIPModel / SiglipModel / Siglip2Model behind the DualEncoder interface.

The tokenizer and image processor are loaded from the same directory as the model, and the
text padding follows what each family was trained with: SigLIP and SigLIP2 pad to
`max_length` (64 tokens) — feeding them 'longest' padding silently degrades retrieval, the
most common SigLIP complaint in the transformers tracker.
"""
from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn

from core.io import load_image

from ..dual_encoder import DualEncoder
from ..hub import is_cached, require_hub
from ..info import ModelInfo
from ..preprocess import ImagePreprocess
from ..text_tower import HFTextTower
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

    def hf_view(self) -> HFTextTower:
        """The same text tower as an `HFTextTower` over the same weight tensors (nothing copied):
        SigLIP / SigLIP2 only — their text model pools the last position of a `max_length` text and
        applies a linear head, which `HFTextTower` does with `pooling="last"` and the head as its
        projection. CLIP's text model (causal mask, end-of-text pooling) has no such view: ValueError."""
        import transformers

        text = getattr(self.model, "text_model", None)
        stem = {"SiglipModel": "SiglipText", "Siglip2Model": "Siglip2Text"}.get(type(self.model).__name__)
        if stem is None or not isinstance(getattr(text, "head", None), nn.Linear):
            raise ValueError(f"a transformers {type(self.model).__name__} text tower cannot be cut into a student; "
                             "SigLIP and SigLIP2 teachers can")
        if not getattr(self.tokenizer, "is_fast", False):
            raise ValueError("the tokenizer of this model is not a fast (tokenizers-backed) tokenizer")
        # a shallow copy of the text transformer whose head is left out: every submodule (and so
        # every tensor) is the teacher's own, and the teacher keeps its head
        headless = copy.copy(text)
        headless._modules = {**text._modules, "head": nn.Identity()}
        with torch.device("meta"):  # an empty shell: its only submodule is replaced below
            backbone = getattr(transformers, f"{stem}Model")(text.config)
        backbone.text_model = headless
        view = HFTextTower(backbone.eval(), self.tokenizer.backend_tokenizer, pooling="last", prefix="",
                           max_length=self.max_length, padding="max_length", projection=text.head,
                           attention_mask="attention_mask" in self.tokenizer.model_input_names)
        if view.pad_id != self.tokenizer.pad_token_id:
            raise ValueError(f"the tokenizer pads with id {self.tokenizer.pad_token_id} but its pad token is "
                             f"{view.pad_id}; no exact view")
        return view


class TransformersImageTower(ImageTower):
    """Fed by the model's own image processor. Where that processor is a plain resize + rescale +
    normalise (SigLIP's), `preprocess` states it as an `ImagePreprocess` too, which is what the
    ONNX runtime feeds an exported graph with; export checks the two agree on real images."""

    def __init__(self, model: nn.Module, processor):
        super().__init__()
        self.model, self.processor = model, processor
        self.output_dim = int(model.config.projection_dim if hasattr(model.config, "projection_dim")
                              else model.config.vision_config.hidden_size)
        self.preprocess = plain_preprocess(processor)

    def prepare(self, images: list) -> dict[str, torch.Tensor]:
        return dict(self.processor(images=[load_image(im) for im in images], return_tensors="pt"))

    def forward(self, pixel_values: torch.Tensor | None = None, **inputs: torch.Tensor) -> torch.Tensor:
        return self.model.get_image_features(pixel_values=pixel_values, **inputs)

    def num_parameters(self) -> int:
        return sum(p.numel() for n, p in self.model.named_parameters()
                   if n.startswith(("vision_model", "visual_projection")))


RESAMPLE_NAMES = {2: "bilinear", 3: "bicubic", 0: "nearest"}  # PIL's resampling codes, as transformers stores them


def plain_preprocess(processor) -> ImagePreprocess | None:
    """The processor as an `ImagePreprocess` when it is SigLIP's: squash to a square, rescale by
    1/255, normalise (CLIP's crop rounds sizes its own way, SigLIP2's patches vary; None for those)."""
    if type(processor).__name__ not in ("SiglipImageProcessor", "SiglipImageProcessorFast"):
        return None
    size = dict(getattr(processor, "size", None) or {})
    resample = RESAMPLE_NAMES.get(int(getattr(processor, "resample", -1)))
    if not (processor.do_resize and processor.do_rescale and processor.do_normalize and resample
            and size.get("height") == size.get("width") and abs(processor.rescale_factor - 1 / 255) < 1e-12):
        return None
    return ImagePreprocess(image_size=int(size["height"]), mean=tuple(float(m) for m in processor.image_mean),
                           std=tuple(float(s) for s in processor.image_std), resize="squash", interpolation=resample)


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
