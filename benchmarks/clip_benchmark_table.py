"""python -m benchmarks.clip_benchmark_table — LinguaLens models scored by LAION's CLIP_benchmark.

Exports the corpus's test split as CLIP_benchmark retrieval WebDatasets (one per language,
`corpus.to_clip_benchmark`), runs CLIP_benchmark 1.6.2's own `eval` on them through the
`lingualens` model type (`export.clip_benchmark`) for the teacher and the default student — in
PyTorch and as the ONNX int8 export — and reads the same datasets with
`python -m evaluation --dataset`'s reader and scorer. Writes results/clip_benchmark.{md,json}: per
language, CLIP_benchmark's text→image and image→text R@10, ours with 95% intervals over images,
and whether the two agree (they must, up to exact ties, which CLIP_benchmark breaks arbitrarily).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from core.constants import student_name, teacher_name
from core.languages import DEV_HELD_OUT_LANGUAGES, TEST_HELD_OUT_LANGUAGES, english_name
from core.paths import cache_dir, export_path
from corpus.to_clip_benchmark import export as export_wds
from evaluation.external import evaluate_dataset, recall_keys
from export.clip_benchmark import main as clip_benchmark_main
from export.runtime import OnnxEncoder
from zoo import load_model

from .common import machine, table, write_results

LANGUAGES = ["en", "es", "ru", "zh", "ar", "hi", "th", "sw", "am", "ka"]  # trained and held-out, ten scripts
KS = (1, 5, 10)


def clip_benchmark_metrics(model: str, runtime: str, dataset: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        clip_benchmark_main(["eval", "--model", model, "--pretrained", runtime, "--dataset", f"wds/{dataset.name}",
                             "--dataset_root", str(dataset), "--task", "zeroshot_retrieval", "--recall_k", *map(str, KS),
                             "--num_workers", "0", "--batch_size", "64", "--output", str(out), "--quiet"])
        return json.loads(out.read_text())["metrics"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.clip_benchmark_table", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--languages", nargs="+", default=LANGUAGES)
    parser.add_argument("--teacher", default=teacher_name("clip"))
    parser.add_argument("--student", default=student_name("clip"))
    parser.add_argument("--out", type=Path, default=None, help="results folder (default: the repository's results/)")
    args = parser.parse_args(argv)
    data_root = cache_dir() / "clip_benchmark_wds"
    start = time.perf_counter()
    counts = export_wds(data_root, args.languages)
    variants = [(args.teacher, "pytorch"), (args.student, "pytorch"), (args.student, "onnx-int8")]
    ours_models = {(args.teacher, "pytorch"): load_model(args.teacher), (args.student, "pytorch"): load_model(args.student),
                   (args.student, "onnx-int8"): OnnxEncoder(export_path(args.student), variant="int8")}
    rows, data = [], {"machine": machine(), "languages": {}, "variants": [f"{m} ({r})" for m, r in variants]}
    for lang in args.languages:
        dataset = data_root / lang
        group = ("held-out" if lang in TEST_HELD_OUT_LANGUAGES else
                 "dev held-out" if lang in DEV_HELD_OUT_LANGUAGES else "trained")
        data["languages"][lang] = {"images": counts[lang], "group": group, "results": {}}
        for model, runtime in variants:
            theirs = clip_benchmark_metrics(model, runtime, dataset)
            ours = evaluate_dataset(ours_models[(model, runtime)], dataset, ks=KS)
            # equal but for exact ties, which CLIP_benchmark's topk breaks arbitrarily and ours counts as lost
            same = all(ours[k] - 1e-6 <= theirs[k] <= ours[f"{k}_if_ties_won"] + 1e-6 for k in recall_keys(KS))
            data["languages"][lang]["results"][f"{model} ({runtime})"] = {"clip_benchmark": theirs, "lingualens": ours,
                                                                           "same": same}
            ci = ours["image_retrieval_recall@10_interval"]
            rows.append([f"{lang} ({english_name(lang)})", group, f"`{model}` {runtime}", ours["captions"],
                         f"{theirs['image_retrieval_recall@10']:.3f}", f"{ours['image_retrieval_recall@10']:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]",
                         f"{theirs['text_retrieval_recall@10']:.3f}", "yes" if same else "no"])
            print(rows[-1], flush=True)
    data["seconds"] = round(time.perf_counter() - start)
    md = ["# LinguaLens models in CLIP_benchmark", "",
          f"Reproduce: `python -m training.build_zoo && python -m export.onnx --model {args.student} --int8 && "
          f"python -m benchmarks.clip_benchmark_table` ({data['seconds']} s on {data['machine']['cores']} cores).", "",
          "The corpus's test split (emoji and flags never trained on) exported per language as CLIP_benchmark retrieval "
          "WebDatasets (`python -m corpus.to_clip_benchmark`), scored by CLIP_benchmark 1.6.2's own `eval` through "
          "the `lingualens` model type (`python -m export.clip_benchmark eval --model_type lingualens …`) and by "
          "`python -m evaluation --dataset`'s reader and scorer. CLIP_benchmark's `image_retrieval_recall@10` is text→image, "
          "`text_retrieval_recall@10` image→text (an image counts when any of its captions is in the top 10). "
          "Intervals: 95% bootstrap over images. Some flags are the same picture (Norway and Svalbard, France and Saint "
          "Martin …), so scores tie exactly: ours counts a tie against the query, CLIP_benchmark's torch.topk breaks it "
          "arbitrarily; *agree* means CLIP_benchmark's value lies between ours and ours with every tie won, on all six "
          "recall keys. The int8 graph quantizes activations per batch, and the two paths batch texts differently, so "
          "its scores differ slightly between them. The gallery per language is the images with a caption in it, so "
          "numbers are not the corpus evaluation's (one gallery of every test image for every language).", "",
          *table(["language", "group", "model", "captions", "CLIP_benchmark t2i R@10", "ours t2i R@10", "CLIP_benchmark i2t R@10",
                  "agree (up to ties)"], rows)]
    path = write_results("clip_benchmark", data, "\n".join(md) + "\n", args.out or Path(__file__).resolve().parents[1] / "results")
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
