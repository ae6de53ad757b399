"""python -m benchmarks.agreement — do students behave like their teachers on what people type?

    python -m benchmarks.agreement                                   # default students, test split
    python -m benchmarks.agreement --split val --pairs exp-a:lit-e5s-effl0-clip exp-b:lit-e5s-effl0-clip \\
        --stem agreement_val                                          # compare variants on val

For each STUDENT:TEACHER pair: names, keywords and phrases as queries, ranked against the app's
gallery (every corpus image) and against the split's images alone; R@1/5/10 per language and
group, the R@10 ratio, the top-10 overlap of the two result lists and the cosine S(x)·T(x), with
paired bootstrap intervals (`evaluation.agreement`). Teachers are encoded once. Writes
results/<stem>.{md,json}. A choice made from a val table reads the trained and dev held-out
groups; the test held-out group is shown and never read (`choose` below).
"""
from __future__ import annotations

import argparse
import sys
import time

from core import constants
from core.languages import choosable_languages
from corpus.corpus import default_corpus_path, load_corpus, load_keywords
from evaluation.agreement import DEFAULT_PER_LANGUAGE, evaluate_agreement
from evaluation.agreement_report import agreement_markdown
from evaluation.run import MemoEncoder
from training.distill.config import SETTINGS_ADDED
from zoo import load_model
from zoo.info import info_of

from .common import machine, table, write_results

DEFAULT_PAIRS = [(constants.student_name(family, "half", loss), constants.teacher_name(family))
                 for family in constants.FAMILIES for loss in constants.DEFAULT_LOSSES]


def run_pairs(pairs: list[tuple[str, str]], split: str = "test", per_language: int = DEFAULT_PER_LANGUAGE,
              n_boot: int = 1000, languages: list[str] | None = None) -> tuple[dict[str, dict], dict[str, float]]:
    root = default_corpus_path()
    records = load_corpus(root)
    keywords = load_keywords(root, splits=("train", "val", "test"), exclude_languages=())
    teachers: dict[str, MemoEncoder] = {}
    reports, seconds = {}, {}
    for student, teacher in pairs:
        start = time.perf_counter()
        if teacher not in teachers:
            teachers[teacher] = MemoEncoder(load_model(teacher))
        reports[student] = evaluate_agreement({student: MemoEncoder(load_model(student)), teacher: teachers[teacher]},
                                              records, keywords, root, split, reference=teacher, languages=languages,
                                              per_language=per_language, n_boot=n_boot, progress=True)
        seconds[student] = round(time.perf_counter() - start, 1)
        print(f"{student}: {seconds[student]} s", flush=True)
    return reports, seconds


def choice_score(rep: dict, student: str, gallery: str = "app", kind: str = "keywords", metric: str = "overlap@10") -> float:
    """What a choice reads: the mean over choosable languages (trained and dev held-out; never the
    test held-out group) of one per-language figure."""
    per_lang = rep["results"][gallery][kind]["per_language"][student]
    langs = choosable_languages(sorted(per_lang))
    vals = [per_lang[lang][metric]["value"] for lang in langs if metric in per_lang[lang]]
    return sum(vals) / len(vals) if vals else float("nan")


def choose(reports: dict[str, dict], gallery: str = "app", kind: str = "keywords", metric: str = "overlap@10") -> str:
    """The variant with the best choice score (ties to the first given: list the cheaper first)."""
    best, best_score = "", float("-inf")
    for student, rep in reports.items():
        score = choice_score(rep, student, gallery, kind, metric)
        if score > best_score:
            best, best_score = student, score
    return best


RECIPE_KEYS = (("feature_weight", "feature w"), ("gallery_weight", "gallery w"), ("select", "kept by"))


