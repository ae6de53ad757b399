"""LinguaLens checkpoint directories: safetensors only, verified on load, readable by others.

Layout (the root doubles as a sentence-transformers model and a transformers backbone):

    lingualens.json          dual-encoder config: family, towers, temperature, file hashes
    README.md                model card (Hugging Face YAML front matter)
    config.json              text backbone config        -> transformers.AutoModel.from_pretrained(dir)
    model.safetensors        text backbone weights
    tokenizer.json (+ tokenizer_config.json, special_tokens_map.json)
    modules.json, sentence_bert_config.json, config_sentence_transformers.json,
    1_Pooling/, 2_Dense/, 3_Normalize/               -> SentenceTransformer(dir)
    image.safetensors        image tower + head (timm backbone, keys backbone.* / head.*)

Every weight file's SHA-256 is recorded in lingualens.json and checked on load, so a truncated
download or a tampered file is refused with its name instead of producing quiet garbage.
Nothing here ever unpickles.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .dual_encoder import DualEncoder
from .embeddings import CONFIG_KEY as TAIL_CONFIG_KEY
from .embeddings import REMOTE_CODE_FILE, install_tail, remote_code, tail_of
from .io import atomic_dir, atomic_write_json, atomic_write_text
from .photo_head import head_from_settings
from .preprocess import ImagePreprocess
from .towers import HFTextTower, TimmImageTower

FORMAT = "lingualens-dual-encoder"
FORMAT_VERSION = 1
CONFIG_NAME = "lingualens.json"
REQUIRED_KEYS = ("format", "format_version", "name", "family", "embed_dim", "text", "image",
                 "logit_scale", "files")
HASHED_FILES = ("model.safetensors", "tokenizer.json", "image.safetensors", "2_Dense/model.safetensors")


class CheckpointError(ValueError):
    """A checkpoint directory that cannot be trusted or understood; the message names the file."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_checkpoint(path: Path | str) -> bool:
    return (Path(path) / CONFIG_NAME).is_file()


def save_checkpoint(model: DualEncoder, out_dir: Path | str, card: str | None = None,
                    extra: dict[str, Any] | None = None) -> Path:
    """Write `model` as a checkpoint directory, atomically (a crash leaves the old one intact)."""
    from safetensors.torch import save_file

    text, image = model.text, model.image
    reference = model.meta.get("image_reference")
    if not isinstance(text, HFTextTower) or not (isinstance(image, TimmImageTower) or reference):
        raise NotImplementedError(
            "the LinguaLens checkpoint format stores an HF text tower (BERT/XLM-R-like) and a timm "
            f"image tower (or a reference to a loadable model's image tower); got {type(text).__name__} + "
            f"{type(image).__name__}. open_clip and transformers teachers are loaded from their own sources.")
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        _save_sentence_transformer(text, tmp)
        if isinstance(image, TimmImageTower):
            image_state = {f"backbone.{k}": v for k, v in image.backbone.state_dict().items()}
            if image.head is not None:
                image_state.update({f"head.{k}": v for k, v in image.head.state_dict().items()})
            save_file({k: v.detach().contiguous().cpu() for k, v in image_state.items()}, str(tmp / "image.safetensors"))
            image_settings = image.settings()
        else:  # the teacher's own image tower, loaded from where the teacher came from
            image_settings = {"type": "reference", "model": reference}
        config = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "name": model.name,
            "family": model.family, "embed_dim": model.embed_dim,
            "text": text.settings(), "image": image_settings,
            "logit_scale": float(model.logit_scale.detach()),
            "logit_bias": None if model.logit_bias is None else float(model.logit_bias.detach()),
            "parameters": model.num_parameters(),
            "meta": model.meta,
            **(extra or {}),
        }
        config["files"] = {f: sha256_file(tmp / f) for f in HASHED_FILES if (tmp / f).is_file()}
        atomic_write_json(tmp / CONFIG_NAME, config)
        atomic_write_text(tmp / "README.md", card or f"# {model.name}\n")
    return out_dir


