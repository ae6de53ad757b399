"""python -m benchmarks.multilingual — the default students against their teachers in every language.

Runs the ~100-language evaluation (`evaluation.multilingual`) for each default student
of the zoo with its teacher as reference — teachers are encoded once and shared by their students —
and writes results/multilingual.{md,json,png}: per student, text→image R@10 by language group
(trained, held out, untrained, outside XLM-R) with paired 95% bootstrap intervals for the ratio to
the teacher, the ten worst languages and tokenization parity; one plot row per student. Whatever
the students score is what is written.
"""
from __future__ import annotations

import argparse
import sys
import time

from core import constants
from corpus.corpus import default_corpus_path, load_corpus, load_keywords
from evaluation.agreement import DEFAULT_PER_LANGUAGE, evaluate_agreement
from evaluation.agreement_report import agreement_markdown
from evaluation.multilingual import GROUPS, HEADLINE, evaluate_multilingual
from evaluation.multilingual_report import fmt_ci, fmt_pct, plot_languages, verdict
from evaluation.report import save_figure
from evaluation.run import MemoEncoder
from zoo import load_model

from .common import RESULTS, machine, table, write_results

DEFAULT_PAIRS = [(constants.student_name(family, "half", loss), constants.teacher_name(family))
                 for family in constants.FAMILIES for loss in constants.DEFAULT_LOSSES]


def summary_rows(name: str, rep: dict) -> list[list]:
    teacher = rep["reference"]
    rows = []
    for group in (*GROUPS, "all"):
        g, t = rep["groups"][name].get(group), rep["groups"][teacher].get(group)
        if g:
            rows.append([name, group, g["languages"], fmt_ci(t[HEADLINE]), fmt_ci(g[HEADLINE]),
                         f"{fmt_ci(g['ratio'], 2)} {verdict(g['ratio'])}"])
    return rows


FLOOR = 0.90  # "no language below 0.90 of the teacher"


def below_floor(name: str, rep: dict) -> tuple[list[str], list[str]]:
    """Languages whose ratio's point estimate, and whose whole interval, is below FLOOR."""
    ratios = rep["ratios"][name]
    point = sorted(lang for lang, r in ratios.items() if r["value"] < FLOOR)
    return point, [lang for lang in point if ratios[lang]["hi"] < FLOOR]


def short_list(langs: list[str], limit: int = 15) -> str:
    if not langs:
        return "none"
    return ", ".join(langs[:limit]) + (f" (+{len(langs) - limit} more, {len(langs)} in all)" if len(langs) > limit else "")


