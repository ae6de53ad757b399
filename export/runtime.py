"""`OnnxEncoder`: the DualEncoder interface on onnxruntime + tokenizers + numpy + Pillow only.

No PyTorch is imported here (nor by `zoo.preprocess` / `core.io`, which this uses), so a
deployment needs nothing but those four packages and the exported directory:

    from export.runtime import OnnxEncoder
    enc = OnnxEncoder("~/.cache/lingualens/exports/lit-e5s-effl0-clip-half-dr")       # fp32
    enc = OnnxEncoder(path, variant="int8")                                            # if published
    enc.encode_text(["perro", "犬"]); enc.encode_image(["cat.jpg"])

Loading checks that the directory is consistent — tokenizer vs vocabulary size, graph output
width vs the declared embedding size, image input size vs preprocessing — and refuses a
mismatch or a missing/corrupt file with a message that names the file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np

from core.io import read_json_object, sha256_file
from core.paths import check_name
from core.text import clean_text
from zoo.preprocess import ImagePreprocess

CONFIG_NAME = "lingualens_onnx.json"


class OnnxModelError(ValueError):
    pass


def _session(path: Path, threads: int | None = None):
    """`threads`: onnxruntime's intra-op pool size (None: one per core). A server running several
    sessions beside PyTorch, or a benchmark that must state its settings, fixes it."""
    import onnxruntime as ort

    if not path.is_file():
        raise OnnxModelError(f"ONNX file missing: {path}")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads is not None:
        if int(threads) < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        opts.intra_op_num_threads, opts.inter_op_num_threads = int(threads), 1
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for corrupt graphs
        raise OnnxModelError(f"{path} is not a loadable ONNX model ({str(exc).splitlines()[0][:200]})") from exc


def is_export(path: str | Path) -> bool:
    return (Path(path).expanduser() / CONFIG_NAME).is_file()


def read_export_config(path: str | Path) -> dict:
    """The `lingualens_onnx.json` of export directory `path`; the only place that parses it."""
    return read_json_object(Path(path).expanduser() / CONFIG_NAME, OnnxModelError, "LinguaLens ONNX export")


class OnnxEncoder:
    def __init__(self, path: str | Path, variant: str = "fp32", verify: bool = True, threads: int | None = None):
        """`verify`: check each file's SHA-256 against the config (a tampered or truncated graph
        is refused with its name); names in the config must be plain files of this directory.
        `threads`: onnxruntime intra-op threads per graph (None: onnxruntime's default, all cores)."""
        from tokenizers import Tokenizer

        self.path = Path(path).expanduser()
        self.config = read_export_config(self.path)
        if variant not in ("fp32", "int8"):
            raise ValueError(f"variant must be 'fp32' or 'int8', got {variant!r}")
        if variant == "int8" and not self.config.get("int8", {}).get("published"):
            why = self.config.get("int8", {}).get("reason", "no int8 export was made")
            raise OnnxModelError(f"{self.path}: no published int8 model ({why})")
        self.variant, self.name = variant, self.config.get("name", self.path.name)
        self.embed_dim = int(self.config["embed_dim"])
        t, im = self.config["text"], self.config["image"]
        text_file, image_file = self._file(t["files"][variant], verify), self._file(im["files"][variant], verify)
        tok_file = self._file("tokenizer.json", verify)
        self.text_session = _session(text_file, threads)
        self.image_session = _session(image_file, threads)
        try:
            self.tokenizer = Tokenizer.from_file(str(tok_file))
        except Exception as exc:
            raise OnnxModelError(f"{tok_file} is not a readable tokenizer ({exc})") from exc
        vocab = self.tokenizer.get_vocab_size(with_added_tokens=True)
        if vocab > int(t["vocab_size"]):
            raise OnnxModelError(f"{tok_file} has {vocab} tokens but the text graph's embedding holds {t['vocab_size']}")
        out_dim = self.text_session.get_outputs()[0].shape[-1]
        if isinstance(out_dim, int) and out_dim != self.embed_dim:
            raise OnnxModelError(f"{t['files'][variant]} outputs {out_dim}-d but {CONFIG_NAME} says {self.embed_dim}")
        self.prefix, self.max_length = t["prefix"], int(t["max_length"])
        self.text_inputs = [i.name for i in self.text_session.get_inputs()]
        self.tokenizer.enable_truncation(self.max_length)
        self.tokenizer.enable_padding(pad_id=int(t["pad_id"]), pad_token=self.tokenizer.id_to_token(int(t["pad_id"])),
                                      length=self.max_length if t["padding"] == "max_length" else None)
        self.preprocess = ImagePreprocess.from_dict(im["preprocess"])
        shape = self.image_session.get_inputs()[0].shape
        if isinstance(shape[-1], int) and shape[-1] != self.preprocess.image_size:
            raise OnnxModelError(f"{im['files'][variant]} expects {shape[-1]} px images but the preprocessing "
                                 f"config says {self.preprocess.image_size}")

    def _file(self, name: Any, verify: bool) -> Path:
        try:
            path = self.path / check_name(name, "file name")  # a plain name: no separators, no '..'; links allowed
        except (TypeError, ValueError) as exc:
            raise OnnxModelError(f"{self.path / CONFIG_NAME} names {name!r}, which is not a file of this export ({exc})") from exc
        if not path.is_file():
            raise OnnxModelError(f"{path} is missing")
        expected = (self.config.get("files") or {}).get(name)
        if verify and expected is not None and sha256_file(path) != expected:
            raise OnnxModelError(f"{path} does not match the SHA-256 recorded in {CONFIG_NAME}: "
                                 "the file is truncated, corrupted or was modified")
        return path

    def encode_text(self, texts: str | Iterable[str], language: str | None = None, batch_size: int = 64) -> np.ndarray:
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            return np.zeros((0, self.embed_dim), np.float32)
        out = [self.run_text(self.tokenize(texts[start:start + batch_size])) for start in range(0, len(texts), batch_size)]
        return np.concatenate(out).astype(np.float32)

    def tokenize(self, texts: list) -> dict[str, np.ndarray]:
        """The text graph's inputs for `texts`: cleaned, prefixed, padded to the longest."""
        enc = self.tokenizer.encode_batch([self.prefix + clean_text(str(t)) for t in texts])
        feed = {"input_ids": np.array([e.ids for e in enc], np.int64),
                "attention_mask": np.array([e.attention_mask for e in enc], np.int64)}
        return {k: feed[k] for k in self.text_inputs}

    def run_text(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        return self.text_session.run(None, feed)[0]

    def run_image(self, pixels: np.ndarray) -> np.ndarray:
        return self.image_session.run(None, {"pixel_values": np.asarray(pixels, np.float32)})[0]

    def encode_image(self, images: Any, batch_size: int = 32) -> np.ndarray:
        images = list(images) if isinstance(images, (list, tuple)) else [images]
        if not images:
            return np.zeros((0, self.embed_dim), np.float32)
        out = []
        for start in range(0, len(images), batch_size):
            out.append(self.run_image(self.preprocess.batch(images[start:start + batch_size])))
        return np.concatenate(out).astype(np.float32)

    def num_parameters(self) -> dict[str, int]:
        return dict(self.config.get("parameters", {}))
