"""Word embeddings that keep every piece of a large vocabulary within a parameter budget.

A multilingual text encoder spends most of its parameters on the word-embedding table
(multilingual-e5-small: 96M of 118M, 250k pieces). Trimming the table to fit a budget makes
the tokenizer re-segment every dropped piece into smaller ones the student may never have
seen in context (Thai "แมว" became "แม" + "ว"), so languages outside the training text fall
apart. `TailFactorizedEmbedding` keeps the teacher's segmentation for every piece instead:
the most useful pieces keep full rows, the long tail gets a low-rank reconstruction
(rows ≈ mean + codes @ basis, initialised from the truncated SVD of the teacher's tail rows),
which costs `rank` numbers per piece instead of `dim`.

Ids below `full_rows` index full rows; ids at or above it index the tail. The tokenizer is
permuted once so that the kept pieces come first (see `training.students`).
"""
from __future__ import annotations

import re

import torch
from torch import nn
from torch.nn import functional as F


class TailFactorizedEmbedding(nn.Module):
    """Full rows for ids < `full_rows`, `mean + codes @ basis` for the rest.

    The full table is called `weight` so code that reads `get_input_embeddings().weight`
    (transformers' resizing, tying checks) sees the familiar tensor.
    """

    def __init__(self, full_rows: int, tail_rows: int, rank: int, dim: int):
        super().__init__()
        if full_rows < 1 or tail_rows < 1 or rank < 1 or dim < 1:
            raise ValueError(f"TailFactorizedEmbedding needs positive sizes, got full_rows={full_rows} "
                             f"tail_rows={tail_rows} rank={rank} dim={dim}")
        if rank >= dim:
            raise ValueError(f"rank {rank} is not below the embedding width {dim}: a full table is smaller")
        self.full_rows, self.tail_rows, self.rank, self.dim = int(full_rows), int(tail_rows), int(rank), int(dim)
        self.weight = nn.Parameter(torch.zeros(full_rows, dim))
        self.tail_codes = nn.Parameter(torch.zeros(tail_rows, rank))
        self.tail_basis = nn.Parameter(torch.zeros(rank, dim))
        self.tail_mean = nn.Parameter(torch.zeros(dim))

    @property
    def num_embeddings(self) -> int:
        return self.full_rows + self.tail_rows

    @property
    def embedding_dim(self) -> int:
        return self.dim

    @classmethod
    def from_table(cls, table: torch.Tensor, full_rows: int, rank: int) -> "TailFactorizedEmbedding":
        """Rows [0, full_rows) copied; the rest replaced by their best rank-`rank` approximation
        around their mean (truncated SVD, the least-squares optimum)."""
        table = table.detach().to(torch.float32)
        module = cls(full_rows, table.shape[0] - full_rows, rank, table.shape[1])
        tail = table[full_rows:]
        mean = tail.mean(0)
        u, s, vh = torch.linalg.svd(tail - mean, full_matrices=False)
        with torch.no_grad():
            module.weight.copy_(table[:full_rows])
            module.tail_codes.copy_(u[:, :rank] * s[:rank])
            module.tail_basis.copy_(vh[:rank])
            module.tail_mean.copy_(mean)
        return module

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        is_full = (input_ids < self.full_rows).unsqueeze(-1)
        head = F.embedding(input_ids.clamp(max=self.full_rows - 1), self.weight)
        codes = F.embedding((input_ids - self.full_rows).clamp(min=0), self.tail_codes)
        return torch.where(is_full, head, codes @ self.tail_basis + self.tail_mean)

    def materialize(self) -> torch.Tensor:
        """The equivalent full table (for inspection and tests; never what is stored)."""
        return torch.cat([self.weight, self.tail_codes @ self.tail_basis + self.tail_mean])

    def extra_repr(self) -> str:
        return f"full_rows={self.full_rows}, tail_rows={self.tail_rows}, rank={self.rank}, dim={self.dim}"


CONFIG_KEY = "lingualens_tail"  # in the backbone's config.json: {"full_rows": K, "rank": r}
REMOTE_CODE_FILE = "modeling_lingualens.py"
TAIL_MODEL_TYPE_PREFIX = "lingualens_tail_"  # + the base model type, e.g. "lingualens_tail_bert"