def parity_by_group(name: str, rep: dict) -> dict[str, tuple[float, float]]:
    tok = rep["tokenization"].get(name, {})
    out = {}
    for group in GROUPS:
        langs = [lang for lang, v in rep["languages"].items() if v["group"] == group and lang in tok]
        if langs:
            out[group] = (sum(tok[lang]["parity"] for lang in langs) / len(langs),
                          sum(tok[lang]["unk_rate"] for lang in langs) / len(langs))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.multilingual", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", nargs="+", default=[f"{s}:{t}" for s, t in DEFAULT_PAIRS],
                        help="STUDENT:TEACHER pairs (default: the default zoo)")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--per-language", type=int, default=DEFAULT_PER_LANGUAGE,
                        help="keyword and phrase queries per language in the agreement tables (seeded sample)")
    args = parser.parse_args(argv)

    root = default_corpus_path()
    records = load_corpus(root)
    pairs = [tuple(p.split(":", 1)) for p in args.pairs]
    keywords = load_keywords(root, splits=("train", "val", "test"), exclude_languages=())
    teachers: dict[str, MemoEncoder] = {}
    reports, agreements, seconds = {}, {}, {}
    for student_name, teacher_name in pairs:
        start = time.perf_counter()
        if teacher_name not in teachers:
            teachers[teacher_name] = MemoEncoder(load_model(teacher_name))
        student = MemoEncoder(load_model(student_name))
        pair = {student_name: student, teacher_name: teachers[teacher_name]}
        reports[student_name] = evaluate_multilingual(pair, records, root, reference=teacher_name, n_boot=args.bootstrap,
                                                      progress=True)
        agreements[student_name] = evaluate_agreement(pair, records, keywords, root, "test", reference=teacher_name,
                                                      per_language=args.per_language, n_boot=args.bootstrap, progress=True)
        seconds[student_name] = round(time.perf_counter() - start, 1)
        print(f"{student_name}: {seconds[student_name]} s", flush=True)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = next(iter(reports.values()))
    fig, axes = plt.subplots(len(reports), 1, figsize=(max(8, 0.17 * len(first["languages"]) + 2), 3.4 * len(reports)),
                             squeeze=False)
    for ax, (name, rep) in zip(axes[:, 0], reports.items()):
        plot_languages(ax, rep, name)
    save_figure(fig, RESULTS / "multilingual.png")

    rows = [row for name, rep in reports.items() for row in summary_rows(name, rep)]
    held = [lang for lang, v in first["languages"].items() if v["group"] == "held-out"]
    dev = [lang for lang, v in first["languages"].items() if v["group"] == "dev held-out"]
    pairs_arg = "" if pairs == DEFAULT_PAIRS else " --pairs " + " ".join(f"{s}:{t}" for s, t in pairs)
    lines = [
        "# Do the default students stay multilingual?", "",
        f"Reproduce: `python -m training.build_zoo && python -m benchmarks.multilingual{pairs_arg}` "
        f"(2 cores: {', '.join(f'{n} {s:.0f} s' for n, s in seconds.items())}; teachers encoded once).", "",
        f"Test split of the embedded corpus: {first['queries']:,} queries — CLDR emoji names, `emoji`-package names "
        f"and CLDR territory names — in {len(first['languages'])} languages, against one gallery of "
        f"{first['gallery_size']} test images (emoji and flags; chance R@10 = {10 / first['gallery_size']:.3f}). "
        f"Intervals: 95% bootstrap over the {first['concepts']} test concepts, paired between student and "
        "teacher; a ratio whose interval contains 1 is a tie. Groups: *trained* — languages with captions in "
        f"the student's training text; *dev held-out* ({', '.join(dev)}) — never in any training input, read by "
        f"choices on val; *held-out* ({', '.join(held)}) — never in any training input of a "
        "teacher head or a student and in no choice; *untrained* — XLM-R languages without training captions; *outside XLM-R* — "
        "languages the text tower was not even pretrained on.", "",
        "## Text→image R@10 by language group", "",
        *table(["student", "group", "languages", "teacher", "student", "student ÷ teacher"], rows), "",
        "## Where students lose languages", "",
    ]
    for name, rep in reports.items():
        worst = rep["worst"].get(name, [])
        lines.append(f"- `{name}`: " + ", ".join(
            f"{lang} ({rep['languages'][lang]['name']}) {rep['ratios'][name][lang]['value']:.2f}" for lang in worst) + ".")
    lines += ["", f"Languages below {FLOOR} of the teacher — by point estimate, and with the whole interval below "
              f"(the only ones that are surely below; with ~400 queries a language's interval is wide):", ""]
    lines += table(["student", f"point < {FLOOR}", f"interval < {FLOOR}"],
                   [[name, *(short_list(langs) for langs in below_floor(name, rep))] for name, rep in reports.items()])
    lines += ["", "## Tokenization parity (share of test queries the student cuts into the teacher's pieces)", ""]
    prow = []
    for name, rep in reports.items():
        par = parity_by_group(name, rep)
        prow.append([name] + [f"{fmt_pct(par[g][0])} / {fmt_pct(par[g][1])}" if g in par else "–" for g in GROUPS])
    lines += table(["student", *(f"{g}: parity / unk" for g in GROUPS)], prow)
    lines += ["", "## What people type, on the app's gallery", "",
              "The tables above rank names among the test images only. Users meet every corpus image and type "
              "keywords and phrases too; they see two result lists side by side. Per student: recall, its ratio, the "
              "top-10 overlap of the two lists and the cosine S(x)·T(x), for each query kind and gallery "
              "(`evaluation/agreement.py`). ED regresses onto the teacher's *English* embedding, not T(x): "
              "judge it by recall; the other objectives aim at replicating T(x).", ""]
    for name, rep in agreements.items():
        lines += agreement_markdown(rep, name, level=3)
    lines += ["", "![per-language ratios](multilingual.png)", "",
              "Per-language tables (every language, R@1/5/10 and MRR@10 in both directions, intervals) are in "
              "`multilingual.json`; `python -m evaluation --model STUDENT --compare TEACHER` writes the same for "
              "one pair.", "", f"Machine: {machine()['cores']} cores, {machine()['cpu']}."]
    write_results("multilingual", {"machine": machine(), "seconds": seconds, "reports": reports, "agreement": agreements},
                  "\n".join(lines) + "\n")
    print("\n".join(lines[:12 + len(rows)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
