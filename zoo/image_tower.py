"""`TimmImageTower`: a timm backbone and a projection head — and the one file it is saved as."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .checkpoint import CheckpointError, load_strict, load_tensors, save_tensors
from .heads import MLPHead, flatness, head_from_settings, with_flatness
from .preprocess import ImagePreprocess
from .towers import ImageTower

IMAGE_FILE = "image.safetensors"


class TimmImageTower(ImageTower):
    """A timm backbone returning pooled features, plus an optional projection head."""

    def __init__(self, backbone: nn.Module, arch: str, preprocess: ImagePreprocess,
                 head: MLPHead | None = None):
        super().__init__()
        self.backbone, self.arch, self.preprocess, self.head = backbone, arch, preprocess, head
        # timm: pooled output width is head_hidden_size where a pre-logits conv exists (MobileNetV3)
        self.feature_dim = int(getattr(backbone, "head_hidden_size", None) or backbone.num_features)
        self.output_dim = head.dims[-1] if head is not None else self.feature_dim

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        feats = self.backbone(pixel_values)
        if getattr(self.head, "needs_flatness", False):  # the photo-aware head (zoo.heads)
            feats = with_flatness(feats, flatness(pixel_values))
        return self.head(feats) if self.head is not None else feats

    def settings(self) -> dict:
        """What `lingualens.json` records under "image"; `load` reads it back."""
        return {"type": "timm", "arch": self.arch, "preprocess": self.preprocess.to_dict(),
                "head": None if self.head is None else
                (self.head.settings() if hasattr(self.head, "settings") else {"dims": self.head.dims})}

    # -- files ---------------------------------------------------------------------------
    def save(self, out: Path) -> None:
        state = {f"backbone.{k}": v for k, v in self.backbone.state_dict().items()}
        if self.head is not None:
            state.update({f"head.{k}": v for k, v in self.head.state_dict().items()})
        save_tensors(state, out / IMAGE_FILE)

    @classmethod
    def load(cls, path: Path, settings: dict) -> "TimmImageTower":
        import timm

        where = path / IMAGE_FILE
        try:
            backbone = timm.create_model(settings["arch"], pretrained=False, num_classes=0)
        except RuntimeError as exc:
            raise CheckpointError(f"{where}: unknown timm architecture {settings['arch']!r}") from exc
        try:
            head = head_from_settings(settings["head"]) if settings["head"] else None
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{where}: malformed image head settings ({exc})") from exc
        state = load_tensors(where)
        load_strict(backbone, {k[9:]: v for k, v in state.items() if k.startswith("backbone.")}, where)
        if head is not None:
            load_strict(head, {k[5:]: v for k, v in state.items() if k.startswith("head.")}, where)
        return cls(backbone.eval(), settings["arch"], ImagePreprocess.from_dict(settings["preprocess"]), head=head)
