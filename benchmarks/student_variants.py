"""python -m benchmarks.student_variants --teacher T --students A B … [--split val] [--out NAME]

Puts several students of one teacher side by side on the ~100-language evaluation: text
parameters (counted) and vocabulary size against text→image R@10 ratio to the teacher, by
language group, with paired 95% bootstrap intervals — the table a recipe choice is made from.
Choices are made on `--split val`; the test split is for reporting the choice once made.
Writes results/<out>.{md,json}.
"""
from __future__ import annotations

import argparse
import sys
import time

from core.constants import teacher_name
from corpus.corpus import default_corpus_path, load_corpus
from evaluation.multilingual import GROUPS, HEADLINE, evaluate_multilingual
from evaluation.multilingual_report import fmt_ci, fmt_pct, verdict
from evaluation.run import MemoEncoder
from zoo import load_model
from zoo.info import info_of

from .common import machine, table, write_results


def describe(model) -> dict:
    dist = info_of(model).distillation
    student = dist.get("student") or {}
    cfg = dist.get("config") or {}
    return {"text_params": model.num_parameters()["text"], "vocab": student.get("vocab_kept"),
            "fraction": student.get("text_fraction"), "layers": student.get("layers_kept"),
            "vocab_fill": (student.get("recipe") or {}).get("vocab_fill", ""),
            "script_floor": (student.get("recipe") or {}).get("script_floor", 0),
            "full_rows": student.get("full_rows"), "tail_rank": student.get("tail_rank", 0),
            "train_sources": cfg.get("train_sources"), "loss": cfg.get("loss"), "seconds": dist.get("seconds")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.student_variants", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", default=teacher_name("clip"))
    parser.add_argument("--students", nargs="+", required=True)
    parser.add_argument("--split", default="val", choices=["val", "test"])
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--out", default="student_variants")
    args = parser.parse_args(argv)

    root = default_corpus_path()
    start = time.perf_counter()
    models = {name: MemoEncoder(load_model(name)) for name in [*args.students, args.teacher]}
    rep = evaluate_multilingual(models, load_corpus(root), root, args.split, reference=args.teacher,
                                n_boot=args.bootstrap, progress=True)
    facts = {name: describe(models[name].model) for name in args.students}
    teacher_params = models[args.teacher].model.num_parameters()["text"]
    rows = []
    for name in args.students:
        f, groups = facts[name], rep["groups"][name]
        tok = rep["tokenization"].get(name, {})
        held = [lang for lang, v in rep["languages"].items() if v["group"] == "held-out" and lang in tok]
        parity = sum(tok[lang]["parity"] for lang in held) / len(held) if held else float("nan")
        worst = min(rep["ratios"][name].values(), key=lambda e: e["value"])["value"]
        rows.append([f"`{name}`", f"{f['text_params'] / 1e6:.1f}M ({f['text_params'] / teacher_params:.0%})",
                     (f"{f['vocab']:,}" if f["vocab"] else "–")
                     + (f" ({f['full_rows']:,} full, rank-{f['tail_rank']} tail)" if f.get("tail_rank") else ""),
                     (f"script, floor {f['script_floor']:,}" if f["vocab_fill"] == "script" else "used only"),
                     " ".join(f["train_sources"] or []) or "–"]
                    + [f"{fmt_ci(groups[g]['ratio'], 2)} {verdict(groups[g]['ratio'])}" if g in groups else "–"
                       for g in (*GROUPS, "all")]
                    + [fmt_pct(parity), f"{worst:.2f}"])
    lines = [f"# Student variants of `{args.teacher}` on the {args.split} split", "",
             f"Reproduce: `python -m benchmarks.student_variants --teacher {args.teacher} --students "
             f"{' '.join(args.students)} --split {args.split}` ({time.perf_counter() - start:.0f} s on "
             f"{machine()['cores']} cores).", "",
             f"Text→image {HEADLINE} ÷ teacher by language group ({len(rep['languages'])} languages, "
             f"{rep['queries']:,} queries, gallery {rep['gallery_size']}), paired 95% bootstrap over "
             f"{rep['concepts']} concepts; tokenization parity is the held-out languages' share of queries cut "
             "into the teacher's pieces; *worst* is the lowest per-language ratio.", "",
             *table(["student", "text params", "vocabulary", "fill", "train sources", *GROUPS, "all",
                     "held-out parity", "worst"], rows)]
    write_results(args.out, {"machine": machine(), "facts": facts, "report": rep}, "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
