"""The LinguaLens checkpoint format: one config file, hashed weight files, nothing unpickled.

Layout (the root doubles as a sentence-transformers model and a transformers backbone):

    lingualens.json          dual-encoder config: family, towers, temperature, file hashes, info
    README.md                model card (Hugging Face YAML front matter)
    config.json              text backbone config        -> transformers.AutoModel.from_pretrained(dir)
    model.safetensors        text backbone weights
    tokenizer.json (+ tokenizer_config.json, special_tokens_map.json)
    modules.json, sentence_bert_config.json, config_sentence_transformers.json,
    1_Pooling/, 2_Dense/, 3_Normalize/               -> SentenceTransformer(dir)
    image.safetensors        image tower + head (timm backbone, keys backbone.* / head.*)

This module owns the format — reading and validating `lingualens.json`, hashing, strict tensor
loading — and nothing else: each tower writes and reads its own files (`HFTextTower.save/load`,
`TimmImageTower.save/load`) and `DualEncoder.save_pretrained/from_pretrained` assembles them.
Every weight file's SHA-256 is recorded in `lingualens.json` and checked on load, so a truncated
download or a tampered file is refused with its name instead of producing quiet garbage.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch
from torch import nn

from core.io import atomic_dir, atomic_write_json, read_json_object, sha256_file

from .info import ModelInfo

FORMAT = "lingualens-dual-encoder"
FORMAT_VERSION = 1
CONFIG_NAME = "lingualens.json"
REQUIRED_KEYS = ("format", "format_version", "name", "family", "embed_dim", "text", "image",
                 "logit_scale", "files")
TEXT_KEYS = ("pooling", "prefix", "max_length", "padding", "projection")
IMAGE_KEYS = ("arch", "preprocess", "head")
HASHED_FILES = ("model.safetensors", "tokenizer.json", "image.safetensors", "2_Dense/model.safetensors",
                "3_Dense/model.safetensors")  # 3_Dense: the second layer of an MLP projection head


class CheckpointError(ValueError):
    """A checkpoint directory that cannot be trusted or understood; the message names the file."""


def is_checkpoint(path: Path | str) -> bool:
    return (Path(path) / CONFIG_NAME).is_file()


def require_keys(config: dict, keys, where: str) -> None:
    missing = [k for k in keys if k not in config]
    if missing:
        raise CheckpointError(f"{where} lacks required key(s) {missing}")


def read_config(path: Path | str, verify: bool = False) -> dict[str, Any]:
    """The validated `lingualens.json` of checkpoint `path`; with `verify`, every weight file's
    SHA-256 is checked too. The only place that parses the file."""
    path = Path(path)
    cfg_path = path / CONFIG_NAME
    config = read_json_object(cfg_path, CheckpointError, "LinguaLens checkpoint")
    require_keys(config, REQUIRED_KEYS, str(cfg_path))
    if config["format"] != FORMAT or int(config["format_version"]) > FORMAT_VERSION:
        raise CheckpointError(f"{cfg_path}: format {config['format']!r} v{config['format_version']} "
                              f"is not {FORMAT!r} <= v{FORMAT_VERSION}")
    require_keys(config["text"], TEXT_KEYS, f"{cfg_path} [text]")
    if config["image"].get("type") == "reference":
        require_keys(config["image"], ("model",), f"{cfg_path} [image]")
    else:
        require_keys(config["image"], IMAGE_KEYS, f"{cfg_path} [image]")
    for name in HASHED_FILES:
        expected = config["files"].get(name)
        if expected is None:
            continue
        file = path / name
        if not file.is_file():
            raise CheckpointError(f"{file} is missing")
        if verify and sha256_file(file) != expected:
            raise CheckpointError(f"{file} does not match the SHA-256 recorded in {CONFIG_NAME}: "
                                  "the file is truncated, corrupted or was modified")
    return config


def read_info(path: Path | str) -> ModelInfo:
    """What checkpoint `path` says about itself, without loading any weights."""
    cfg = read_config(path)
    try:
        return ModelInfo.from_dict(cfg.get("meta"))
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{Path(path) / CONFIG_NAME}: {exc}") from exc


def write_config(directory: Path, config: dict[str, Any]) -> None:
    """Write `lingualens.json` last, recording the hash of every weight file already written."""
    config = {**config, "files": {f: sha256_file(directory / f) for f in HASHED_FILES if (directory / f).is_file()}}
    atomic_write_json(directory / CONFIG_NAME, config)


def load_tensors(file: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(file))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{file} is not a readable safetensors file ({exc})") from exc


def save_tensors(module_states: dict[str, torch.Tensor], file: Path) -> None:
    from safetensors.torch import save_file

    save_file({k: v.detach().contiguous().cpu() for k, v in module_states.items()}, str(file))


def load_strict(module: nn.Module, state: dict[str, torch.Tensor], source: Path | str,
                error: type[Exception] = CheckpointError, ignore_missing: tuple[str, ...] = ()) -> None:
    """Load `state` into `module`, refusing missing, unexpected or mis-shaped keys with an
    `error` that names `source` (a file, or what the weights came from). Keys starting with an
    `ignore_missing` prefix may be absent (weights set another way)."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("position_ids")
               and not k.startswith(ignore_missing)]
    unexpected = [k for k in state if k not in expected]
    wrong = [k for k in state if k in expected and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or wrong:
        raise error(f"{source} does not fit its model: missing={missing[:5]} "
                    f"unexpected={unexpected[:5]} wrong shapes={wrong[:5]}")
    module.load_state_dict(state, strict=False)


def copy_checkpoint(src: Path, dst: Path) -> Path:
    with atomic_dir(dst) as tmp:
        shutil.copytree(src, tmp, dirs_exist_ok=True)
    return dst
