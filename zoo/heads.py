"""Image projection heads: the plain MLP head, and one that sees photos as well as drawings
(the trained head mixed with ConSE).

The embedded teachers' image heads were aligned on emoji drawings and flags, so a photograph
lands far from its caption. EfficientNet-Lite0 still knows photos — it ships with its ImageNet-1k
classifier — and the teacher's text tower knows what the class names mean. ConSE (Norouzi et
al., ICLR 2014) embeds an image as the probability-weighted mean of the text embeddings of its
top-k classes, which puts a photo of a tabby next to "cat" in every language the text tower
speaks, with no photo training data.

The two are mixed per image by how drawn it looks. Emoji and flags are rendered with flat fills:
after preprocessing, most of their pixels equal their neighbours exactly (on validation drawings
at least 85% of them), while sensor noise and texture leave a photograph almost none (at most
11% on the validation photos, even a cub on a white background). That share, the image's
*flatness* f, sets the photo weight:

    w(f) = floor + (ceiling - floor) * clamp((high - f) / (high - low), 0, 1)
    out  = normalize((1 - w) * normalize(head(x)) + w * normalize(sum_k p_k * T(class_k)))

with p the classifier's top-k probabilities and T(class) the teacher's text embedding of the
class prompt. The gate's numbers are chosen on validation data (`training.photo_gate`), never on
the out-of-domain test photos. The head reads the pooled backbone features with f appended as
one more column (`with_flatness`), so the frozen-feature caches, the teacher cache and the ONNX
image graph all feed it the same way.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

DEFAULT_PROMPT = "a photo of a {}"


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


FLAT_ATOL = 1e-6  # neighbouring pixels closer than this (after normalisation) count as equal


def flatness(pixel_values: torch.Tensor) -> torch.Tensor:
    """[N, 3, H, W] preprocessed images -> [N]: the share of pixels equal (in every channel) to
    both their right and their lower neighbour."""
    right = (pixel_values[:, :, :-1, 1:] - pixel_values[:, :, :-1, :-1]).abs().amax(1)
    down = (pixel_values[:, :, 1:, :-1] - pixel_values[:, :, :-1, :-1]).abs().amax(1)
    return (torch.maximum(right, down) < FLAT_ATOL).float().mean(dim=(1, 2))


def with_flatness(features: torch.Tensor, flat: torch.Tensor) -> torch.Tensor:
    """What a photo-aware head reads: pooled features with the flatness as the last column."""
    return torch.cat([features, flat.reshape(-1, 1).to(features.dtype)], dim=1)


@dataclass(frozen=True)
class Gate:
    floor: float = 0.0  # photo weight of an image that looks drawn (flatness >= high)
    ceiling: float = 0.0  # photo weight of an image that looks photographed (flatness <= low)
    low: float = 0.0
    high: float = 1.0

    def __post_init__(self):
        for name in ("floor", "ceiling", "low", "high"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
                raise ValueError(f"gate {name} must be a number, got {value!r}")
        for name in ("floor", "ceiling", "low", "high"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"gate {name} must be in [0, 1], got {getattr(self, name)}")
        if not self.low < self.high:
            raise ValueError(f"gate needs low < high, got low={self.low}, high={self.high}")

    def weight(self, flat: torch.Tensor) -> torch.Tensor:
        ramp = ((self.high - flat) / (self.high - self.low)).clamp(0.0, 1.0)
        return self.floor + (self.ceiling - self.floor) * ramp


class PhotoAwareHead(nn.Module):
    """`head` (trained on drawings) mixed with ConSE over `classifier`'s classes.

    `class_text` holds the teacher's L2-normalised text embedding of each class prompt; it is a
    buffer, stored with the weights, so a checkpoint never needs the text tower to embed images.
    """

    def __init__(self, head: MLPHead, classifier: nn.Linear, class_text: torch.Tensor, gate: Gate,
                 top_k: int = 10, prompt: str = DEFAULT_PROMPT):
        super().__init__()
        if class_text.shape != (classifier.out_features, head.dims[-1]):
            raise ValueError(f"class_text must be [{classifier.out_features}, {head.dims[-1]}], got {list(class_text.shape)}")
        if classifier.in_features != head.dims[0]:
            raise ValueError(f"classifier reads {classifier.in_features} features but the head reads {head.dims[0]}")
        if not 1 <= top_k <= classifier.out_features:
            raise ValueError(f"top_k must be in 1..{classifier.out_features}, got {top_k}")
        self.head, self.classifier, self.gate, self.top_k, self.prompt = head, classifier, gate, int(top_k), prompt
        self.register_buffer("class_text", F.normalize(class_text.detach().float(), dim=-1))

    @property
    def dims(self) -> list[int]:
        return self.head.dims

    needs_flatness = True  # reads `with_flatness(features, flatness(pixels))`

    def semantic(self, feats: torch.Tensor) -> torch.Tensor:
        """The ConSE embedding of pooled features: class-prompt embeddings weighted by the top-k
        probabilities."""
        top_p, top_i = self.classifier(feats).softmax(-1).topk(self.top_k, dim=-1)
        return F.normalize((top_p.unsqueeze(-1) * self.class_text[top_i]).sum(1), dim=-1)

    def photo_weight(self, x: torch.Tensor) -> torch.Tensor:
        return self.gate.weight(x[:, -1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = x[:, :-1]
        drawn = F.normalize(self.head(feats), dim=-1)
        w = self.photo_weight(x).unsqueeze(-1)
        return F.normalize((1 - w) * drawn + w * self.semantic(feats), dim=-1)

    def settings(self) -> dict:
        return {"dims": self.dims, "photo": {"classes": self.classifier.out_features, "top_k": self.top_k,
                                             "prompt": self.prompt, "gate": asdict(self.gate)}}


def head_from_settings(settings: dict) -> nn.Module:
    """An empty head of the shape a checkpoint's config describes (weights are loaded after)."""
    head = MLPHead(settings["dims"])
    photo = settings.get("photo")
    if not photo:
        return head
    classes = int(photo["classes"])
    return PhotoAwareHead(head, nn.Linear(head.dims[0], classes), torch.zeros(classes, head.dims[-1]),
                          Gate(**photo["gate"]), top_k=int(photo["top_k"]), prompt=str(photo.get("prompt", DEFAULT_PROMPT)))


__all__ = ["DEFAULT_PROMPT", "Gate", "MLPHead", "PhotoAwareHead", "flatness", "head_from_settings", "with_flatness"]
