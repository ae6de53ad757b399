"""`HFTextTower`: a transformers encoder + a `tokenizers.Tokenizer`, pooled and projected —
and the files it is saved as (a sentence-transformers model, readable by transformers too)."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from core.io import atomic_write_text

from .backbones import HEAD_PREFIXES, NON_AUTO, config_from_dict, model_from_config, without_head
from .checkpoint import CheckpointError, load_strict, load_tensors
from .embeddings import CONFIG_KEY as TAIL_CONFIG_KEY
from .embeddings import REMOTE_CODE_FILE, TAIL_MODEL_TYPE_PREFIX, base_config, checkpoint_config, install_tail, remote_code, tail_of
from .towers import TextTower

DENSE_FILES = ("2_Dense/model.safetensors", "3_Dense/model.safetensors")  # the projection's linear layers (an MLP has two)
ST_CONFIG_FILE = "sentence_bert_config.json"
POOLINGS = ("mean", "cls", "last")


def projection_linears(projection: nn.Module | None) -> list[nn.Linear]:
    """The linear layers of a projection head: one (`nn.Linear`), or two around a GELU — the MLP
    head open_clip gives Hugging Face text towers (`hf_proj_type="mlp"`, its default). Anything
    else is refused here, so a tower never saves a head it cannot load back."""
    if projection is None:
        return []
    if isinstance(projection, nn.Linear):
        return [projection]
    parts = list(projection) if isinstance(projection, nn.Sequential) else []
    if (len(parts) == 3 and isinstance(parts[0], nn.Linear) and isinstance(parts[2], nn.Linear)
            and isinstance(parts[1], nn.GELU) and parts[1].approximate == "none"):
        return [parts[0], parts[2]]
    raise ValueError(f"unsupported projection head {projection!r}: a Linear, or Linear → GELU → Linear")


def mlp_projection(d_in: int, hidden: int, d_out: int, bias: bool) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden, bias=bias), nn.GELU(), nn.Linear(hidden, d_out, bias=bias))


def without_pre_tokenizer(tokenizer):
    """The same tokenizer with XLM-R's Metaspace pre-tokenizer folded into its normalizer.

    transformers 4.57.3–4.57.6 (the pinned 4.57.6 included) warn that any local tokenizer with a
    pre-tokenizer and more than 100,000 pieces has "an incorrect regex pattern" — a Mistral check
    that misfires (transformers#42591, fixed in 5.x by #45444). Users would read it as a broken
    model. With Metaspace(split, prepend "always") the split is redundant for a SentencePiece
    Unigram model, whose pieces only ever carry "▁" first, so spaces → "▁" plus one leading "▁"
    in the normalizer gives the same ids (checked in tests on every script of the corpus).
    Any other pre-tokenizer is left as it is."""
    from tokenizers import Tokenizer

    spec = json.loads(tokenizer.to_str())
    pre, norm = spec.get("pre_tokenizer") or {}, spec.get("normalizer")
    if not (pre.get("type") == "Metaspace" and pre.get("split", True) and pre.get("prepend_scheme") == "always"
            and spec.get("model", {}).get("type") == "Unigram"):
        return tokenizer
    mark = pre["replacement"]
    steps = [] if norm is None else norm["normalizers"] if norm["type"] == "Sequence" else [norm]
    steps += [{"type": "Replace", "pattern": {"String": " "}, "content": mark},
              {"type": "Prepend", "prepend": mark},
              {"type": "Replace", "pattern": {"Regex": f"^{mark}{mark}"}, "content": mark}]  # Metaspace adds none if one is there
    spec["normalizer"], spec["pre_tokenizer"] = {"type": "Sequence", "normalizers": steps}, None
    return Tokenizer.from_str(json.dumps(spec))


class HFTextTower(TextTower):
    """A transformers encoder + `tokenizers.Tokenizer`, pooled and optionally projected.

    Used for multilingual-e5, for every distilled student, and for any BERT/XLM-R-like text
    model: it is the one text tower that training, sentence-transformers and ONNX all share.
    SigLIP text models fit too (`pooling="last"`: the last position of a text padded to
    `max_length`, which SigLIP's head reads; `attention_mask=False` where the teacher's
    tokenizer gives the model no mask, as SigLIP's own does). Those have no exact
    sentence-transformers pooling, so they are saved without its modules (`save`).
    """

    def __init__(self, backbone: nn.Module, tokenizer, pooling: str = "mean", prefix: str = "",
                 max_length: int = 128, padding: str = "longest",
                 projection: nn.Module | None = None, dropout: float = 0.0, attention_mask: bool = True):
        super().__init__()
        from tokenizers import Tokenizer

        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
        if padding not in ("longest", "max_length"):
            raise ValueError(f"padding must be 'longest' or 'max_length', got {padding!r}")
        if pooling == "last" and padding != "max_length":
            raise ValueError("pooling 'last' reads a fixed position: it needs padding 'max_length'")
        self.attention_mask = bool(attention_mask)
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
        linears = projection_linears(projection)
        self.output_dim = linears[-1].out_features if linears else hidden
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
        if self.pooling == "last":
            return hidden[:, -1]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, return_hidden: bool = False):
        """Features [B, D]; with `return_hidden`, (features, last hidden states [B, L, H]) — a flag
        on `forward` rather than another method, so DistributedDataParallel still sees the call."""
        hidden = self.backbone(input_ids=input_ids,
                               attention_mask=attention_mask if self.attention_mask else None).last_hidden_state
        pooled = self.pool(hidden, attention_mask)
        out = pooled if self.projection is None else self.projection(self.dropout(pooled))
        return (out, hidden) if return_hidden else out

    def settings(self) -> dict:
        """What `lingualens.json` records under "text"; `load` reads it back."""
        out = {"type": "hf", "pooling": self.pooling, "prefix": self.prefix,
               "max_length": self.max_length, "padding": self.padding,
               "projection": self.projection_settings()}
        return out if self.attention_mask else {**out, "attention_mask": False}

    @property
    def sentence_transformers_exact(self) -> bool:
        """Whether sentence-transformers' modules compute exactly this tower (its pooling reads the
        mask, so a fixed last position or a mask-free model has no equivalent there)."""
        return self.pooling in ("mean", "cls") and self.attention_mask

    def projection_settings(self) -> dict | None:
        linears = projection_linears(self.projection)
        if not linears:
            return None
        out = {"in": linears[0].in_features, "out": linears[-1].out_features, "bias": linears[0].bias is not None}
        return {**out, "hidden": linears[0].out_features, "activation": "gelu"} if len(linears) == 2 else out

    # -- files ---------------------------------------------------------------------------
    def save(self, out: Path) -> None:
        """Write the tower with sentence-transformers' own writer, so its loader agrees with ours
        (a tower it cannot compute exactly gets only the files: transformers backbone, tokenizer,
        Dense heads — and no `modules.json` that would make it compute something else)."""
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.models import Normalize, Pooling, Transformer
        from transformers import PreTrainedTokenizerFast

        tok = self.tokenizer
        specials = {}
        for role, candidates in (("bos_token", ("<s>", "[CLS]")), ("eos_token", ("</s>", "[SEP]")),
                                 ("unk_token", ("<unk>", "[UNK]")), ("pad_token", ("<pad>", "[PAD]"))):
            found = next((c for c in candidates if tok.token_to_id(c) is not None), None)
            if found:
                specials[role] = found
        raw = without_pre_tokenizer(type(tok).from_str(tok.to_str()))
        raw.no_truncation()
        raw.no_padding()
        PreTrainedTokenizerFast(tokenizer_object=raw, model_max_length=self.max_length, **specials).save_pretrained(out)
        self.backbone.save_pretrained(out, safe_serialization=True)
        tail = tail_of(self.backbone)
        config = json.loads((out / "config.json").read_text(encoding="utf-8"))
        # a constructor argument, not a config field: left in config.json it would swallow
        # `from_pretrained(..., add_pooling_layer=False)` (checkpoints made before this was dropped)
        config.pop("add_pooling_layer", None)
        auto = self.backbone.config.model_type not in NON_AUTO  # else no Auto class, shipped or not, can load it
        if tail is not None and auto:  # transformers and sentence-transformers load it through the shipped code
            config = checkpoint_config(config, type(self.backbone).__name__)
            atomic_write_text(out / REMOTE_CODE_FILE, remote_code(type(self.backbone).__name__, self.backbone.config.model_type))
        atomic_write_text(out / "config.json", json.dumps(config, indent=2, sort_keys=True) + "\n")
        if not self.sentence_transformers_exact:
            for dense, file in zip(self._dense_modules(), DENSE_FILES):
                (out / Path(file).parent).mkdir(exist_ok=True)
                dense.save(str(out / Path(file).parent))
            return
        model_kwargs: dict = {"trust_remote_code": True} if tail is not None else {}
        if getattr(self.backbone, "pooler", "absent") is None:
            model_kwargs["add_pooling_layer"] = False  # no pooler in the file: do not let transformers invent one
        trust = {k: v for k, v in model_kwargs.items() if k == "trust_remote_code"}
        transformer = Transformer(str(out), max_seq_length=self.max_length, model_kwargs=model_kwargs,
                                  config_kwargs=dict(trust), processor_kwargs=dict(trust))
        modules: list[nn.Module] = [transformer, Pooling(self.hidden_size, pooling_mode=self.pooling),
                                    *self._dense_modules(), Normalize()]
        prompts = {"query": self.prefix} if self.prefix else {}
        st = SentenceTransformer(modules=modules, device="cpu", prompts=prompts,
                                 default_prompt_name="query" if self.prefix else None)
        st.save(str(out))
        if "add_pooling_layer" in model_kwargs:  # sentence-transformers passes these to AutoModel when it loads
            st_config = json.loads((out / ST_CONFIG_FILE).read_text(encoding="utf-8"))
            st_config["model_kwargs"] = {"add_pooling_layer": False}
            atomic_write_text(out / ST_CONFIG_FILE, json.dumps(st_config, indent=2))

    def _dense_modules(self) -> list[nn.Module]:
        """The projection as sentence-transformers Dense modules: an MLP head is two, the GELU in the first."""
        from sentence_transformers.models import Dense

        linears, out = projection_linears(self.projection), []
        for i, linear in enumerate(linears):
            dense = Dense(linear.in_features, linear.out_features, bias=linear.bias is not None,
                          activation_function=nn.GELU() if i < len(linears) - 1 else nn.Identity())
            dense.linear.load_state_dict(linear.state_dict())
            out.append(dense)
        return out

    @classmethod
    def load(cls, path: Path, settings: dict) -> "HFTextTower":
        """The tower `save` wrote to `path`, with the `settings` recorded beside it. The backbone is
        built by our code from config.json (never from the shipped remote code), then loaded strictly."""
        from tokenizers import Tokenizer
        from transformers import AutoConfig

        try:
            from transformers.modeling_utils import no_init_weights
        except ImportError:  # moved in transformers 5; skipping init is only a speed-up
            from contextlib import nullcontext as no_init_weights
        try:
            raw_config = json.loads((path / "config.json").read_text(encoding="utf-8"))
            model_type = str(raw_config.get("model_type", ""))
            config = (base_config(raw_config) if model_type.startswith(TAIL_MODEL_TYPE_PREFIX)
                      else config_from_dict(raw_config) if model_type in NON_AUTO
                      else AutoConfig.from_pretrained(str(path), local_files_only=True))
            with no_init_weights():  # every weight is loaded below: skip the random init (seconds for 250k-row vocabularies)
                backbone = model_from_config(config, headless=False)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CheckpointError(f"{path / 'config.json'} is not a usable transformers config ({exc})") from exc
        tail = getattr(backbone.config, TAIL_CONFIG_KEY, None)
        if tail is not None:  # a factorized word embedding
            try:
                install_tail(backbone, int(tail["full_rows"]), int(tail["rank"]))
            except (TypeError, KeyError, ValueError) as exc:
                raise CheckpointError(f"{path / 'config.json'}: unusable {TAIL_CONFIG_KEY} {tail!r} ({exc})") from exc
        state = load_tensors(path / "model.safetensors")
        if not any(k.startswith(HEAD_PREFIXES) for k in state):
            without_head(backbone)  # saved without BERT's pooler / SigLIP's head: the tower pools and projects itself
        load_strict(backbone, state, path / "model.safetensors")
        try:
            tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        except Exception as exc:  # tokenizers raises a bare Exception on malformed JSON
            raise CheckpointError(f"{path / 'tokenizer.json'} is not a readable tokenizer ({exc})") from exc
        projection = None
        if settings["projection"]:
            p = settings["projection"]
            try:
                bias = bool(p.get("bias", True))
                projection = (mlp_projection(int(p["in"]), int(p["hidden"]), int(p["out"]), bias) if "hidden" in p
                              else nn.Linear(int(p["in"]), int(p["out"]), bias=bias))
            except (TypeError, KeyError, ValueError) as exc:
                raise CheckpointError(f"{path}: unusable text projection settings {p!r} ({exc})") from exc
            for linear, name in zip(projection_linears(projection), DENSE_FILES):
                file = path / name
                dense = load_tensors(file)
                load_strict(linear, {k.removeprefix("linear."): v for k, v in dense.items()}, file)
        try:
            return cls(backbone.eval(), tokenizer, pooling=settings["pooling"], prefix=settings["prefix"],
                       max_length=int(settings["max_length"]), padding=settings["padding"], projection=projection,
                       attention_mask=bool(settings.get("attention_mask", True)))
        except ValueError as exc:
            raise CheckpointError(f"{path / 'tokenizer.json'} does not fit the text model: {exc}") from exc
