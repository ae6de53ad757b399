"""python -m benchmarks.consistency — cross-lingual consistency in every language of the corpus.

    python -m benchmarks.consistency                                   # the default CLIP student and its teacher
    python -m benchmarks.consistency --pairs STUDENT:TEACHER … --split val

Per language and per group (trained, dev held-out, held-out): does a name land beside the English
name of the same concept (translation cosine, its gap over a random pair), do the two retrieve the
same images (top-10 overlap over the app's gallery), and does the space cluster by concept or by
language (`evaluation.crosslingual`). Student and teacher side by side with paired differences.
Writes results/consistency.{md,json,png}.
"""
from __future__ import annotations

import argparse
import sys
import time

from core import constants
from corpus.corpus import default_corpus_path, load_corpus
from evaluation.crosslingual import crosslingual_markdown, evaluate_crosslingual
from evaluation.report import save_figure
from evaluation.run import MemoEncoder
from zoo import load_model

from .common import RESULTS, machine, write_results

DEFAULT_PAIRS = [(constants.student_name("clip"), constants.teacher_name("clip"))]


def plot(reports: dict[str, dict], path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(reports), figsize=(5.5 * len(reports), 5), squeeze=False)
    for ax, (student, rep) in zip(axes[0], reports.items()):
        teacher = rep["reference"]
        for group, colour in (("trained", "tab:blue"), ("dev held-out", "tab:orange"), ("held-out", "tab:red")):
            langs = [lang for lang, meta in rep["languages"].items() if meta["group"] == group]
            x = [rep["per_language"][teacher][lang]["en_overlap@10"]["value"] for lang in langs]
            y = [rep["per_language"][student][lang]["en_overlap@10"]["value"] for lang in langs]
            ax.scatter(x, y, s=14, color=colour, label=f"{group} ({len(langs)})")
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":")
        ax.set_xlabel(f"teacher `{teacher}`")
        ax.set_ylabel(f"student `{student}`")
        ax.set_title("top-10 overlap with the English twin, per language", fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.consistency", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", nargs="+", default=[f"{s}:{t}" for s, t in DEFAULT_PAIRS], help="STUDENT:TEACHER")
    parser.add_argument("--split", default="test", choices=("val", "test"))
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args(argv)
    pairs = [tuple(p.split(":", 1)) for p in args.pairs]
    root = default_corpus_path()
    records = load_corpus(root)
    teachers: dict[str, MemoEncoder] = {}
    reports, seconds = {}, {}
    for student, teacher in pairs:
        start = time.perf_counter()
        teachers.setdefault(teacher, MemoEncoder(load_model(teacher)))
        reports[student] = evaluate_crosslingual({teacher: teachers[teacher], student: MemoEncoder(load_model(student))},
                                                 records, root, args.split, reference=teacher, n_boot=args.bootstrap,
                                                 progress=True)
        seconds[student] = round(time.perf_counter() - start, 1)
    plot(reports, RESULTS / "consistency.png")
    cmd = "python -m benchmarks.consistency" + ("" if pairs == DEFAULT_PAIRS else " --pairs " + " ".join(args.pairs)) \
        + ("" if args.split == "test" else f" --split {args.split}")
    lines = ["# Cross-lingual consistency in every language", "",
             f"Reproduce: `{cmd}` (2 cores: {', '.join(f'{n} {s:.0f} s' for n, s in seconds.items())}).", "",
             "![per-language overlap with the English twin, student against teacher](consistency.png)", ""]
    for student, rep in reports.items():
        lines += [f"## `{student}` beside `{rep['reference']}`", "", *crosslingual_markdown(rep), ""]
    lines += [f"Machine: {machine()['cores']} cores, {machine()['cpu']}."]
    write_results("consistency", {"machine": machine(), "seconds": seconds, "reports": reports}, "\n".join(lines) + "\n")
    print("\n".join(lines[:40]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
