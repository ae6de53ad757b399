"""python -m benchmarks.gpu_smoke — the same tiny distillation on CUDA and on the CPU must agree.

Self-contained (a tiny BERT teacher with a hand-made Unigram vocabulary, a timm image tower,
a generated manifest of coloured squares), so it runs on a GPU machine that has torch,
transformers, timm, tokenizers and faiss but none of the packaged corpus sources.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from training.distill.run import main as distill
from zoo import load_model
from zoo.checkpoint import read_info
from zoo.dual_encoder import DualEncoder
from zoo.heads import MLPHead
from zoo.image_tower import TimmImageTower
from zoo.info import ModelInfo
from zoo.preprocess import ImagePreprocess
from zoo.text_tower import HFTextTower

COLOURS = [("red", "rojo"), ("blue", "azul"), ("green", "verde"), ("black", "negro"), ("white", "blanco"),
           ("yellow", "amarillo"), ("gray", "gris"), ("pink", "rosa"), ("brown", "marrón"), ("purple", "morado"),
           ("orange", "naranja"), ("navy", "marino"), ("gold", "oro"), ("teal", "verde azulado"),
           ("olive", "oliva"), ("maroon", "granate"), ("silver", "plata"), ("lime", "lima"), ("cyan", "cian"),
           ("magenta", "magenta")]


def tiny_teacher(root: Path):
    import timm
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from torch import nn
    from transformers import BertConfig, BertModel

    words = sorted({w for pair in COLOURS for name in pair for w in name.split()} | {"a", "square", "un", "cuadrado"})
    chars = sorted({c for w in words for c in w})
    vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)] + \
        [("▁" + w, -2.0) for w in words] + [("▁", -3.0)] + [(c, -6.0) for c in chars]
    tok = Tokenizer(models.Unigram(vocab, unk_id=3, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    torch.manual_seed(0)
    bert = BertModel(BertConfig(vocab_size=len(vocab), hidden_size=64, num_hidden_layers=4, num_attention_heads=4,
                                intermediate_size=128, max_position_embeddings=64, pad_token_id=1),
                     add_pooling_layer=False).eval()
    text = HFTextTower(bert, tok, max_length=32, projection=nn.Linear(64, 32))
    backbone = timm.create_model("mobilenetv3_small_050", pretrained=False, num_classes=0).eval()
    image = TimmImageTower(backbone, "mobilenetv3_small_050", ImagePreprocess(image_size=32),
                           head=MLPHead([backbone.head_hidden_size, 32]))
    model = DualEncoder(text, image, name="gpu-teacher", info=ModelInfo(role="teacher"))
    model.save_pretrained(root / "zoo" / "gpu-teacher")


def main() -> int:
    import numpy as np
    import torch
    from PIL import Image

    home = Path(tempfile.mkdtemp(prefix="lingualens-gpu-"))
    os.environ["LINGUALENS_HOME"] = str(home)
    tiny_teacher(home)
    rows = ["image,caption,language"]
    for i, (en, es) in enumerate(COLOURS):
        Image.new("RGB", (32, 32), en if en != "navy" else (0, 0, 128)).save(home / f"{i}.png")
        rows += [f"{i}.png,a {en} square,en", f"{i}.png,un cuadrado {es},es"]
    (home / "m.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    result = {"cuda_available": torch.cuda.is_available(),
              "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, "runs": {}}
    for device in devices:
        start = time.perf_counter()
        code = distill(["--teacher", "gpu-teacher", "--manifest", str(home / "m.csv"), "--recipe", "custom",
                        "--layers", "2", "--vocab-words", "0", "--loss", "dr=1,ed=0.5,mcl=1", "--eval-languages",
                        "en", "es", "--epochs", "3", "--batch-size", "8", "--device", device,
                        "--name", f"student-{device}", "--no-progress"])
        info = read_info(home / "zoo" / f"student-{device}") if code == 0 else None
        result["runs"][device] = {"exit": code, "seconds": round(time.perf_counter() - start, 1),
                                  "device": info.distillation.get("device") if info else None}
    if len(devices) == 2 and all(r["exit"] == 0 for r in result["runs"].values()):
        texts = ["a red square", "un cuadrado azul", "a gold square"]
        a = load_model("student-cpu").encode_text(texts)
        b = load_model("student-cuda").encode_text(texts)
        result["max_abs_diff_cpu_vs_cuda"] = float(np.abs(a - b).max())
    print(json.dumps(result, indent=2))
    ok = all(r["exit"] == 0 for r in result["runs"].values()) and result.get("max_abs_diff_cpu_vs_cuda", 0) <= 1e-3
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
