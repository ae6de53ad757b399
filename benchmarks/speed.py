"""python -m benchmarks.speed — encode speed of teacher vs student, PyTorch vs ONNX fp32 vs int8.

Text: latency for one short query (batch 1) and for 32 queries, and throughput; image:
likewise. Every figure is also a ratio to the teacher in PyTorch, measured in the same run on
the same machine (described in the output). Writes results/speed.md and results/speed.json.
"""
from __future__ import annotations

import argparse
import sys

import torch

from core.constants import student_name, teacher_name
from core.paths import export_dir
from export.onnx import export_model
from export.runtime import OnnxEncoder, is_export, read_export_config
from training.data.photos import PHOTOS
from training.evaluation.cost import SHORT_QUERIES, median_seconds
from zoo import load_model

from .common import machine, table, write_results


def measure(encoder, images, repeats: int) -> dict:
    q32 = (SHORT_QUERIES * 4)[:32]
    im32 = (images * 32)[:32]
    t1 = median_seconds(lambda: encoder.encode_text(q32[:1]), repeats)
    t32 = median_seconds(lambda: encoder.encode_text(q32, batch_size=32), repeats)
    i1 = median_seconds(lambda: encoder.encode_image(im32[:1]), max(3, repeats // 3))
    i32 = median_seconds(lambda: encoder.encode_image(im32, batch_size=32), max(3, repeats // 3))
    return {"text_ms_b1": 1000 * t1, "text_ms_b32": 1000 * t32, "text_per_s": 32 / t32,
            "image_ms_b1": 1000 * i1, "image_ms_b32": 1000 * i32, "image_per_s": 32 / i32}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__)
    parser.add_argument("--teacher", default=teacher_name("clip"))
    parser.add_argument("--student", default=student_name("clip"))
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)

    images = [p.load() for p in PHOTOS[:4]]
    exp = export_dir() / args.student
    if not is_export(exp):
        export_model(args.student, int8=True)
    cfg = read_export_config(exp)
    candidates = {
        f"teacher PyTorch ({args.teacher})": lambda: load_model(args.teacher),
        f"student PyTorch ({args.student})": lambda: load_model(args.student),
        "student ONNX fp32": lambda: OnnxEncoder(exp, "fp32"),
    }
    if cfg["int8"].get("published"):
        candidates["student ONNX int8"] = lambda: OnnxEncoder(exp, "int8")
    results = {}
    for label, make in candidates.items():
        enc = make()
        results[label] = measure(enc, images, args.repeats)
        del enc
    base = next(iter(results.values()))
    rows = []
    for label, r in results.items():
        rows.append([label, f"{r['text_ms_b1']:.1f}", f"{base['text_ms_b1'] / r['text_ms_b1']:.1f}x",
                     f"{r['text_ms_b32']:.0f}", f"{r['text_per_s']:.0f}", f"{r['text_per_s'] / base['text_per_s']:.1f}x",
                     f"{r['image_ms_b1']:.1f}", f"{r['image_per_s']:.0f}", f"{r['image_per_s'] / base['image_per_s']:.1f}x"])
    m = machine()
    int8 = cfg["int8"]
    md = ["# Encode speed: teacher vs student, PyTorch vs ONNX", "",
          f"Machine: {m['cores']} cores ({m['cpu']}), torch {m['torch']} with {torch.get_num_threads()} threads, "
          f"Python {m['python']}. Medians of {args.repeats} runs after warm-up; short multilingual queries "
          "(≈5 tokens); images 224 px. Speed-ups are relative to the teacher in PyTorch, same run.", ""]
    md += table(["model", "text ms (b1)", "speed-up", "text ms (b32)", "texts/s", "speed-up", "image ms (b1)",
                 "images/s", "speed-up"], rows)
    md += ["", f"int8 (text graph, dynamic, per-channel MatMul): {int8.get('reason', 'not requested')}"
           + (f"; val emoji t2i R@10 fp32 {int8['val_emoji_t2i_R@10_fp32']:.3f} -> int8 {int8['val_emoji_t2i_R@10_int8']:.3f}."
              if "drop" in int8 else "."),
           "Sizes: " + ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in sorted(cfg.get("sizes_bytes", {}).items())) + ".",
           "", "Reproduce: `python -m benchmarks.speed` (after `python -m training.build_zoo`)."]
    path = write_results("speed", {"machine": m, "results": results, "int8": int8, "teacher": args.teacher,
                                   "student": args.student}, "\n".join(md) + "\n")
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
