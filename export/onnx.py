"""python -m export.onnx --model NAME [--int8] — self-contained ONNX exports, parity-checked.

Writes `$LINGUALENS_HOME/exports/NAME/`: `text.onnx` (token ids + mask -> L2-normalised
embedding: encoder, pooling, projection and normalisation in one graph), `image.onnx`
(normalised pixels -> L2-normalised embedding), `tokenizer.json`, `lingualens_onnx.json`
(prefix, max length, padding, image size/mean/std, file hashes) and a card.

Every export is checked before it is written: PyTorch and onnxruntime must agree within 1e-4
on multilingual texts in several scripts and on images. With --int8, onnxruntime dynamic
the text graph is quantized (int8 MatMuls, 4-bit block-wise embedding tables) and gated: on the val
split, text->image R@10 of no language group (trained, held-out, untrained, outside XLM-R, all)
may fall more than 1 point below fp32, or the file is kept aside (not published) and the card says why.

Supported: HF text towers (BERT / XLM-R — every LinguaLens teacher and student — and SigLIP
students), open_clip towers whose tokenizer is a Hugging Face one (the multilingual XLM-R CLIPs),
transformers SigLIP text towers (as their exact HFTextTower view), timm, open_clip and SigLIP
image towers; all exported with torch.onnx. transformers CLIP and SigLIP2 towers and open_clip's
built-in BPE tokenizer are not exported yet; the error says so.
"""
from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.io import atomic_dir, atomic_write_json, atomic_write_text, sha256_file
from core.languages import choosable_languages
from core.paths import export_path
from core.progress import mark
from corpus.corpus import default_corpus_path, load_corpus
from corpus.photos import PHOTOS
from evaluation.multilingual import HEADLINE as ML_HEADLINE
from evaluation.multilingual import evaluate_multilingual
from zoo import load_model
from zoo.card import onnx_tables
from zoo.image_tower import TimmImageTower
from zoo.info import info_of
from zoo.sources.open_clip_source import OpenClipImageTower, OpenClipTextTower
from zoo.sources.transformers_source import TransformersImageTower, TransformersTextTower
from zoo.text_tower import HFTextTower

from . import deploy_layout
from .runtime import CONFIG_NAME, OnnxEncoder

OPSET = 17
PARITY_ATOL = 1e-4
INT8_MAX_DROP = 0.01  # R@10 any language group may lose in the int8 variant
# A group is held against int8 only when its loss is also measurable: the paired interval of
# int8 ÷ fp32 lies below 1. A six-language group has a few hundred val queries, where a point
# drop over 0.01 can be a handful of queries moving either way; a tie is a tie.
INT8_TIE_PASSES = True
GATHER_BLOCK = 32  # values per scale in the 4-bit embedding tables
GATHER_OPSET = 21
GATE_BOOT = 1000  # resamples for the gate's paired intervals
SAMPLE_TEXTS = ["a short sample", "un ejemplo un poco más largo"]  # traced: ids of two lengths
PARITY_TEXTS = ["a cat sitting on a mat", "un perro en el parque", "猫がマットの上にいる", "кошка спит",
                "القطة تنام", "고양이", "बिल्ली सो रही है", "Η γάτα", "", "flag: France " * 40]
SUPPORTED = ("text: HF encoders (BERT, XLM-R — LinguaLens teachers and students), transformers SigLIP text towers "
             "and their students, open_clip text towers with a Hugging Face tokenizer; image: timm models, open_clip "
             "visual towers and SigLIP vision towers")


class UnsupportedArchitecture(ValueError):
    pass


class _TextGraph(nn.Module):
    def __init__(self, tower: HFTextTower):
        super().__init__()
        self.tower = tower

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.tower(input_ids=input_ids, attention_mask=attention_mask), dim=-1)


class _OpenClipTextGraph(nn.Module):
    def __init__(self, tower):
        super().__init__()
        self.tower = tower

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.tower(text=input_ids), dim=-1)


class _ImageGraph(nn.Module):
    def __init__(self, tower):
        super().__init__()
        self.tower = tower

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.tower(pixel_values), dim=-1)