def recipe_table(students: list[str]) -> tuple[list[dict], list[str]]:
    """What each compared student was distilled with, from its own record: the settings a recipe
    choice varies, the epoch kept, its val score, and the val cosine after every epoch (when the
    student recorded its history) — so a table of variants shows the curve behind the choice."""
    rows = []
    for student in students:
        dist = info_of(load_model(student)).distillation or {}
        config, train = dist.get("config") or {}, dist.get("train") or {}
        history = dist.get("history") or []
        rows.append({"student": student, **{k: config.get(k, SETTINGS_ADDED.get(k)) for k, _ in RECIPE_KEYS},
                     "lr": train.get("lr"), "epochs": train.get("epochs"), "best_epoch": dist.get("best_epoch"),
                     "val_score": dist.get("val_score"), "seconds": dist.get("seconds"), "command": dist.get("command"),
                     "val_cosine": [h.get("val_cosine") for h in history]})

    def num(v, spec):
        return "–" if v is None else format(v, spec)

    lines = table(["student", *(label for _, label in RECIPE_KEYS), "lr", "epochs", "kept epoch", "val score",
                   "val cosine by epoch", "distill s"],
                  [[f"`{r['student']}`", *(num(r[k], "g") if k != "select" else r[k] for k, _ in RECIPE_KEYS),
                    num(r["lr"], "g"), r["epochs"], r["best_epoch"], num(r["val_score"], ".4f"),
                    " ".join(num(c, ".3f") for c in r["val_cosine"]) or "not recorded", num(r["seconds"], ".0f")]
                   for r in rows])
    lines += ["", "Commands: " + "; ".join(f"`{r['command']}`" for r in rows if r["command"]), ""]
    return rows, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.agreement", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", nargs="+", default=[f"{s}:{t}" for s, t in DEFAULT_PAIRS],
                        help="STUDENT:TEACHER pairs (default: the default zoo)")
    parser.add_argument("--split", default="test", choices=("val", "test"))
    parser.add_argument("--per-language", type=int, default=DEFAULT_PER_LANGUAGE,
                        help="keyword and phrase queries per language (seeded sample)")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--stem", default="", help="results file stem (default: agreement, or agreement_val)")
    args = parser.parse_args(argv)
    if args.split == "test" and args.stem.startswith("choice"):
        print("error: choices are made on val", file=sys.stderr)
        return 2
    pairs = [tuple(p.split(":", 1)) for p in args.pairs]
    reports, seconds = run_pairs(pairs, args.split, args.per_language, args.bootstrap)
    stem = args.stem or ("agreement" if args.split == "test" else "agreement_val")
    cmd = "python -m benchmarks.agreement" + ("" if pairs == DEFAULT_PAIRS else " --pairs " + " ".join(args.pairs)) \
        + ("" if args.split == "test" else f" --split {args.split}") + (f" --stem {args.stem}" if args.stem else "") \
        + ("" if args.per_language == DEFAULT_PER_LANGUAGE else f" --per-language {args.per_language}")
    lines = [f"# Agreement with the teacher ({args.split} split)", "",
             f"Reproduce: `{cmd}` (2 cores: {', '.join(f'{n} {s:.0f} s' for n, s in seconds.items())}).", ""]
    recipes = []
    if args.split == "val" and len(reports) > 1:
        recipes, recipe_lines = recipe_table(list(reports))
        lines += ["## Recipes compared", "", "*val score*: what kept the epoch (val R@10 on names, or the mean val "
                  "cosine S(x)·T(x) when kept by agreement).", "", *recipe_lines]
        scores = {s: choice_score(r, s) for s, r in reports.items()}
        lines += ["Choice score (mean keyword overlap@10 on the app gallery over trained and dev held-out languages; "
                  "the test held-out group is not read): " + ", ".join(f"`{s}` {v:.3f}" for s, v in scores.items())
                  + f" → `{choose(reports)}`.", ""]
    for student, rep in reports.items():
        lines += agreement_markdown(rep, student)
    lines += [f"Machine: {machine()['cores']} cores, {machine()['cpu']}."]
    write_results(stem, {"machine": machine(), "seconds": seconds, "recipes": recipes, "reports": reports}, "\n".join(lines) + "\n")
    print("\n".join(lines[:60]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