def install_tail(backbone: nn.Module, full_rows: int, rank: int) -> TailFactorizedEmbedding:
    """Give a transformers encoder (built for the full vocabulary) a zero-initialised
    factorized word embedding and record it in its config; loading fills the weights."""
    cfg = backbone.config
    module = TailFactorizedEmbedding(full_rows, int(cfg.vocab_size) - full_rows, rank, int(cfg.hidden_size))
    backbone.set_input_embeddings(module)
    mark_config(backbone, module)
    return module


def mark_config(backbone: nn.Module, module: TailFactorizedEmbedding) -> None:
    """Record the tail in the config; `checkpoint_config` turns it into the shipped-code config."""
    cfg = backbone.config
    setattr(cfg, CONFIG_KEY, {"full_rows": module.full_rows, "rank": module.rank, "base_model_type": cfg.model_type})


def checkpoint_config(config: dict, base_class: str) -> dict:
    """config.json for a factorized checkpoint: a model type of its own, served by the shipped code.

    With the base type ("bert") kept, transformers would load a plain BertModel whenever
    `trust_remote_code` is missing and fail on a 250,002-row table the file does not hold, with a
    size-mismatch message; under a type it does not know, it stops with its own clear instruction
    to pass `trust_remote_code=True`."""
    base = config[CONFIG_KEY]["base_model_type"]
    out = dict(config, model_type=TAIL_MODEL_TYPE_PREFIX + base, architectures=[f"TailFactorized{base_class}"])
    out["auto_map"] = {"AutoConfig": f"{REMOTE_CODE_FILE[:-3]}.TailFactorized{base_class[:-len('Model')]}Config",
                       "AutoModel": f"{REMOTE_CODE_FILE[:-3]}.TailFactorized{base_class}"}
    return out


def base_config(config: dict):
    """The transformers config of a factorized checkpoint's base model, which our own code builds
    the backbone from (LinguaLens never runs the shipped code to load a model)."""
    from .backbones import config_from_dict

    return config_from_dict({**config, "model_type": config["model_type"][len(TAIL_MODEL_TYPE_PREFIX):]})


def tail_of(backbone: nn.Module) -> TailFactorizedEmbedding | None:
    get = getattr(backbone, "get_input_embeddings", None)
    emb = get() if get is not None else None
    return emb if isinstance(emb, TailFactorizedEmbedding) else None


def remote_code(base: str, base_type: str) -> str:
    """The source of a `modeling_lingualens.py` that lets `AutoModel.from_pretrained(dir,
    trust_remote_code=True)` and `SentenceTransformer(dir, trust_remote_code=True)` load a
    checkpoint whose embedding is factorized, without LinguaLens installed. LinguaLens builds the
    same module from its own code; it runs this file only when checking, right after writing
    it, that sentence-transformers reads the checkpoint back."""
    import inspect

    if not base.isidentifier() or not base.endswith("Model") or not re.fullmatch(r"[a-z0-9_-]+", base_type):
        raise ValueError(f"not a transformers model class / type: {base!r} / {base_type!r}")
    stem = base[:-len("Model")]
    return (f'"""Generated by LinguaLens: a {base} whose word embedding keeps every piece of the\n'
            'vocabulary, the rarer ones as a low-rank reconstruction (mean + codes @ basis)."""\n'
            "import torch\nfrom torch import nn\nfrom torch.nn import functional as F\n"
            f"from transformers import {base}, {stem}Config\n\n\n"
            + inspect.getsource(TailFactorizedEmbedding) + "\n\n"
            f"class TailFactorized{stem}Config({stem}Config):\n"
            f"    model_type = {TAIL_MODEL_TYPE_PREFIX + base_type!r}\n\n\n"
            f"class TailFactorized{base}({base}):\n"
            f"    config_class = TailFactorized{stem}Config\n\n"
            "    def __init__(self, config, *args, add_pooling_layer=None, **kwargs):\n"
            "        # LinguaLens text towers pool the last hidden states themselves and ship no pooler\n"
            "        if add_pooling_layer is None:\n"
            "            add_pooling_layer = getattr(config, 'add_pooling_layer', False)\n"
            "        super().__init__(config, *args, add_pooling_layer=add_pooling_layer, **kwargs)\n"
            f"        tail = config.{CONFIG_KEY}\n"
            "        self.embeddings.word_embeddings = TailFactorizedEmbedding(\n"
            "            tail['full_rows'], config.vocab_size - tail['full_rows'], tail['rank'], config.hidden_size)\n")