def _open_clip_hf_tokenizer(tower):
    """The `tokenizers` object behind an open_clip HFTokenizer, or None (built-in BPE)."""
    hf = getattr(getattr(tower, "tokenizer", None), "tokenizer", None)
    return getattr(hf, "backend_tokenizer", None) if getattr(hf, "is_fast", False) else None


def _hf_settings(t: HFTextTower) -> dict:
    return {"prefix": t.prefix, "max_length": t.max_length, "padding": t.padding, "pad_id": t.pad_id,
            "vocab_size": int(t.backbone.config.vocab_size), "pooling": t.pooling,
            "inputs": ["input_ids", "attention_mask"] if t.attention_mask else ["input_ids"]}  # torch.onnx drops an unread input


def _open_clip_settings(t: OpenClipTextTower) -> dict:
    hf = t.tokenizer.tokenizer  # open_clip HFTokenizer: pads every text to its context length
    vocab = getattr(getattr(t.model.text, "config", None), "vocab_size", None) or len(hf)
    return {"prefix": "", "max_length": t.max_length, "padding": "max_length", "pad_id": int(hf.pad_token_id or 0),
            "vocab_size": int(vocab), "pooling": "open_clip", "inputs": ["input_ids"]}


def _hf_sample(t: HFTextTower) -> tuple[tuple, list[str], dict]:
    sample = t.tokenize(SAMPLE_TEXTS)
    return ((sample["input_ids"], sample["attention_mask"]), ["input_ids", "attention_mask"],
            {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}})


def _open_clip_sample(t: OpenClipTextTower) -> tuple[tuple, list[str], dict]:
    return (t.tokenize(SAMPLE_TEXTS)["text"],), ["input_ids"], {"input_ids": {0: "batch", 1: "sequence"}}


@dataclass(frozen=True)
class TextExport:
    """How one kind of text tower becomes a graph: the module to trace, sample inputs (args,
    names, dynamic axes), the settings a runtime feeds it with, and its `tokenizers` object
    (None: not exportable, e.g. open_clip's built-in BPE)."""
    graph: Callable[[Any], nn.Module]
    sample: Callable[[Any], tuple[tuple, list[str], dict]]
    settings: Callable[[Any], dict]
    tokenizer: Callable[[Any], Any]


def _view(t: TransformersTextTower) -> HFTextTower | None:
    """A transformers SigLIP text tower's exact `HFTextTower` view (None: CLIP, no view)."""
    try:
        return t.hf_view()
    except ValueError:
        return None


TEXT_EXPORTS: dict[type, TextExport] = {
    HFTextTower: TextExport(_TextGraph, _hf_sample, _hf_settings, lambda t: t.tokenizer),
    # open_clip: the graph derives its own mask from the pad token
    OpenClipTextTower: TextExport(_OpenClipTextGraph, _open_clip_sample, _open_clip_settings, _open_clip_hf_tokenizer),
    # transformers SigLIP: exported as its HFTextTower view, the graph a student of it gets too
    TransformersTextTower: TextExport(lambda t: _TextGraph(_view(t)), lambda t: _hf_sample(_view(t)),
                                      lambda t: _hf_settings(_view(t)), lambda t: getattr(_view(t), "tokenizer", None)),
}
IMAGE_TOWERS = (TimmImageTower, OpenClipImageTower, TransformersImageTower)  # normalised pixels in, one graph serves them


def image_exportable(tower) -> bool:
    """Whether the runtime can feed this image tower: its preprocessing is an `ImagePreprocess`."""
    return type(tower) in IMAGE_TOWERS and tower.preprocess is not None


def text_export(tower) -> TextExport | None:
    how = TEXT_EXPORTS.get(type(tower))
    return how if how is not None and how.tokenizer(tower) is not None else None


def check_supported(model) -> None:
    problems = [f"text tower {type(model.text).__name__}"] if text_export(model.text) is None else []
    if not image_exportable(model.image):
        problems.append(f"image tower {type(model.image).__name__}")
    if problems:
        raise UnsupportedArchitecture(f"cannot export {', '.join(problems)} of {model.name or 'this model'}; "
                                      f"supported: {SUPPORTED}")


