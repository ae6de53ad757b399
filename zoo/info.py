"""`ModelInfo`: what a model knows about itself beyond its weights — role, languages, lineage.

A typed record instead of a free dict, so every module reads the same field names and a
checkpoint written by another version still loads: keys this version does not know are kept in
`extra` and written back unchanged. Saved as the "meta" object of `lingualens.json`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

RUNTIME_FIELDS = ("checkpoint", "config")  # where the model was loaded from: never saved


@dataclass
class ModelInfo:
    role: str = ""  # teacher | student | baseline | "" (not built by LinguaLens)
    languages: list[str] = field(default_factory=list)  # languages its training text covered
    held_out_languages: list[str] = field(default_factory=list)  # kept out of training on purpose
    corpus_hash: str = ""  # the embedded corpus it was trained on ("" for users' data)
    recipe_version: int | None = None  # teachers: the recipe that built it
    teacher: str = ""  # students: the teacher's name or path
    teacher_key: str = ""  # students: the teacher's weight identity (training.teacher_cache)
    image_reference: str | None = None  # students: the model whose image tower this one shares
    frozen_towers: dict[str, str] = field(default_factory=dict)  # side -> frozen-feature cache key
    base_model: dict[str, str] = field(default_factory=dict)  # side -> the pretrained part inside
    source: dict[str, Any] = field(default_factory=dict)  # open_clip / transformers: what was loaded
    training: dict[str, Any] = field(default_factory=dict)  # teachers: how the heads were aligned
    distillation: dict[str, Any] = field(default_factory=dict)  # students: config, report, timing
    test_summary: dict[str, Any] = field(default_factory=dict)
    teacher_test_summary: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # keys from other versions, kept verbatim
    checkpoint: str | None = None  # runtime: the directory it was loaded from
    config: dict[str, Any] | None = None  # runtime: the lingualens.json it was loaded with

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in RUNTIME_FIELDS and k != "extra"}
        return {**self.extra, **out}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "ModelInfo":
        if data is not None and not isinstance(data, dict):
            raise ValueError(f"model info must be an object, got {type(data).__name__}")
        data = dict(data or {})
        known = {f.name for f in fields(cls)} - set(RUNTIME_FIELDS) - {"extra"}
        info = cls(**{k: v for k, v in data.items() if k in known},  # runtime keys an older version saved are dropped
                   extra={k: v for k, v in data.items() if k not in known and k not in RUNTIME_FIELDS})
        for name in ("languages", "held_out_languages"):
            value = getattr(info, name)
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                raise ValueError(f"model info {name!r} must be a list of language codes, got {value!r}")
        return info


def info_of(model: Any) -> ModelInfo:
    """A model's info, or an empty one for encoders that carry none (ONNX, wrappers, fakes)."""
    info = getattr(model, "info", None)
    return info if isinstance(info, ModelInfo) else ModelInfo()
