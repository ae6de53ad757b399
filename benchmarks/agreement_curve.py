"""python -m benchmarks.agreement_curve — how far does the student's agreement with its teacher go
with more training?

    python -m benchmarks.agreement_curve --epochs 1 2 4 8      # val split; hours on 2 cores

The default CLIP half student's recipe, distilled for each epoch budget (the schedule stretches
with it: warm-up share and decay are the default's), then measured on val over the app's gallery
(every corpus image) with names and keywords as queries: top-10 overlap with the teacher's list,
cosine S(x)·T(x), and the R@10 ratio, with paired intervals (`evaluation.agreement`). The budget
equal to the default schedule is the default student itself (no retraining). Only the trained and
dev held-out groups are shown: the curve may move the default, and the test held-out group
chooses nothing. Students are kept in the zoo as `curve-e<N>` (rerunning resumes or reuses them).
Writes results/agreement_curve.{md,json,png}.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, replace
from pathlib import Path

from core import constants
from core.languages import choosable_languages
from corpus.corpus import corpus_hash, default_corpus_path, load_corpus
from evaluation.report import save_figure
from training.build_zoo import is_current
from training.distill.config import DistillConfig, default_train_config
from training.distill.run import run as distill
from zoo import load_model
from zoo.info import info_of

from .agreement import run_pairs
from .common import RESULTS, machine, table, write_results

GROUPS = ("trained", "dev held-out")  # the test held-out group is not even encoded: this curve can move the default
KINDS = ("names", "keywords")
METRICS = ("overlap@10", "cosine", "ratio")


def student_for(epochs: int, progress: bool = True) -> str:
    """The default recipe at `epochs`: the default student itself at the default schedule, else a
    `curve-e<N>` student (distilled now, or resumed/reused from the zoo)."""
    default = constants.student_name("clip")
    train = replace(default_train_config(), epochs=epochs)
    if epochs == default_train_config().epochs:
        load_model(default)  # a clear error when the default zoo has not been built
        return default
    name = f"curve-e{epochs}"
    # reused only when made by today's default recipe at this budget, from the teacher and corpus now here
    if is_current(name, corpus_hash(), constants.teacher_name("clip"), log=lambda m: None,
                  config=asdict(DistillConfig(name=name)), train=asdict(train)):
        return name
    distill(DistillConfig(name=name), train, progress=progress,
            command=f"python -m training.distill --name {name} --epochs {epochs}")
    return name


def curve_rows(reports: dict[str, dict], epochs_of: dict[str, int]) -> list[dict]:
    rows = []
    for student, rep in reports.items():
        dist = info_of(load_model(student)).distillation
        # best_epoch: the checkpoint kept by the student's own selection rule (`select`); after
        # `patience` epochs without a gain, a long budget can stop early
        row = {"student": student, "epochs": epochs_of[student], "train_seconds": dist.get("seconds"),
               "best_epoch": dist.get("best_epoch"), "patience": (dist.get("train") or {}).get("patience")}
        for kind in KINDS:
            groups = rep["results"]["app"][kind]["groups"][student]
            for group in GROUPS:
                for metric in METRICS:
                    row[f"{kind}/{group}/{metric}"] = groups[group][metric]
        rows.append(row)
    return sorted(rows, key=lambda r: r["epochs"])


def fmt(cell: dict) -> str:
    return f"{cell['value']:.3f} [{cell['lo']:.3f}, {cell['hi']:.3f}]"


def plot(rows: list[dict], path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4), sharex=True)
    x = [r["epochs"] for r in rows]
    # the third panel is the one that decides: agreement can rise while the student's recall falls
    for ax, metric, goal in ((axes[0], "overlap@10", 0.60), (axes[1], "cosine", None), (axes[2], "ratio", 0.97)):
        for kind in KINDS:
            for group, style in zip(GROUPS, ("-o", "--s")):
                cells = [r[f"{kind}/{group}/{metric}"] for r in rows]
                y = [c["value"] for c in cells]
                err = [[v - c["lo"] for v, c in zip(y, cells)], [c["hi"] - v for v, c in zip(y, cells)]]
                ax.errorbar(x, y, yerr=err, fmt=style, capsize=3, label=f"{kind}, {group}")
        if goal:
            ax.axhline(goal, color="grey", lw=0.8, ls=":", label=f"goal {goal:.2f}")
        ax.set_xscale("log", base=2)
        ax.set_xticks(x, [str(v) for v in x])
        ax.set_xlabel("distillation epochs (default schedule stretched)")
        ax.set_ylabel("R@10 student ÷ teacher (val, app gallery)" if metric == "ratio"
                      else f"{metric} with the teacher (val, app gallery)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    save_figure(fig, path)


def render(rows: list[dict], seconds: dict, per_language: int, out: Path = RESULTS) -> str:
    """Writes results/agreement_curve.{md,json,png} from measured rows; `--replot` calls it on the
    rows already in the JSON, so a change of presentation needs no new measurement."""
    plot(rows, out / "agreement_curve.png")
    cmd = "python -m benchmarks.agreement_curve --epochs " + " ".join(str(r["epochs"]) for r in rows)
    lines = ["# Agreement with the teacher against the distillation budget (val split)", "",
             f"Reproduce: `{cmd}`. Default CLIP half student's recipe (`{constants.student_name('clip')}` is the "
             f"{default_train_config().epochs}-epoch point); each budget stretches the default schedule. Queries "
             "ranked over the app's gallery (every corpus image); 95% paired bootstrap intervals over val concepts. "
             "The test held-out group is not measured here. *Kept epoch*: the checkpoint distillation keeps (by the "
             f"default rule, `--select {DistillConfig().select}`; it stops after `patience` epochs without a gain), so a "
             "budget can end before its last epoch. *Train s*: the run's wall time; runs that shared the machine with "
             "other jobs took longer, so it is not a cost figure (one epoch alone ≈ 55 s of steps on 2 cores).", "",
             "![overlap, cosine and R@10 ratio against epochs](agreement_curve.png)", ""]
    for kind in KINDS:
        lines += [f"## {kind}", ""]
        header = ["epochs", "kept epoch", "student", "train s"] + [f"{m} ({g})" for g in GROUPS for m in METRICS]
        lines += table(header, [[r["epochs"], r["best_epoch"], f"`{r['student']}`", f"{r['train_seconds'] or 0:.0f}"]
                                + [fmt(r[f"{kind}/{g}/{m}"]) for g in GROUPS for m in METRICS] for r in rows])
        lines.append("")
    lines += [f"Machine: {machine()['cores']} cores, {machine()['cpu']}; evaluation seconds: "
              + ", ".join(f"{s} {v:.0f}" for s, v in seconds.items()) + "."]
    text = "\n".join(lines) + "\n"
    write_results("agreement_curve", {"machine": machine(), "rows": rows, "seconds": seconds,
                                      "per_language": per_language}, text, out=out)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.agreement_curve", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", nargs="+", type=int, default=[1, 2, 4, 8])
    parser.add_argument("--per-language", type=int, default=100, help="keyword queries per language (seeded)")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--replot", action="store_true",
                        help="rewrite the report and plot from results/agreement_curve.json, measuring nothing")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if any(e < 1 for e in args.epochs):
        parser.error("--epochs takes positive budgets")
    if args.replot:
        import json

        try:
            saved = json.loads((RESULTS / "agreement_curve.json").read_text())
        except (OSError, ValueError) as err:
            parser.error(f"--replot needs results/agreement_curve.json: {err}")
        print(render(saved["rows"], saved["seconds"], saved["per_language"], out=RESULTS))
        return 0
    teacher = constants.teacher_name("clip")
    epochs_of = {student_for(e, not args.no_progress): e for e in sorted(set(args.epochs))}
    languages = choosable_languages(sorted({r.language for r in load_corpus(default_corpus_path())}))
    reports, seconds = run_pairs([(s, teacher) for s in epochs_of], "val", args.per_language, args.bootstrap,
                                 languages=languages)
    print(render(curve_rows(reports, epochs_of), seconds, args.per_language))
    return 0


if __name__ == "__main__":
    sys.exit(main())