def _export(module: nn.Module, args: tuple, path: Path, input_names: list[str], dynamic: dict,
            output_names: list[str] | None = None) -> None:
    """One graph, traced (default: a single `embeddings` output, batch-dynamic)."""
    import warnings

    if output_names is None:
        output_names, dynamic = ["embeddings"], {**dynamic, "embeddings": {0: "batch"}}
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)  # the fused MHA kernel (open_clip ViTs) has no ONNX op
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), args, str(path), input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic, opset_version=OPSET, dynamo=False)
    torch.backends.mha.set_fastpath_enabled(fastpath)


def export_towers(model, out: Path) -> None:
    how = text_export(model.text)
    args, names, dynamic = how.sample(model.text)
    _export(how.graph(model.text), args, out / "text.onnx", names, dynamic)
    size = model.image.preprocess.image_size
    _export(_ImageGraph(model.image), (torch.zeros(2, 3, size, size),), out / "image.onnx",
            ["pixel_values"], {"pixel_values": {0: "batch"}})


def parity(model, encoder: OnnxEncoder, images: list) -> dict[str, float]:
    text = float(np.abs(model.encode_text(PARITY_TEXTS) - encoder.encode_text(PARITY_TEXTS)).max())
    image = float(np.abs(model.encode_image(images) - encoder.encode_image(images)).max())
    return {"text_max_abs_diff": text, "image_max_abs_diff": image}


def _parity_images(records_root: Path | None) -> list:
    from PIL import Image

    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)), Image.new("RGB", (1, 1), "red")]
    try:
        images += [PHOTOS[0].load(), PHOTOS[1].load()]
    except Exception:  # photos are a nicety for parity, not a requirement
        pass
    return images


