"""Weighted multi-objective distillation: "dr=1,ed=0.5" -> 1·DR + 0.5·ED.

Every formulation is registered here once by its short name; a weight string names any of
them, and a malformed string or an unknown name is refused with the list of valid names.
"""
from __future__ import annotations

import re

import torch

from .base import DistillBatch, DistillLoss
from .dr import DistributionalReplication
from .ed import EnglishDistillation
from .fd import FeatureDistillation
from .mcl import MultilingualContrastive
from .sd import SimilarityDistillation

LOSSES: dict[str, type[DistillLoss]] = {
    "fd": FeatureDistillation, "ed": EnglishDistillation, "sd": SimilarityDistillation,
    "mcl": MultilingualContrastive, "dr": DistributionalReplication,
}
_TERM = re.compile(r"^\s*([a-z]+)\s*(?:=\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?))?\s*$")


def parse_weights(spec: str) -> dict[str, float]:
    """'dr' -> {dr: 1}; 'dr=1,ed=0.5' -> {dr: 1, ed: 0.5}."""
    valid = ", ".join(LOSSES)
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"empty loss specification; use names from: {valid} (e.g. 'dr' or 'dr=1,ed=0.5')")
    weights: dict[str, float] = {}
    for term in spec.split(","):
        m = _TERM.match(term.lower())
        if not m:
            raise ValueError(f"malformed loss term {term.strip()!r} in {spec!r}; expected NAME or NAME=WEIGHT "
                             f"with NAME in: {valid}")
        name, weight = m.group(1), float(m.group(2)) if m.group(2) else 1.0
        if name not in LOSSES:
            raise ValueError(f"unknown loss {name!r}; valid names: {valid}")
        if name in weights:
            raise ValueError(f"loss {name!r} appears twice in {spec!r}")
        weights[name] = weight
    if not any(w > 0 for w in weights.values()):
        raise ValueError(f"all loss weights are zero in {spec!r}")
    return weights


class CombinedLoss(DistillLoss):
    def __init__(self, weights: dict[str, float] | str):
        self.weights = parse_weights(weights) if isinstance(weights, str) else dict(weights)
        self.parts = {name: LOSSES[name]() for name in self.weights}
        self.needs_student_english = any(p.needs_student_english for p in self.parts.values())
        self.name = ",".join(f"{k}={v:g}" for k, v in self.weights.items())
        self.last: dict[str, float] = {}

    def __call__(self, b: DistillBatch) -> torch.Tensor:
        total: torch.Tensor | None = None
        self.last = {}
        for name, part in self.parts.items():
            value = part(b)
            self.last[name] = float(value.detach())
            term = self.weights[name] * value
            total = term if total is None else total + term
        assert total is not None  # parse_weights guarantees at least one term
        return total
