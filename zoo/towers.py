"""Towers: one text side and one image side, each carrying its own input preparation.

A tower turns raw inputs into model inputs (`tokenize` / `prepare`) and model inputs into
unnormalised features (`forward`). Keeping tokenizer settings (prefix, max length, padding)
and image preprocessing inside the tower is the point: callers never assemble them, so
training, evaluation, export and the app all feed a model exactly the same way.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from .preprocess import ImagePreprocess


def count_parameters(module: nn.Module, exclude: nn.Module | None = None) -> int:
    skip = {id(p) for p in exclude.parameters()} if exclude is not None else set()
    return sum(p.numel() for p in module.parameters() if id(p) not in skip)


class MLPHead(nn.Module):
    """Projection head: Linear layers with GELU between them, dropout on the input."""

    def __init__(self, dims: Sequence[int], dropout: float = 0.0):
        super().__init__()
        if len(dims) < 2:
            raise ValueError(f"a head needs at least input and output sizes, got {list(dims)}")
        self.dims = [int(d) for d in dims]
        self.dropout = nn.Dropout(dropout)
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(self.dims[:-1], self.dims[1:])):
            if i:
                layers.append(nn.GELU())
            layers.append(nn.Linear(a, b))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(self.dropout(x))


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


class HFTextTower(TextTower):
    """A transformers encoder + `tokenizers.Tokenizer`, pooled and optionally projected.

    Used for multilingual-e5, for every distilled student, and for any BERT/XLM-R-like text
    model: it is the one text tower that training, sentence-transformers and ONNX all share.
    """

    def __init__(self, backbone: nn.Module, tokenizer, pooling: str = "mean", prefix: str = "",
                 max_length: int = 128, padding: str = "longest",
                 projection: nn.Linear | None = None, dropout: float = 0.0):
        super().__init__()
        from tokenizers import Tokenizer

        if pooling not in ("mean", "cls"):
            raise ValueError(f"pooling must be 'mean' or 'cls', got {pooling!r}")
        if padding not in ("longest", "max_length"):
            raise ValueError(f"padding must be 'longest' or 'max_length', got {padding!r}")
        self.backbone = backbone
        self.tokenizer = Tokenizer.from_str(tokenizer.to_str())  # own copy: settings below mutate it
        self.pooling, self.prefix, self.max_length, self.padding = pooling, prefix, int(max_length), padding
        self.pad_id = self._pad_id()
        self.tokenizer.enable_truncation(self.max_length)
        self.tokenizer.enable_padding(pad_id=self.pad_id, pad_token=self.tokenizer.id_to_token(self.pad_id),
                                      length=self.max_length if padding == "max_length" else None)
        self.dropout = nn.Dropout(dropout)
        self.projection = projection
        hidden = int(backbone.config.hidden_size)
        self.hidden_size = hidden
        self.output_dim = projection.out_features if projection is not None else hidden
        vocab = self.tokenizer.get_vocab_size(with_added_tokens=True)
        if vocab > backbone.config.vocab_size:
            raise ValueError(f"tokenizer has {vocab} tokens but the text model's embedding holds "
                             f"only {backbone.config.vocab_size}")

    def _pad_id(self) -> int:
        for token in ("<pad>", "[PAD]", "<|endoftext|>"):
            tid = self.tokenizer.token_to_id(token)
            if tid is not None:
                return tid
        return int(getattr(self.backbone.config, "pad_token_id", 0) or 0)

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        enc = self.tokenizer.encode_batch([self.prefix + t for t in texts])
        ids = torch.tensor([e.ids for e in enc], dtype=torch.long)
        mask = torch.tensor([e.attention_mask for e in enc], dtype=torch.long)
        return {"input_ids": ids, "attention_mask": mask}

    def pool(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if self.pooling == "cls":
            return hidden[:, 0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, return_hidden: bool = False):
        """Features [B, D]; with `return_hidden`, (features, last hidden states [B, L, H]) — a flag
        on `forward` rather than another method, so DistributedDataParallel still sees the call."""
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        pooled = self.pool(hidden, attention_mask)
        out = pooled if self.projection is None else self.projection(self.dropout(pooled))
        return (out, hidden) if return_hidden else out

    def settings(self) -> dict:
        return {"type": "hf", "pooling": self.pooling, "prefix": self.prefix,
                "max_length": self.max_length, "padding": self.padding,
                "projection": None if self.projection is None else
                {"in": self.projection.in_features, "out": self.projection.out_features,
                 "bias": self.projection.bias is not None}}


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
        if getattr(self.head, "needs_flatness", False):  # the photo-aware head (zoo.photo_head)
            from .photo_head import flatness, with_flatness

            feats = with_flatness(feats, flatness(pixel_values))
        return self.head(feats) if self.head is not None else feats

    def settings(self) -> dict:
        return {"type": "timm", "arch": self.arch, "preprocess": self.preprocess.to_dict(),
                "head": None if self.head is None else
                (self.head.settings() if hasattr(self.head, "settings") else {"dims": self.head.dims})}


def as_numpy(x: torch.Tensor) -> np.ndarray:
    return x.detach().to(torch.float32).cpu().numpy()