def quantize(src: Path, dst: Path) -> None:
    """The text graph's MatMuls in int8 per output channel (onnxruntime dynamic quantization), and
    its embedding tables in 4 bits, blocks of GATHER_BLOCK values with their own scale and zero
    point (onnxruntime's GatherBlockQuantized).

    Why both: int8 MatMuls alone left the file at 86% of fp32, because the embedding tables (the
    trimmed vocabulary's full rows and the tail's low-rank codes, ~190 MB of 235 for the default
    student) stayed fp32. Block-wise 4 bits keeps a scale per 32 values of a row, where
    quantize_dynamic's Gather has one scale for the whole table. The gate below decides per
    language group. The image tower (a 4.7M-parameter convnet, where dynamic quantization gains
    little) stays fp32 in the int8 variant."""
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    root.setLevel(level)  # that module calls logging.basicConfig(level=INFO) on import: a line per node after it
    root.handlers[:] = handlers

    matmuls = dst.with_name(dst.name + ".matmul")
    quantize_dynamic(str(src), str(matmuls), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"])
    # 4-bit tensors need opset 21; converting first keeps ops whose attributes moved (ReduceL2's axes) valid
    graph = version_converter.convert_version(onnx.load(str(matmuls)), GATHER_OPSET)
    graph.ir_version = max(graph.ir_version, 10)  # int4 tensors need IR 10 (the quantizer would warn and bump it)
    matmuls.unlink()
    tables = MatMulNBitsQuantizer(graph, block_size=GATHER_BLOCK, is_symmetric=False, op_types_to_quantize=("Gather",))
    with np.errstate(divide="ignore", invalid="ignore"):  # constant blocks (scale 0) are handled by np.where
        tables.process()
    tables.model.save_model_to_file(str(dst), use_external_data_format=False)


def int8_gate(path: Path, corpus: Path | None, languages: list[str] | None = None,
              trained_languages: list[str] | None = None) -> dict:
    """Text->image R@10 on the val split, fp32 vs int8, by language group (trained, dev held-out,
    untrained, outside XLM-R, all): int8 is published only if no group measurably loses more than
    INT8_MAX_DROP. A mean over all languages could hide one script paying for the rest, which is
    exactly what shrinking the embedding table risks. Publishing is a choice, so the test
    held-out languages take no part in it (`choosable_languages`)."""
    root = corpus or default_corpus_path()
    records = load_corpus(root)
    languages = choosable_languages(languages or sorted({r.language for r in records}))
    models = {"fp32": OnnxEncoder(path, variant="fp32"), "int8": _Unpublished(path)}
    rep = evaluate_multilingual(models, records, root, split="val", reference="fp32", languages=languages,
                                n_boot=GATE_BOOT, trained_languages=trained_languages)
    groups = {}
    for group, fp32 in rep["groups"]["fp32"].items():
        int8 = rep["groups"]["int8"][group]
        ratio = int8.get("ratio") or {"value": 1.0, "lo": 1.0, "hi": 1.0}
        drop = fp32[ML_HEADLINE]["value"] - int8[ML_HEADLINE]["value"]
        groups[group] = {"languages": fp32["languages"], "fp32": fp32[ML_HEADLINE]["value"],
                         "int8": int8[ML_HEADLINE]["value"], "drop": drop,
                         "ratio": {k: ratio[k] for k in ("value", "lo", "hi")},
                         "fails": bool(drop > INT8_MAX_DROP and (ratio["hi"] < 1 or not INT8_TIE_PASSES))}
    worst = max(groups, key=lambda g: (groups[g]["fails"], groups[g]["drop"]))
    return {"val_R@10_fp32": groups["all"]["fp32"], "val_R@10_int8": groups["all"]["int8"], "groups": groups,
            "languages": languages, "worst_group": worst, "drop": groups[worst]["drop"],
            "published": not groups[worst]["fails"]}


def gate_reason(gate: dict) -> str:
    worst = gate["groups"][gate["worst_group"]]
    r = worst["ratio"]
    said = (f"val R@10 drop {worst['drop']:.3f} in the {gate['worst_group']} languages (the worst group; "
            f"int8 ÷ fp32 {r['value']:.3f} [{r['lo']:.3f}, {r['hi']:.3f}])")
    if not gate["published"]:
        return f"rejected: {said} > {INT8_MAX_DROP:.2f} and measurable; kept in rejected/ for inspection"
    if worst["drop"] > INT8_MAX_DROP:
        return f"passed: {said} is over {INT8_MAX_DROP:.2f} but a tie (its interval reaches 1)"
    return f"passed: {said} ≤ {INT8_MAX_DROP:.2f}"


class _Unpublished(OnnxEncoder):
    """The int8 graphs before the gate has published them."""

    def __init__(self, path: Path):
        cfg = json.loads((path / CONFIG_NAME).read_text())
        cfg["int8"] = {"published": True}
        tmp = path / ".gate"
        tmp.mkdir(exist_ok=True)
        for name in ("text.int8.onnx", "text.onnx", "image.onnx", "tokenizer.json"):
            target = tmp / name
            if not target.exists():
                target.symlink_to(path / name)
        (tmp / CONFIG_NAME).write_text(json.dumps(cfg))
        super().__init__(tmp, variant="int8")


def export_model(ref: str, out: Path | None = None, int8: bool = False, corpus: Path | None = None,
                 gate_languages: list[str] | None = None, sentence_transformers: bool = False) -> Path:
    """`sentence_transformers`: also write the layout sentence-transformers' ONNX backend and
    fastembed load (`export/deploy_layout.py`)."""
    model = load_model(ref)
    check_supported(model)
    if sentence_transformers and (why := deploy_layout.supported(model)):
        raise UnsupportedArchitecture(f"no sentence-transformers layout for {model.name or ref}: {why}")
    name = model.name or Path(ref).name
    out = Path(out) if out else export_path(name)
    started = time.perf_counter()
    stages = 5 if int8 else 3  # towers, parity[, int8 graph, gate], files; the reliability benchmark kills inside each
    with atomic_dir(out) as tmp:
        mark("export", 0, stages)
        export_towers(model, tmp)
        mark("export", 1, stages)
        t, how = model.text, text_export(model.text)
        source_tok = how.tokenizer(t)
        tok = type(source_tok).from_str(source_tok.to_str())
        tok.no_truncation()
        tok.no_padding()
        tok.save(str(tmp / "tokenizer.json"))
        config = {
            "format": "lingualens-onnx", "format_version": 1, "name": name, "family": model.family,
            "embed_dim": model.embed_dim, "source_model": ref,
            "text": {"files": {"fp32": "text.onnx", "int8": "text.int8.onnx"}, **how.settings(t)},
            "image": {"files": {"fp32": "image.onnx", "int8": "image.onnx"},  # int8 variant: text only
                      "preprocess": model.image.preprocess.to_dict()},
            "logit_scale": float(model.logit_scale.detach()),
            "logit_bias": None if model.logit_bias is None else float(model.logit_bias.detach()),
            "parameters": model.num_parameters(), "opset": OPSET, "int8": {"published": False, "reason": "not requested"},
        }
        atomic_write_json(tmp / CONFIG_NAME, config)
        report = parity(model, OnnxEncoder(tmp), _parity_images(corpus))
        if max(report.values()) > PARITY_ATOL:
            raise RuntimeError(f"ONNX export of {name} disagrees with PyTorch: {report} (limit {PARITY_ATOL})")
        config["parity_fp32"] = report
        if sentence_transformers:
            layout = deploy_layout.write_layout(model, tmp, _export, how.sample)
            layout_report = layout_parity(model, layout / deploy_layout.FP32_FILE)
            if max(layout_report.values()) > PARITY_ATOL:
                raise RuntimeError(f"the sentence-transformers graph of {name} disagrees with PyTorch: {layout_report} "
                                   f"(limit {PARITY_ATOL})")
            config["sentence_transformers"] = {"folder": deploy_layout.FOLDER, "files": {"fp32": deploy_layout.FP32_FILE},
                                               "parity_fp32": layout_report,
                                               "trust_remote_code": deploy_layout.needs_remote_code(layout)}
        mark("export", 2, stages)
        if int8:
            quantize(tmp / "text.onnx", tmp / "text.int8.onnx")
            if sentence_transformers:
                quantize(layout / deploy_layout.FP32_FILE, layout / deploy_layout.INT8_FILE)
            atomic_write_json(tmp / CONFIG_NAME, config)
            mark("export", 3, stages)
            gate = int8_gate(tmp, corpus, gate_languages, trained_languages=info_of(model).languages)
            shutil.rmtree(tmp / ".gate", ignore_errors=True)
            gate["reason"] = gate_reason(gate)
            if not gate["published"]:
                (tmp / "rejected").mkdir()
                (tmp / "text.int8.onnx").rename(tmp / "rejected" / "text.int8.onnx")
                if sentence_transformers:
                    (layout / deploy_layout.INT8_FILE).rename(tmp / "rejected" / Path(deploy_layout.INT8_FILE).name)
            elif sentence_transformers:  # the same quantization as text.int8.onnx: the same gate publishes it
                config["sentence_transformers"]["files"]["int8"] = deploy_layout.INT8_FILE
            config["int8"] = gate
            mark("export", 4, stages)
        config["sizes_bytes"] = {p.name: p.stat().st_size for p in tmp.glob("*.onnx")}
        if sentence_transformers:
            config["sentence_transformers"]["sizes_bytes"] = {
                f"{deploy_layout.FOLDER}/{p.relative_to(layout)}": p.stat().st_size for p in layout.glob("onnx/*.onnx")}
        config["files"] = {p.name: sha256_file(p) for p in sorted([*tmp.glob("*.onnx"), tmp / "tokenizer.json"])}
        config["seconds"] = round(time.perf_counter() - started, 1)
        atomic_write_json(tmp / CONFIG_NAME, config)
        atomic_write_text(tmp / "README.md", export_card(config))
        mark("export", stages, stages)
    return out


def layout_parity(model, graph: Path) -> dict[str, float]:
    """The deploy layout's graph against PyTorch on the parity texts: both of its outputs."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    tokens = model.text.tokenize(PARITY_TEXTS)  # adds the prefix
    feed = {k: tokens[k].numpy() for k in ("input_ids", "attention_mask")}
    hidden, sentence = session.run(deploy_layout.OUTPUTS, feed)
    with torch.no_grad():  # the same ids on both sides: `encode_text` would clean the texts first
        features, want = model.text(**{k: tokens[k] for k in feed}, return_hidden=True)
    return {"last_hidden_state_max_abs_diff": float(np.abs(hidden - want.numpy()).max()),
            "sentence_embedding_max_abs_diff": float(np.abs(sentence - F.normalize(features, dim=-1).numpy()).max())}


def export_card(config: dict) -> str:
    int8 = config.get("int8", {})
    lines = [f"# {config['name']} — ONNX export", "",
             "Self-contained: needs only `onnxruntime`, `tokenizers`, `numpy` and `Pillow`.", "",
             *onnx_tables(config), "", f"Parity limit: {PARITY_ATOL}.", "",
             f"int8 (`text.int8.onnx`: int8 MatMuls per output channel, embedding tables in 4 bits per block of "
             f"{GATHER_BLOCK}; onnxruntime quantization)"
             + ("." if int8.get("groups") else f": {int8.get('reason', 'not requested')}."),
             "", "## Use without LinguaLens", "", "```python", RAW_SNIPPET.strip(), "```", ""]
    st = config.get("sentence_transformers")
    if st:
        parity = st["parity_fp32"]
        int8_file = st["files"].get("int8")
        trust = ", trust_remote_code=True" if st.get("trust_remote_code") else ""
        lines += ["## sentence-transformers (ONNX backend) and fastembed", "",
                  f"`{st['folder']}/` holds the text side in their layout (one graph, `{st['files']['fp32']}`, "
                  f"with `last_hidden_state` and `sentence_embedding` outputs; largest difference from PyTorch "
                  f"{parity['sentence_embedding_max_abs_diff']:.1e}). "
                  + (f"int8: `{int8_file}`, published by the gate above." if int8_file else "No int8 file is published."),
                  "", "```python", "from sentence_transformers import SentenceTransformer",
                  f'st = SentenceTransformer("PATH/TO/EXPORT/{st["folder"]}", backend="onnx"{trust})'
                  + (f'  # or model_kwargs={{"file_name": "{int8_file}"}}' if int8_file else ""),
                  "from fastembed import TextEmbedding",
                  "from fastembed.common.model_description import ModelSource, PoolingType",
                  f'TextEmbedding.add_custom_model("{config["name"]}", pooling=PoolingType.DISABLED, normalization=False,',
                  f'    sources=ModelSource(hf="{config["name"]}"), dim={config["embed_dim"]}, model_file="{st["files"]["fp32"]}",',
                  '    output_name="sentence_embedding")',
                  f'fe = TextEmbedding("{config["name"]}", specific_model_path="PATH/TO/EXPORT/{st["folder"]}")',
                  f'vectors = list(fe.embed(["{config["text"]["prefix"]}perro"]))  # fastembed adds no prefix: add it',
                  "```", ""]
    return "\n".join(lines)


RAW_SNIPPET = '''
import json, numpy as np, onnxruntime as ort
from PIL import Image
from tokenizers import Tokenizer
d = "PATH/TO/EXPORT"
cfg = json.load(open(f"{d}/lingualens_onnx.json"))
tok = Tokenizer.from_file(f"{d}/tokenizer.json")
tok.enable_truncation(cfg["text"]["max_length"]); tok.enable_padding(pad_id=cfg["text"]["pad_id"])
enc = tok.encode_batch([cfg["text"]["prefix"] + t for t in ["perro", "犬"]])
text = ort.InferenceSession(f"{d}/text.onnx").run(None, {
    "input_ids": np.array([e.ids for e in enc]), "attention_mask": np.array([e.attention_mask for e in enc])})[0]
pp = cfg["image"]["preprocess"]; s = pp["image_size"]
im = Image.open("cat.jpg").convert("RGB"); w, h = im.size; k = s / min(w, h)
im = im.resize((max(s, round(w * k)), max(s, round(h * k))), Image.BICUBIC)
l, t = (im.width - s) // 2, (im.height - s) // 2; im = im.crop((l, t, l + s, t + s))
x = ((np.asarray(im, np.float32) / 255 - pp["mean"]) / pp["std"]).transpose(2, 0, 1)[None].astype(np.float32)
image = ort.InferenceSession(f"{d}/image.onnx").run(None, {"pixel_values": x})[0]
print(text @ image.T)
'''


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.onnx", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--int8", action="store_true", help="also quantize to int8 (gated on val R@10)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--corpus", type=Path, default=None, help="corpus for the int8 gate")
    parser.add_argument("--gate-languages", nargs="+", default=None)
    parser.add_argument("--sentence-transformers", action="store_true",
                        help="also write sentence-transformers/: the text side for sentence-transformers' ONNX backend "
                             "and fastembed")
    args = parser.parse_args(argv)
    try:
        out = export_model(args.model, args.out, args.int8, args.corpus, args.gate_languages,
                           sentence_transformers=args.sentence_transformers)
    except (UnsupportedArchitecture, ValueError, KeyError, FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print((out / "README.md").read_text().split("## Use")[0])
    print(f"exported to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
