"""python -m benchmarks.photos [--models A B …]

Do the teachers (and the students that share their image tower) see photos, and what does it
cost drawings? Each photo-aware model is scored beside the same model with its trained image
head alone (the teacher as it was before the photo head), in one run, on the out-of-domain
photos (never trained on, never used to choose the gate) and the test drawings; differences
are paired. Writes results/photos.{md,json,png}.
"""
from __future__ import annotations

import argparse
import sys
import time

from core.constants import FAMILIES, teacher_name
from corpus.corpus import default_corpus_path, load_corpus
from evaluation.multilingual_report import fmt_ci
from evaluation.photos import DRAWING_METRICS, PHOTO_METRICS, compare_photos
from evaluation.run import MemoEncoder
from zoo import load_model
from zoo.dual_encoder import DualEncoder
from zoo.image_tower import TimmImageTower

from .common import RESULTS, machine, table, write_results

DEFAULT_MODELS = tuple(teacher_name(f) for f in FAMILIES)
LABELS = {"photos_only_R@1": "photos only R@1", "mixed_R@10": "photos among drawings R@10",
          "emoji_R@10": "emoji R@10", "emoji_mixed_R@10": "emoji R@10, photos mixed in"}


def head_only(model):
    """The same model with the photo head unwrapped: its trained drawing head alone."""
    head = getattr(model.image, "head", None)
    if not hasattr(head, "semantic"):
        raise ValueError(f"{model.name} has no photo-aware image head (zoo.heads.PhotoAwareHead)")

    image = TimmImageTower(model.image.backbone, model.image.arch, model.image.preprocess, head=head.head)
    bias = None if model.logit_bias is None else float(model.logit_bias)
    return DualEncoder(model.text, image.eval(), family=model.family, logit_scale=float(model.logit_scale),
                       logit_bias=bias, name=f"{model.name} (trained head only)")


def verdict(d: dict) -> str:
    return "tie" if d["lo"] <= 0 <= d["hi"] else ("higher" if d["lo"] > 0 else "lower")


def plot(report: dict, names: list[str], path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    langs = sorted(report["languages"])
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), sharey=True)
    width = 0.8 / len(names)
    for ax, metric in zip(axes, PHOTO_METRICS):
        for i, name in enumerate(names):
            vals = [report["languages"][lang][name][metric]["value"] for lang in langs]
            ax.bar(np.arange(len(langs)) + i * width, vals, width, label=name)
        ax.set_xticks(np.arange(len(langs)) + 0.4 - width / 2, langs)
        ax.set_title(LABELS[metric])
        ax.set_ylim(0, 1)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.photos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS),
                        help="photo-aware teachers or students (each is compared with its head-only twin)")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--out", default="photos")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    root = default_corpus_path()
    records = load_corpus(root)
    lines = ["# Photos: seen, and at what cost to drawings", "",
             f"Reproduce: `python -m benchmarks.photos --models {' '.join(args.models)}`.", ""]
    data: dict = {"machine": machine(), "runs": {}}
    rows, diff_rows, plotted = [], [], {}
    for name in args.models:
        model = load_model(name)
        twin = f"{name} (trained head only)"
        rep = compare_photos({name: MemoEncoder(model), twin: MemoEncoder(head_only(model))}, records, root,
                             reference=twin, n_boot=args.bootstrap)
        data["runs"][name] = rep
        plotted[name] = rep
        for label in (twin, name):
            m = rep["models"][label]
            rows.append([f"`{label}`", *[fmt_ci(m[k], 3) for k in (*PHOTO_METRICS, *DRAWING_METRICS)]])
        d = rep["differences"][name]
        diff_rows.append([f"`{name}`", *[f"{fmt_ci(d[k], 3)} {verdict(d[k])}" for k in (*PHOTO_METRICS, *DRAWING_METRICS)]])
    first = next(iter(data["runs"].values()))
    lines += [f"Test photos: {first['photos']} real photos (out of domain: never trained on, never used to choose the "
              f"gate), {first['photo_queries']} captions in {len(first['languages'])} languages; drawings: "
              f"{first['drawings']} test emoji and flags, {first['emoji_queries']:,} emoji captions in the 14 emoji-package "
              "languages. 95% bootstrap intervals over concepts; differences paired.", "",
              "| model | " + " | ".join(LABELS[k] for k in (*PHOTO_METRICS, *DRAWING_METRICS)) + " |",
              "|" + " --- |" * 5, *["| " + " | ".join(r) + " |" for r in rows], "",
              "## Photo head − trained head alone (paired)", "",
              *table(["model", *[LABELS[k] for k in (*PHOTO_METRICS, *DRAWING_METRICS)]], diff_rows), "",
              "## Per language (photo-aware model)", ""]
    for name, rep in plotted.items():
        per = [[lang, *[fmt_ci(rep["languages"][lang][name][k], 2) for k in PHOTO_METRICS],
                *[fmt_ci(rep["languages"][lang][f"{name} (trained head only)"][k], 2) for k in PHOTO_METRICS]]
               for lang in sorted(rep["languages"])]
        lines += [f"`{name}` (left) vs its trained head alone (right):", "",
                  *table(["language", *[LABELS[k] for k in PHOTO_METRICS], *[f"head only: {LABELS[k]}" for k in PHOTO_METRICS]], per), ""]
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(plotted[args.models[0]], [args.models[0], f"{args.models[0]} (trained head only)"], RESULTS / f"{args.out}.png")
    lines += [f"![per-language photo retrieval]({args.out}.png)", "",
              f"{time.perf_counter() - start:.0f} s on {machine()['cores']} cores."]
    write_results(args.out, data, "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
