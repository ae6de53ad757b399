"""An export's text side in the layout sentence-transformers and fastembed load: `<export>/sentence-transformers/`.

    SentenceTransformer(f"{export}/sentence-transformers", backend="onnx", trust_remote_code=True)
    SentenceTransformer(..., backend="onnx", model_kwargs={"file_name": "onnx/model_qint8_q4emb.onnx"})

sentence-transformers runs ONNX through optimum: its graph is the transformer alone (ids and mask in,
`last_hidden_state` out) and its own modules (pooling, the projection, normalisation) run after it
in torch, from the student's sentence-transformers files, copied here. fastembed cannot run those
modules; it can read a pooled output by name. So the one graph, `onnx/model.onnx`, has both outputs:
`last_hidden_state` for sentence-transformers and `sentence_embedding` (pooled, projected,
L2-normalised, exactly what `text.onnx` returns) for fastembed; each library reads the one it asks for.

The int8 file is the same quantization as `text.int8.onnx` (int8 MatMuls per output channel,
4-bit embedding tables: "q4emb" in its name; sentence-transformers' own qint8 names describe a
different recipe) and is published only where the export's int8 gate published `text.int8.onnx`.

Only HF text towers saved in the sentence-transformers layout (every LinguaLens student and
teacher) have one; open_clip towers do not (sentence-transformers cannot run their text model).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from core.io import atomic_write_json
from zoo.text_tower import HFTextTower

FOLDER = "sentence-transformers"
FP32_FILE = "onnx/model.onnx"
INT8_FILE = "onnx/model_qint8_q4emb.onnx"
OUTPUTS = ["last_hidden_state", "sentence_embedding"]
# what a zoo checkpoint holds that the ONNX layout must not carry (weights the graph replaces, the
# image tower, LinguaLens's own files)
NOT_COPIED = {"model.safetensors", "image.safetensors", "lingualens.json", "README.md", "reports"}


class _TokensAndSentence(nn.Module):
    def __init__(self, tower: HFTextTower):
        super().__init__()
        self.tower = tower

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.tower.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        pooled = self.tower.pool(hidden, attention_mask)
        out = pooled if self.tower.projection is None else self.tower.projection(pooled)
        return hidden, F.normalize(out, dim=-1)


def supported(model) -> str:
    """Empty when the model gets the layout; else why not."""
    checkpoint = model.info.checkpoint
    if not isinstance(model.text, HFTextTower):
        return f"its text tower ({type(model.text).__name__}) is not a transformers encoder sentence-transformers can run"
    if not model.text.sentence_transformers_exact:
        return ("sentence-transformers has no pooling for this tower's (the last position of a padded text, as SigLIP's); "
                "the export's own text.onnx runs it exactly")
    if not checkpoint or not (Path(checkpoint) / "modules.json").is_file():
        return "it was not loaded from a checkpoint in the sentence-transformers layout"
    return ""


def write_layout(model, out: Path, export, sample) -> Path:
    """Copy the checkpoint's sentence-transformers files into `out/FOLDER` and export the graph;
    `export(module, args, path, input_names, dynamic, output_names)` and `sample` are the ONNX
    exporter's own helpers, so this graph is traced exactly like `text.onnx`."""
    dest = out / FOLDER
    src = Path(model.info.checkpoint)
    dest.mkdir()
    for item in src.iterdir():
        if item.name in NOT_COPIED:
            continue
        (shutil.copytree if item.is_dir() else shutil.copy2)(item, dest / item.name)
    st_config = dest / "sentence_bert_config.json"
    if st_config.is_file():  # `add_pooling_layer` is for transformers' AutoModel; optimum's loader refuses it
        config = json.loads(st_config.read_text(encoding="utf-8"))
        kwargs = {k: v for k, v in config.pop("model_kwargs", {}).items() if k != "add_pooling_layer"}
        atomic_write_json(st_config, {**config, **({"model_kwargs": kwargs} if kwargs else {})})
    (dest / "onnx").mkdir()
    args, names, dynamic = sample(model.text)
    export(_TokensAndSentence(model.text), args, dest / FP32_FILE, names,
           {**dynamic, "last_hidden_state": {0: "batch", 1: "sequence"}, "sentence_embedding": {0: "batch"}}, OUTPUTS)
    return dest


def needs_remote_code(layout: Path) -> bool:
    """Whether loading needs `trust_remote_code=True`: the checkpoint ships its own module (a
    low-rank embedding tail) that transformers runs only when trusted."""
    return "auto_map" in json.loads((layout / "config.json").read_text(encoding="utf-8"))