def _save_sentence_transformer(text: HFTextTower, out: Path) -> None:
    """Save the text tower with sentence-transformers' own writer, so its loader agrees with us."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Dense, Normalize, Pooling, Transformer
    from transformers import PreTrainedTokenizerFast

    tok = text.tokenizer
    specials = {}
    for role, candidates in (("bos_token", ("<s>", "[CLS]")), ("eos_token", ("</s>", "[SEP]")),
                             ("unk_token", ("<unk>", "[UNK]")), ("pad_token", ("<pad>", "[PAD]"))):
        found = next((c for c in candidates if tok.token_to_id(c) is not None), None)
        if found:
            specials[role] = found
    raw = type(tok).from_str(tok.to_str())
    raw.no_truncation()
    raw.no_padding()
    from transformers.utils import logging as hf_logging

    PreTrainedTokenizerFast(tokenizer_object=raw, model_max_length=text.max_length, **specials).save_pretrained(out)
    text.backbone.save_pretrained(out, safe_serialization=True)
    tail = tail_of(text.backbone)
    if tail is not None:  # transformers and sentence-transformers load it through the shipped code
        atomic_write_text(out / REMOTE_CODE_FILE, remote_code(type(text.backbone).__name__))
    remote = {"trust_remote_code": True} if tail is not None else {}
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the reload below re-creates BERT's unused pooler; say nothing
    try:
        transformer = Transformer(str(out), max_seq_length=text.max_length, model_kwargs=dict(remote),
                                  config_kwargs=dict(remote))
    finally:
        hf_logging.set_verbosity(verbosity)
    if getattr(text.backbone, "pooler", "absent") is None and getattr(transformer.auto_model, "pooler", None) is not None:
        transformer.auto_model.pooler = None  # keep random, unused pooler weights out of the file
    modules: list[nn.Module] = [transformer, Pooling(text.hidden_size, pooling_mode=text.pooling)]
    if text.projection is not None:
        dense = Dense(text.projection.in_features, text.projection.out_features,
                      bias=text.projection.bias is not None, activation_function=nn.Identity())
        dense.linear.load_state_dict(text.projection.state_dict())
        modules.append(dense)
    modules.append(Normalize())
    prompts = {"query": text.prefix} if text.prefix else {}
    st = SentenceTransformer(modules=modules, device="cpu", prompts=prompts,
                             default_prompt_name="query" if text.prefix else None)
    st.save(str(out))


def _require(config: dict, keys, where: str) -> None:
    missing = [k for k in keys if k not in config]
    if missing:
        raise CheckpointError(f"{where} lacks required key(s) {missing}")


def load_checkpoint(path: Path | str, verify: bool = True) -> DualEncoder:
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    from tokenizers import Tokenizer
    from transformers import AutoConfig, AutoModel

    path = Path(path)
    cfg_path = path / CONFIG_NAME
    if not cfg_path.is_file():
        raise CheckpointError(f"{path} is not a LinguaLens checkpoint (no {CONFIG_NAME})")
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{cfg_path} is not valid JSON ({exc})") from exc
    _require(config, REQUIRED_KEYS, str(cfg_path))
    if config["format"] != FORMAT or int(config["format_version"]) > FORMAT_VERSION:
        raise CheckpointError(f"{cfg_path}: format {config['format']!r} v{config['format_version']} "
                              f"is not {FORMAT!r} <= v{FORMAT_VERSION}")
    _require(config["text"], ("pooling", "prefix", "max_length", "padding", "projection"), f"{cfg_path} [text]")
    if config["image"].get("type") == "reference":
        _require(config["image"], ("model",), f"{cfg_path} [image]")
    else:
        _require(config["image"], ("arch", "preprocess", "head"), f"{cfg_path} [image]")
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

    def tensors(name: str) -> dict[str, torch.Tensor]:
        try:
            return load_file(str(path / name))
        except (SafetensorError, OSError, ValueError) as exc:
            raise CheckpointError(f"{path / name} is not a readable safetensors file ({exc})") from exc

    try:
        from transformers.modeling_utils import no_init_weights
    except ImportError:  # moved in transformers 5; skipping init is only a speed-up
        from contextlib import nullcontext as no_init_weights

    try:
        with no_init_weights():  # every weight is loaded below: skip the random init (seconds for 250k-row vocabularies)
            backbone = AutoModel.from_config(AutoConfig.from_pretrained(str(path), local_files_only=True))
    except (OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{path / 'config.json'} is not a usable transformers config ({exc})") from exc
    tail = getattr(backbone.config, TAIL_CONFIG_KEY, None)
    if tail is not None:  # a factorized word embedding, built by our code (never the shipped remote code)
        try:
            install_tail(backbone, int(tail["full_rows"]), int(tail["rank"]))
        except (TypeError, KeyError, ValueError) as exc:
            raise CheckpointError(f"{path / 'config.json'}: unusable {TAIL_CONFIG_KEY} {tail!r} ({exc})") from exc
    backbone_state = tensors("model.safetensors")
    if getattr(backbone, "pooler", None) is not None and not any(k.startswith("pooler.") for k in backbone_state):
        backbone.pooler = None  # saved without BERT's pooler: mean/CLS pooling never uses it
    _load_strict(backbone, backbone_state, path / "model.safetensors")
    try:
        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    except Exception as exc:  # tokenizers raises a bare Exception on malformed JSON
        raise CheckpointError(f"{path / 'tokenizer.json'} is not a readable tokenizer ({exc})") from exc

    t = config["text"]
    projection = None
    if t["projection"]:
        p = t["projection"]
        projection = nn.Linear(int(p["in"]), int(p["out"]), bias=bool(p.get("bias", True)))
        dense = tensors("2_Dense/model.safetensors")
        _load_strict(projection, {k.removeprefix("linear."): v for k, v in dense.items()}, path / "2_Dense/model.safetensors")
    try:
        text = HFTextTower(backbone.eval(), tokenizer, pooling=t["pooling"], prefix=t["prefix"],
                           max_length=int(t["max_length"]), padding=t["padding"], projection=projection)
    except ValueError as exc:
        raise CheckpointError(f"{path / 'tokenizer.json'} does not fit the text model: {exc}") from exc

    im = config["image"]
    if im.get("type") == "reference":
        from .registry import load_model

        image = load_model(im["model"]).image
    else:
        image = _load_timm_image(path, cfg_path, im, tensors)
    try:
        model = DualEncoder(text, image, family=config["family"], logit_scale=config["logit_scale"],
                            logit_bias=config.get("logit_bias"), name=config["name"], meta=config.get("meta"))
    except ValueError as exc:
        raise CheckpointError(f"{cfg_path}: {exc}") from exc
    if model.embed_dim != int(config["embed_dim"]):
        raise CheckpointError(f"{cfg_path}: embed_dim {config['embed_dim']} but the towers give {model.embed_dim}")
    model.meta.setdefault("checkpoint", str(path))
    model.meta["config"] = config
    return model.eval()


def _load_timm_image(path: Path, cfg_path: Path, im: dict, tensors) -> TimmImageTower:
    import timm

    try:
        backbone_img = timm.create_model(im["arch"], pretrained=False, num_classes=0)
    except RuntimeError as exc:
        raise CheckpointError(f"{cfg_path}: unknown timm architecture {im['arch']!r}") from exc
    try:
        head = head_from_settings(im["head"]) if im["head"] else None
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{cfg_path}: malformed image head settings ({exc})") from exc
    state = tensors("image.safetensors")
    _load_strict(backbone_img, {k[9:]: v for k, v in state.items() if k.startswith("backbone.")}, path / "image.safetensors")
    if head is not None:
        _load_strict(head, {k[5:]: v for k, v in state.items() if k.startswith("head.")}, path / "image.safetensors")
    return TimmImageTower(backbone_img.eval(), im["arch"], ImagePreprocess.from_dict(im["preprocess"]), head=head)


def _load_strict(module: nn.Module, state: dict[str, torch.Tensor], file: Path) -> None:
    expected = module.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("position_ids")]
    unexpected = [k for k in state if k not in expected]
    wrong = [k for k in state if k in expected and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or wrong:
        raise CheckpointError(f"{file} does not fit its config: missing={missing[:5]} "
                              f"unexpected={unexpected[:5]} wrong shapes={wrong[:5]}")
    module.load_state_dict(state, strict=False)


def copy_checkpoint(src: Path, dst: Path) -> Path:
    with atomic_dir(dst) as tmp:
        shutil.copytree(src, tmp, dirs_exist_ok=True)
    return dst
