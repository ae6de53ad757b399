"""python -m training.study [--budget small|full] [--seeds 0 1 2] — the paper's comparison, on the embedded corpus.

Grid: teacher family {clip, siglip} x objective {DR+agreement, DR, FD, ED, SD, MCL, DR+ED} x seed,
recipe `half`. Each formulation runs alone, as the paper defines it; DR+agreement adds the default
recipe's agreement terms and is the default student's recipe. Every student is scored on the ~100-language evaluation (test split, one gallery of
every test image) beside its teacher, plus the suite's VQA and cost, and `results/study.md`
(+ study.json, study.png) says which of the paper's claims hold.

Uncertainty has two sources and both are in the intervals: which test concepts were drawn
(bootstrap over concepts, the same resamples for every model) and which training run we got
(the seeds, resampled with replacement inside every bootstrap draw). A claim "holds" only
where the 95% interval of the difference excludes 0 in its favour, "does not hold" where it
excludes 0 against it, and is a "tie" otherwise. VQA has per-seed accuracies only, so its
comparisons use a paired t interval over seeds.

Budgets: `full` (the default, and the only one that is the study) uses the default distillation
schedule and recipe, so its DR+agreement and ED rows at seed 0 *are* the default students; `small` (1 epoch of 2 passes)
is a quick mode, labelled as such. Every student is reused only when everything that defines its
run matches (corpus, teacher version, recipe, objective, schedule, seed, loss code) and rebuilt
otherwise; a stopped study resumes where it stopped. Measured times are written into the report.

The default objective is not chosen by the test-image ratio alone: where users search (the app's gallery of
every corpus image, the words they type) and compare the two panels (top-10 overlap with the teacher), an
objective that wins on the 372 test images may tie or lose. `default_claim` moves the default only to an
objective that is higher by intervals on one of those axes and lower on none.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from core.constants import DEFAULT_LOSSES, teacher_name
from core.io import atomic_write_json, atomic_write_text
from core.paths import cache_dir, zoo_checkpoint
from core.results_index import code_fingerprint, provenance
from corpus.corpus import corpus_hash, default_corpus_path, load_corpus, load_keywords
from evaluation.agreement import evaluate_agreement
from evaluation.bootstrap import interval
from evaluation.cost import machine
from evaluation.crosslingual import evaluate_crosslingual
from evaluation.multilingual import evaluate_multilingual
from evaluation.report import save_figure
from evaluation.run import MemoEncoder
from evaluation.suite import HEADLINE_KEY
from zoo import load_model

from .build_zoo import build_default_zoo, is_current
from .distill.config import DistillConfig, default_train_config, loss_code_version, student_name
from .distill.run import run
from .losses.combine import parse_weights

FAMILIES = ("clip", "siglip")
# An objective alone is the paper's formulation: no agreement terms (feature and gallery weight 0).
# `<loss>+agreement` adds the default recipe's agreement terms (training/distill/config.py), so
# "dr+agreement" at seed 0 *is* the default DR student and "ed" the default ED student.
AGREEMENT = "+agreement"
OBJECTIVES = ("dr+agreement", "dr", "fd", "ed", "sd", "mcl", "dr=1,ed=0.5")  # the default first
MIX = "dr=1,ed=0.5"
SEEDS = (0, 1, 2)
# "full" is the default schedule itself, so the study's DR row at seed 0 is the default student
BUDGETS = {"small": {"epochs": 1, "passes_per_epoch": 2},
           "full": {"epochs": default_train_config().epochs, "passes_per_epoch": DistillConfig.passes_per_epoch}}
GROUPS = ("all", "trained", "dev held-out", "held-out", "outside XLM-R")  # those a corpus has
CLOSE = 0.95  # "close to the teacher": a retrieval ratio of at least this
CONSISTENCY = ("gap", "en_overlap@10")  # cross-lingual consistency columns (evaluation.crosslingual)
AGREEMENT_KINDS = ("names", "keywords")  # agreement with the teacher on the app's gallery (evaluation.agreement)
AGREEMENT_PER_LANGUAGE = 100


def arm_config(objective: str, teacher: str, languages: tuple[str, ...] = (), passes_per_epoch: int | None = None
               ) -> DistillConfig:
    """The distillation config of one study objective: `loss` alone (the paper's formulation, no
    agreement terms) or `loss+agreement` (the loss with the default recipe's agreement terms)."""
    loss = objective.removesuffix(AGREEMENT)
    terms = {} if objective.endswith(AGREEMENT) else {"feature_weight": 0.0, "gallery_weight": 0.0}
    passes = {} if passes_per_epoch is None else {"passes_per_epoch": passes_per_epoch}
    return DistillConfig(teacher=teacher, recipe="half", loss=loss, languages=languages, **terms, **passes)


def formulations(objectives) -> list[str]:
    """The paper's formulations among the study's objectives (those without the agreement terms)."""
    return [o for o in objectives if not o.endswith(AGREEMENT)]


def seed_concept_draws(student: list[np.ndarray], teacher: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """[n_boot] ratio draws: draw b averages seeds drawn with replacement, each at concept resample b.

    `student` holds one [n_boot] array of resampled group means per seed; `teacher` the
    teacher's, from the same concept resamples."""
    stacked = np.stack(student)  # [seeds, n_boot]
    n_seeds, n_boot = stacked.shape
    picks = rng.integers(0, n_seeds, size=(n_boot, n_seeds))
    means = stacked[picks, np.arange(n_boot)[:, None]].mean(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(teacher > 0, means / np.where(teacher > 0, teacher, 1.0), np.nan)


def t_interval(diffs: list[float], level: float = 0.95, min_seeds: int = 3) -> tuple[float, float]:
    """Paired t interval of a mean difference over seeds; undefined with fewer than `min_seeds`
    (two seeds that happen to agree would give a spuriously tight interval)."""
    d = np.asarray(diffs, np.float64)
    if len(d) < max(2, min_seeds):
        return float("nan"), float("nan")
    from scipy.stats import t

    half = t.ppf(0.5 + level / 2, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    return float(d.mean() - half), float(d.mean() + half)


def verdict(lo: float, hi: float) -> str:
    """The sign of a difference, claimed only when its interval excludes 0."""
    if math.isnan(lo) or math.isnan(hi):
        return "tie"
    return "holds" if lo > 0 else ("does not hold" if hi < 0 else "tie")


def seed_means(per_seed: list[dict | None]) -> dict:
    """{group: {metric: {"mean", "per_seed"}}} from each seed's {group: {metric: estimate}}; the
    per-seed values carry their own concept intervals in the rows. Empty where a seed lacks it
    (rows written before these columns existed)."""
    if not per_seed or any(p is None for p in per_seed):
        return {}
    out: dict = {}
    for g in per_seed[0]:
        for metric, est in per_seed[0][g].items():
            if isinstance(est, dict) and "value" in est:
                vals = [p[g][metric]["value"] for p in per_seed]
                out.setdefault(g, {})[metric] = {"mean": float(np.mean(vals)), "per_seed": vals}
    return out


def summarise(rows: list[dict], samples: dict, n_boot_seed: int = 0) -> tuple[list[dict], dict]:
    """Per (family, objective): seed means with intervals; and the retrieval contrasts the claims
    need (difference of all-language ratios, same draws for both sides)."""
    rng = np.random.default_rng(n_boot_seed)
    cells, draws = [], {}
    for family in sorted({r["family"] for r in rows}):
        for objective in dict.fromkeys(r["objective"] for r in rows if r["family"] == family):
            mine = [r for r in rows if r["family"] == family and r["objective"] == objective]
            cell = {"family": family, "objective": objective, "teacher": mine[0]["teacher"],
                    "seeds": [r["seed"] for r in mine], "params": mine[0]["params"], "ratio": {}}
            for g in GROUPS:
                per_seed = [samples[(family, objective, r["seed"])].get(g) for r in mine]
                if any(p is None for p in per_seed):
                    continue
                teacher = per_seed[0][1]
                d = seed_concept_draws([p[0] for p in per_seed], teacher, rng)
                draws[(family, objective, g)] = d
                point = float(np.mean([r["groups"][g]["ratio"]["value"] for r in mine]))
                lo, hi = interval(d)
                cell["ratio"][g] = {"value": point, "lo": lo, "hi": hi,
                                    "per_seed": [r["groups"][g]["ratio"]["value"] for r in mine]}
            for key in (HEADLINE_KEY, "vqa_photo_accuracy_mean", "vqa_flag_accuracy_mean"):
                vals = [r["summary"].get(key, float("nan")) for r in mine]
                cell[key] = {"mean": float(np.mean(vals)), "sd": float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0,
                             "per_seed": vals}
            cell["consistency"] = seed_means([r.get("consistency") for r in mine])
            cell["groups"] = seed_means([r.get("groups") for r in mine])  # image→text among them
            cell["agreement"] = {kind: seed_means([(r.get("agreement") or {}).get(kind) for r in mine])
                                 for kind in AGREEMENT_KINDS}
            cells.append(cell)
    contrasts = {}
    for family in sorted({c["family"] for c in cells}):
        objs = [c["objective"] for c in cells if c["family"] == family]
        for a in objs:
            for b in objs:
                da, db = draws.get((family, a, "all")), draws.get((family, b, "all"))
                if a < b and da is not None and db is not None:
                    lo, hi = interval(da - db)
                    pa = next(c for c in cells if c["family"] == family and c["objective"] == a)["ratio"]["all"]["value"]
                    pb = next(c for c in cells if c["family"] == family and c["objective"] == b)["ratio"]["all"]["value"]
                    contrasts[f"{family}|{a}|{b}"] = {"value": pa - pb, "lo": lo, "hi": hi}
    return cells, contrasts


def retrieval_contrast(result: dict, family: str, a: str, b: str) -> dict:
    """Ratio of `a` minus ratio of `b` (all languages) with its interval, whichever order it was stored in."""
    c = result["contrasts"].get(f"{family}|{a}|{b}")
    if c is not None:
        return c
    c = result["contrasts"][f"{family}|{b}|{a}"]
    return {"value": -c["value"], "lo": -c["hi"], "hi": -c["lo"]}


def vqa_contrast(result: dict, family: str, a: str, b: str) -> dict:
    def per_seed(obj):
        cell = next(c for c in result["cells"] if c["family"] == family and c["objective"] == obj)
        photo, flag = cell["vqa_photo_accuracy_mean"]["per_seed"], cell["vqa_flag_accuracy_mean"]["per_seed"]
        return dict(zip(cell["seeds"], [(p + f) / 2 for p, f in zip(photo, flag)]))

    pa, pb = per_seed(a), per_seed(b)
    diffs = [pa[s] - pb[s] for s in sorted(set(pa) & set(pb))]
    lo, hi = t_interval(diffs)
    return {"value": float(np.mean(diffs)) if diffs else float("nan"), "lo": lo, "hi": hi}


def app_contrast(result: dict, family: str, a: str, b: str, kind: str, metric: str = "ratio",
                 group: str = "all") -> dict:
    """`a` minus `b` on the app's gallery (evaluation.agreement: `kind` queries, `metric` of `group`), paired by
    seed, with a t interval over seeds (3 or more). It covers the training runs but not which queries were drawn,
    so it is narrower than the truth: a tie under it is a tie."""
    def per_seed(obj):
        cell = next(c for c in result["cells"] if c["family"] == family and c["objective"] == obj)
        block = ((cell.get("agreement") or {}).get(kind) or {}).get(group, {}).get(metric)
        return dict(zip(cell["seeds"], block["per_seed"])) if block else {}

    pa, pb = per_seed(a), per_seed(b)
    diffs = [pa[s] - pb[s] for s in sorted(set(pa) & set(pb))]
    lo, hi = t_interval(diffs)
    return {"value": float(np.mean(diffs)) if diffs else float("nan"), "lo": lo, "hi": hi}


def app_axes(result: dict, family: str) -> dict:
    """Where users search: retrieval on the app's gallery (names and the single words people type) and
    agreement with the teacher (the app's side-by-side panels). Each axis: (objective, default) -> contrast."""
    return {"R@10 ratio, app gallery, names": lambda a, b: app_contrast(result, family, a, b, "names"),
            "R@10 ratio, app gallery, keywords": lambda a, b: app_contrast(result, family, a, b, "keywords"),
            **{f"overlap@10 with the teacher, {kind}": (lambda a, b, kind=kind: app_contrast(result, family, a, b, kind,
                                                                                          "overlap@10"))
               for kind in AGREEMENT_KINDS}}


def default_axes(result: dict, family: str) -> dict:
    """What an objective must beat the default on to replace it: retrieval where the study ranks (the test
    images) and every axis of `app_axes`."""
    return {"R@10 ratio, test images": lambda a, b: retrieval_contrast(result, family, a, b), **app_axes(result, family)}


def default_claim(result: dict, family: str, default: str, others: list[str]) -> str:
    """The default moves only to an objective that is higher by intervals on one axis of `default_axes` and lower
    on none (a tie keeps the default, which costs the same). Said with every axis's numbers, so a reader can
    weigh them differently."""
    axes = default_axes(result, family)
    seeds = {c["objective"]: set(c["seeds"]) for c in result["cells"] if c["family"] == family}
    if len(seeds[default]) < 3:
        return (f"The default objective: undecided with {len(seeds[default])} seed(s); the app-gallery and agreement "
                "contrasts need 3.")
    parts, movers, undecided = [], [], []
    for o in others:
        if len(seeds[o] & seeds[default]) < 3:  # its app axes have no interval yet: neither a tie nor a win
            undecided.append(o)
            continue
        words = {axis: contrast(o, default) for axis, contrast in axes.items()}
        verdicts = {axis: _verdict_word(c) for axis, c in words.items()}
        if "higher" not in verdicts.values():
            continue
        parts.append(f"`{o}` − `{default}`: " + "; ".join(f"{axis} {_fmt(c)} → {verdicts[axis]}"
                                                          for axis, c in words.items()))
        if "lower" not in verdicts.values():
            movers.append(o)
    head = (f"{', '.join(f'`{o}`' for o in movers)} is higher on one axis and lower on none, so the default "
            "should move." if movers else
            f"no objective is higher than `{default}` on one axis and lower on none; the default stays.")
    if undecided:
        head += (f" Undecided for {', '.join(f'`{o}`' for o in undecided)}: fewer than 3 seeds shared with the "
                 "default.")
    return "The default objective: " + head + "".join(f"\n    - {p}" for p in parts)


def _best_claim(objs: list[str], best: str, contrast, what: str, label: str) -> str:
    others = [o for o in objs if o != best]
    results = {o: contrast(best, o) for o in others}
    beaten_by = [o for o, c in results.items() if verdict(c["lo"], c["hi"]) == "does not hold"]
    ties = [o for o, c in results.items() if verdict(c["lo"], c["hi"]) == "tie"]
    if beaten_by:
        return f"\"{label}\" **does not hold**: {', '.join(f'`{o}`' for o in beaten_by)} {what} better (interval excludes a tie)."
    if ties:
        return f"\"{label}\" is a **tie**: `{best}` cannot be separated from {', '.join(f'`{o}`' for o in ties)}."
    return f"\"{label}\" **holds**: `{best}` beats every other objective, every interval excluding a tie."


def _fmt(c: dict, nd: int = 3) -> str:
    if math.isnan(c["lo"]) or math.isnan(c["hi"]):
        return f"{c['value']:+.{nd}f} (no interval: fewer than 3 seeds)"
    return f"{c['value']:+.{nd}f} [{c['lo']:+.{nd}f}, {c['hi']:+.{nd}f}]"


def _verdict_word(c: dict) -> str:
    return {"holds": "higher", "does not hold": "lower", "tie": "tie"}[verdict(c["lo"], c["hi"])]


def _mix_claim(kind: str, vs_dr: dict, vs_ed: dict) -> str:
    """Where the DR+ED mix sits against its parts, said only as far as the intervals allow."""
    v = {"dr": verdict(vs_dr["lo"], vs_dr["hi"]), "ed": verdict(vs_ed["lo"], vs_ed["hi"])}
    if v["dr"] == "holds" and v["ed"] == "holds":
        place = "**better than both parts**"
    elif v["dr"] == "does not hold" and v["ed"] == "does not hold":
        place = "**worse than both parts**"
    elif {v["dr"], v["ed"]} == {"holds", "does not hold"}:
        place = "**between its parts**"
    else:
        tied = [p for p in ("dr", "ed") if v[p] == "tie"]
        place = f"a **tie** with {' and '.join(f'`{p}`' for p in tied)}"
        other = [p for p in ("dr", "ed") if v[p] != "tie"]
        if other:
            place += f", {'above' if v[other[0]] == 'holds' else 'below'} `{other[0]}`"
    return f"{kind}: mix − DR {_fmt(vs_dr)}, mix − ED {_fmt(vs_ed)} → {place}"


def claims(result: dict) -> list[str]:
    """Which of the paper's claims the numbers support here — computed from intervals, not asserted."""
    lines = []
    for family in sorted({c["family"] for c in result["cells"]}):
        cells = [c for c in result["cells"] if c["family"] == family]
        every = [c["objective"] for c in cells]
        objs = formulations(every)  # the paper's claims compare its formulations, without the agreement terms
        ratio = {o: c["ratio"]["all"]["value"] for c in cells if "all" in c["ratio"] and (o := c["objective"]) in objs}
        vqa = {c["objective"]: (c["vqa_photo_accuracy_mean"]["mean"] + c["vqa_flag_accuracy_mean"]["mean"]) / 2
               for c in cells if c["objective"] in objs}
        lines.append(f"- **{family}** (seeds {', '.join(map(str, cells[0]['seeds']))}):")
        if "dr" in ratio:
            lines.append("  - Retrieval (all-language R@10 ratio): "
                         + _best_claim(objs, "dr", lambda a, b: retrieval_contrast(result, family, a, b), "retrieves",
                                       "DR best for retrieval")
                         + f" Highest point estimate: `{max(ratio, key=ratio.get)}` ({max(ratio.values()):.3f}).")
        if "ed" in vqa:
            lines.append("  - VQA (photo + flag accuracy): "
                         + _best_claim(objs, "ed", lambda a, b: vqa_contrast(result, family, a, b), "answer",
                                       "ED best for VQA")
                         + f" Highest point estimate: `{max(vqa, key=vqa.get)}` ({max(vqa.values()):.3f}).")
        if {"dr", "ed", MIX} <= set(objs):
            lines.append("  - The DR+ED mix. " + _mix_claim(
                "Retrieval", retrieval_contrast(result, family, MIX, "dr"), retrieval_contrast(result, family, MIX, "ed")))
            lines.append("    " + _mix_claim("VQA", vqa_contrast(result, family, MIX, "dr"), vqa_contrast(result, family, MIX, "ed")))
        default = "dr" + AGREEMENT
        if default in every and "dr" in every:
            c = retrieval_contrast(result, family, default, "dr")
            lines.append(f"  - The agreement terms (the default recipe, `{default}`) against DR alone, retrieval: "
                         f"{_fmt(c)} → **{_verdict_word(c)}**.")
            app = {axis: contrast(default, "dr") for axis, contrast in app_axes(result, family).items()}
            if not any(math.isnan(a["value"]) for a in app.values()):
                lines.append("    Where users search: " + "; ".join(f"{axis} {_fmt(a)} → {_verdict_word(a)}"
                                                                   for axis, a in app.items()) + ".")
        if default in every and len(every) > 1 and "all" in next(x for x in cells if x["objective"] == default)["ratio"]:
            lines.append("  - " + default_claim(result, family, default, [o for o in every if o != default]))
        for g, label in (("all", "every language"), ("held-out", "the held-out languages")):
            best = max((c for c in cells if g in c["ratio"]), key=lambda c: c["ratio"][g]["value"], default=None)
            if best is None:
                continue
            r = best["ratio"][g]
            state = "holds" if r["lo"] >= CLOSE else ("does not hold" if r["hi"] < CLOSE else "tie")
            lines.append(f"  - \"Half-size students stay close to the teacher\" (ratio ≥ {CLOSE}) over {label}: "
                         f"best `{best['objective']}` {r['value']:.3f} [{r['lo']:.3f}, {r['hi']:.3f}] → **{state}**.")
    return lines


def _ci(c: dict | None) -> str:
    return "–" if not c else f"{c['value']:.3f} [{c['lo']:.3f}, {c['hi']:.3f}]"


def speed_facts(path: Path = Path("results") / "speed.json") -> dict | None:
    """One query's text latency, student and teacher, from `benchmarks.speed` (measured alone, never
    beside a training run); every study row shares the `half` architecture, so one figure is each row's."""
    import json

    try:
        timings = {t["threads"]: t["text_b1"] for t in json.loads(path.read_text())["timings"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    one = timings.get(1)
    if not one:
        return None
    return {"threads": 1, **{k: one[k]["median"] for k in ("student PyTorch", "student ONNX int8", "teacher PyTorch",
                                                           "teacher ONNX int8") if k in one}}


def speed_line(speed: dict | None) -> str:
    if not speed or "student PyTorch" not in speed or "teacher PyTorch" not in speed:
        return "Speed: no `results/speed.json` here; run `python -m benchmarks.speed` (alone) for it."
    line = (f"Speed (`results/speed.json`, `python -m benchmarks.speed`, measured alone, 1 thread, one query): every "
            f"row has the `half` architecture, text tower {speed['student PyTorch']:.1f} ms in PyTorch against the "
            f"teacher's {speed['teacher PyTorch']:.1f} ms ({speed['teacher PyTorch'] / speed['student PyTorch']:.1f}x)")
    if "student ONNX int8" in speed:
        line += f"; ONNX int8 {speed['student ONNX int8']:.1f} ms"
    return line + "."


def build_seconds(result: dict) -> list[float]:
    """What each student cost when it was built (a resumed or --cached-only run reuses them, so its own
    wall time says nothing about the study's)."""
    return [r["seconds"] for r in result.get("rows", []) if r.get("seconds")]


def _time_line(result: dict) -> str:
    spent = build_seconds(result)
    if not spent:
        return f"this run's time {result['seconds'] / 60:.1f} min"
    return (f"a student took {np.median(spent) / 60:.0f} min (median; distillation and measurement), "
            f"{sum(spent) / 3600:.1f} h for these {len(spent)}")


def study_markdown(result: dict) -> str:
    m = result["machine"]
    seeds = sorted({s for c in result["cells"] for s in c["seeds"]})
    # the grid that was asked for (a partial run has measured only part of it)
    asked_seeds = result.get("seeds") or seeds
    asked_families = result.get("families") or sorted({c["family"] for c in result["cells"]})
    objectives = result.get("objectives")
    partial = result.get("students_done", 0) < result.get("students_planned", 0)
    lines = ["# LinguaLens study: five distillation formulations on two teacher families", "",
             f"Reproduce: `python -m training.study --budget {result['budget']} --seeds {' '.join(map(str, asked_seeds))} "
             f"--families {' '.join(asked_families)}"
             + ("" if not objectives or list(objectives) == list(OBJECTIVES) else
                " --objectives " + " ".join(f"'{o}'" for o in objectives))
             + f"`. Budget `{result['budget']}` "
             f"({result['schedule']['epochs']} epoch(s) x {result['schedule']['passes_per_epoch']} passes per student), "
             f"recipe `half`, seeds {'measured so far ' if partial else ''}{', '.join(map(str, seeds))}; "
             + _time_line(result) + f" on {m['cores']} cores ({m['cpu']}), torch {m['torch']}.", "",
             *([f"**Partial: {result['students_done']} of the {result['students_planned']} planned students** "
                f"(the grid was stopped; rerun the command to finish it — finished students are reused).", ""]
               if partial else []),
             "Retrieval ratios are student ÷ teacher R@10 on the ~100-language test evaluation "
             f"({result.get('languages', '?')} languages; *trained*: the languages distillation saw; *dev held-out* and "
             "*held-out*: never trained on, the dev group reads choices on val, the test group none; *outside XLM-R*: "
             "languages the teacher's tokenizer was not trained on), text→image averaged over seeds with 95% "
             "intervals that resample both the test concepts and the seeds; image→text the mean over seeds. An "
             "objective alone is the paper's formulation; `+agreement` adds the default recipe's agreement terms "
             "(S(x)→T(x) and the teacher's ranking of every training image), and `dr+agreement` at seed 0 is the "
             "default student. Emoji R@10 and VQA are the suite's 14-language test numbers, mean ± sd over seeds.", "",
             "| teacher | objective | text params (ratio) | R@10 ratio, all | trained | dev held-out | held-out | "
             "outside XLM-R | image→text ratio, all | emoji t2i R@10 (14 langs) | VQA photo | VQA flag |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for c in result["cells"]:
        tc = result["teachers"][c["teacher"]]
        tp, sp = tc["params"]["text"], c["params"]["text"]

        def ms(key: str) -> str:
            return f"{c[key]['mean']:.3f} ± {c[key]['sd']:.3f}"

        i2t = (c.get("groups") or {}).get("all", {}).get("i2t ratio")
        lines.append(f"| {c['teacher']} | {c['objective']} | {sp / 1e6:.1f}M ({sp / tp:.2f}) | "
                     + " | ".join(_ci(c["ratio"].get(g)) for g in GROUPS)
                     + f" | {'–' if i2t is None else format(i2t['mean'], '.3f')} | {ms(HEADLINE_KEY)} | "
                     f"{ms('vqa_photo_accuracy_mean')} | {ms('vqa_flag_accuracy_mean')} |")
    lines += ["", "### Cross-lingual consistency and agreement with the teacher", "",
              "Consistency (`evaluation.crosslingual`): each name against the English name of its concept — the "
              "translation cosine gap over a random pair, and the top-10 overlap of the two result lists over the "
              "app's gallery — student minus teacher, mean over seeds. Agreement (`evaluation.agreement`): the top-10 "
              "overlap of the student's and the teacher's lists for the same query over the app's gallery, and the "
              "cosine S(x)·T(x); names and single keywords. DR-style objectives aim to replicate T(x); ED regresses "
              "onto the teacher's *English* embedding, so judge it by recall, not agreement.", "",
              "| teacher | objective | gap − teacher: all | dev held-out | held-out | overlap with English − "
              "teacher, all | agreement overlap@10 names / keywords: all | held-out | worst language (keywords) | "
              "cosine (keywords) | R@10 ratio, app gallery, names / keywords: all | held-out |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for c in result["cells"]:
        con, kw, nm = c.get("consistency") or {}, (c.get("agreement") or {}).get("keywords") or {}, \
            (c.get("agreement") or {}).get("names") or {}

        def mean(block: dict, g: str, metric: str, fmt: str = "+.3f") -> str:
            v = block.get(g, {}).get(metric)
            return "–" if v is None else format(v["mean"], fmt)

        lines.append(f"| {c['teacher']} | {c['objective']} | "
                     + " | ".join(mean(con, g, "gap vs reference") for g in ("all", "dev held-out", "held-out"))
                     + f" | {mean(con, 'all', 'en_overlap@10 vs reference')} | "
                     f"{mean(nm, 'all', 'overlap@10', '.2f')} / {mean(kw, 'all', 'overlap@10', '.2f')} | "
                     f"{mean(nm, 'held-out', 'overlap@10', '.2f')} / {mean(kw, 'held-out', 'overlap@10', '.2f')} | "
                     f"{mean(kw, 'all', 'worst_overlap', '.2f')} | {mean(kw, 'all', 'cosine', '.3f')} | "
                     f"{mean(nm, 'all', 'ratio', '.3f')} / {mean(kw, 'all', 'ratio', '.3f')} | "
                     f"{mean(nm, 'held-out', 'ratio', '.3f')} / {mean(kw, 'held-out', 'ratio', '.3f')} |")
    lines += ["", "Teachers (same run):", "", "| teacher | emoji t2i R@10 | VQA photo | VQA flag |",
              "| --- | ---: | ---: | ---: |"]
    for name, tc in result["teachers"].items():
        s = tc["summary"]
        lines.append(f"| {name} | {s.get(HEADLINE_KEY, float('nan')):.3f} | "
                     f"{s.get('vqa_photo_accuracy_mean', float('nan')):.3f} | {s.get('vqa_flag_accuracy_mean', float('nan')):.3f} |")
    lines += ["", speed_line(result.get("speed"))]
    lines += ["", "## Which of the paper's claims hold here", "",
              "A claim **holds** only where the 95% interval of the difference excludes 0 in its favour, **does not "
              "hold** where it excludes 0 against it, and is a **tie** otherwise. VQA intervals cover the training "
              "runs (a paired t interval over seeds, given 3 or more) but not which photos and flags were asked "
              "about, so they are narrower than the truth. The default objective moves only to an objective that is "
              "higher by intervals on one of five axes and lower on none: R@10 ratio on the test images, R@10 ratio on "
              "the app's gallery (names, keywords) and top-10 overlap with the teacher there (names, keywords). The "
              "app's axes are what users meet — every corpus image as the gallery, the words people type, the teacher "
              "and student panels side by side — and their intervals are paired t intervals over seeds (3 or more), "
              "narrower than the truth, so a tie under them is a tie.", ""] + claims(result) + [
        "", "Read these with care: the embedded teachers are small LiT-style models aligned on ~1,500 emoji and flag "
            "concepts, not web-scale CLIP/SigLIP2; VQA rests on 16 photos and the test flags"
            + ("; the small budget trains each student for one short epoch, a quick mode and not the study"
               if result["budget"] == "small" else "")
            + ". The loss definitions are LinguaLens's own where the paper's exact form is unknown (docs/design.md)."]
    return "\n".join(lines) + "\n"


def plot_study(result: dict, path: Path) -> None:
    """Per family: the retrieval ratio by group and objective (top), the retrieval ratio against
    cross-lingual consistency (middle), the paper's two axes in one picture, and what users meet (bottom):
    keyword recall on the app's gallery against agreement with the teacher, the trade-off the default rule reads."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fams = sorted({c["family"] for c in result["cells"]})
    fig, axes = plt.subplots(3, len(fams), figsize=(7 * len(fams), 11.4), squeeze=False)
    shown = ("trained", "dev held-out", "held-out")
    for col, fam in enumerate(fams):
        ax, scatter = axes[0][col], axes[1][col]
        cells = [c for c in result["cells"] if c["family"] == fam]
        x = np.arange(len(cells))
        width = 0.8 / len(shown)
        for k, (g, colour) in enumerate(zip(shown, ("tab:blue", "tab:green", "tab:orange"))):
            vals = [c["ratio"].get(g, {"value": np.nan, "lo": np.nan, "hi": np.nan}) for c in cells]
            v = np.array([e["value"] for e in vals])
            err = np.array([[e["value"] - e["lo"] for e in vals], [e["hi"] - e["value"] for e in vals]])
            ax.bar(x + (k - (len(shown) - 1) / 2) * width, v, width, yerr=err, capsize=2, color=colour,
                   label=f"{g} languages")
        ax.axhline(1.0, color="k", lw=1)
        ax.axhline(CLOSE, color="k", ls="--", lw=1, label=f"{CLOSE} of the teacher")
        ax.set_xticks(x)
        ax.set_xticklabels([c["objective"] for c in cells], fontsize=7)
        top = max([c["ratio"][g]["hi"] for c in cells for g in shown if g in c["ratio"]], default=1.0)
        ax.set_ylim(0, max(1.15, top + 0.05))
        ax.set_ylabel("text→image R@10 ÷ teacher")
        ax.set_title(f"half-size students of {teacher_name(fam)}")
        ax.legend(fontsize=7, loc="lower right")
        for c in cells:
            con = (c.get("consistency") or {}).get("all", {}).get("en_overlap@10 vs reference")
            r = c["ratio"].get("all")
            if con is None or r is None:
                continue
            scatter.errorbar(con["mean"], r["value"], yerr=[[r["value"] - r["lo"]], [r["hi"] - r["value"]]],
                             fmt="o", capsize=3)
            scatter.annotate(c["objective"], (con["mean"], r["value"]), fontsize=7, xytext=(4, 4),
                             textcoords="offset points")
        scatter.axhline(1.0, color="k", lw=0.8)
        scatter.axvline(0.0, color="k", lw=0.8)
        scatter.set_xlabel("consistency: top-10 overlap with the English twin, student − teacher (all languages)")
        scatter.set_ylabel("R@10 ratio, all languages")
        scatter.grid(alpha=0.3)
        users = axes[2][col]
        for c in cells:
            kw = ((c.get("agreement") or {}).get("keywords") or {}).get("all", {})
            if "ratio" not in kw or "overlap@10" not in kw:
                continue
            x_, y_ = kw["overlap@10"]["per_seed"], kw["ratio"]["per_seed"]
            dots = users.scatter(x_, y_, s=12, alpha=0.5)
            users.scatter([np.mean(x_)], [np.mean(y_)], s=50, color=dots.get_facecolor()[0])
            users.annotate(c["objective"], (np.mean(x_), np.mean(y_)), fontsize=7, xytext=(4, 4),
                           textcoords="offset points")
        users.axhline(1.0, color="k", lw=0.8)
        users.set_xlabel("agreement: top-10 overlap with the teacher, keywords, app's gallery (dots: seeds)")
        users.set_ylabel("keyword R@10 ratio, app's gallery")
        users.grid(alpha=0.3)
    save_figure(fig, path)


def evaluation_key(name: str, teacher: str, n_boot: int, languages: tuple[str, ...]) -> str:
    """What a student's measurements depend on: both models' records (which name their weights'
    hashes), the evaluation code and the settings of the three evaluations."""
    import hashlib
    import json

    digest = hashlib.sha256()
    for model in (name, teacher):
        digest.update((zoo_checkpoint(model) / "lingualens.json").read_bytes())
    digest.update(json.dumps({"code": code_fingerprint(("evaluation/*.py",)), "n_boot": n_boot,
                              "languages": list(languages), "kinds": AGREEMENT_KINDS, "groups": GROUPS,
                              "per_language": AGREEMENT_PER_LANGUAGE}, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def read_evaluation(path: Path) -> dict | None:
    """A cached student evaluation, or None when there is none or it cannot be read (then it is redone)."""
    import json

    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return entry if isinstance(entry, dict) and {"row", "samples", "teacher_consistency", "languages"} <= set(entry) \
        else None


def evaluate_student(name: str, teacher: str, teacher_memo, records, keywords, root: Path, n_boot: int) -> dict:
    """The ~100-language retrieval (with its bootstrap draws), consistency and agreement of one student
    beside its teacher: the study's row for it, as JSON."""
    student = load_model(name)
    pair = {name: MemoEncoder(student), teacher: teacher_memo}  # the student first: its languages define "trained"
    rep = evaluate_multilingual(pair, records, root, "test", reference=teacher, n_boot=n_boot, keep_samples=True)
    consistency = evaluate_crosslingual(pair, records, root, "test", reference=teacher, n_boot=n_boot)
    agreement = evaluate_agreement(pair, records, keywords, root, "test", reference=teacher, kinds=AGREEMENT_KINDS,
                                   per_language=AGREEMENT_PER_LANGUAGE, n_boot=n_boot)
    row = {"student": name, "summary": student.info.test_summary,
           "groups": {g: v for g, v in rep["groups"][name].items() if g in GROUPS},
           "consistency": {g: {m: v[m] for m in (*CONSISTENCY, *(f"{c} vs reference" for c in CONSISTENCY))}
                           for g, v in consistency["groups"][name].items()},
           "agreement": {kind: agreement["results"]["app"][kind]["groups"][name]
                         for kind in AGREEMENT_KINDS if kind in agreement["results"]["app"]},
           "params": student.num_parameters()}
    return {"row": row, "languages": len(rep["languages"]),
            "samples": {g: [rep["group_samples"][name][g].tolist(), rep["group_samples"][teacher][g].tolist()]
                        for g in GROUPS if g in rep["group_samples"][name]},
            "teacher_consistency": {g: {m: v[m] for m in CONSISTENCY} for g, v in consistency["groups"][teacher].items()}}


def run_grid(budget: str, families=FAMILIES, objectives=OBJECTIVES, seeds=SEEDS, languages: tuple[str, ...] = (),
             out: Path = Path("results"), progress: bool = True, log=print, n_boot: int = 1000,
             cached_only: bool = False) -> Path:
    """Distil, measure and report every student of the grid; `cached_only` trains nothing and reports the
    students already finished (the report says how many of the planned ones that is), so a grid filled out
    of order — the rows a decision needs first — can be reported at any point."""

    started = time.perf_counter()
    build_default_zoo(families, losses=(), progress=progress, log=log)  # corpus + teachers only
    root = default_corpus_path()
    records = load_corpus(root)
    keywords = load_keywords(root, splits=("train", "val", "test"), exclude_languages=())
    chash = corpus_hash(root)
    schedule = BUDGETS[budget]
    rows, teachers, samples = [], {}, {}
    total = len(families) * len(objectives) * len(seeds)
    n_languages = 0
    for family in families:
        teacher = teacher_name(family)
        tmodel = load_model(teacher)
        teachers[teacher] = {"summary": tmodel.info.test_summary,
                             "params": tmodel.num_parameters()}
        memo = MemoEncoder(tmodel)  # the teacher is encoded once for all its students
        for seed in seeds:  # seeds outermost: a stopped grid still has every objective at the first seeds
            for objective in objectives:
                train_cfg = replace(default_train_config(), epochs=schedule["epochs"], seed=seed)
                cfg = arm_config(objective, teacher, languages, schedule["passes_per_epoch"])
                # each default student (DR with the agreement terms, ED) *is* the study's row for its
                # objective at seed 0 under the default budget: same recipe, schedule and seed, so it is
                # reused, not trained twice
                is_default = cfg.loss in DEFAULT_LOSSES and asdict(train_cfg) == asdict(default_train_config()) \
                    and asdict(cfg) == asdict(DistillConfig(teacher=teacher, loss=cfg.loss))
                tag = "-agreement" if objective.endswith(AGREEMENT) else ""
                name = student_name(cfg) if is_default else f"study-{budget}-{student_name(cfg)}{tag}-s{seed}"
                config = asdict(cfg) if is_default else asdict(replace(cfg, name=name))
                t0 = time.perf_counter()
                # reused only when everything that defines the run matches: corpus, teacher version, recipe,
                # objective, schedule and seed, and the loss code; anything else is rebuilt (and resumes)
                if not is_current(name, chash, teacher, log=log, config=config, train=asdict(train_cfg),
                                  loss_code=loss_code_version()):
                    if cached_only:
                        log(f"not finished, left out: {name}")
                        continue
                    log(f"[{len(rows) + 1}/{total}] distilling {name} …")
                    run(DistillConfig(**config), train_cfg, progress=progress)
                # a resumed study reuses each finished student's measurements too, not only its weights
                cache = cache_dir() / "study" / f"{name}-{evaluation_key(name, teacher, n_boot, languages)}.json"
                entry = read_evaluation(cache)
                if entry is None:
                    entry = evaluate_student(name, teacher, memo, records, keywords, root, n_boot)
                    entry["row"].update(teacher=teacher, family=family, objective=objective, seed=seed,
                                        seconds=round(time.perf_counter() - t0, 1))
                    atomic_write_json(cache, entry, compact=True)
                teachers[teacher].setdefault("consistency", entry["teacher_consistency"])
                n_languages = entry["languages"]
                samples[(family, objective, seed)] = {g: (np.asarray(s), np.asarray(t))
                                                      for g, (s, t) in entry["samples"].items()}
                rows.append({**entry["row"], "teacher": teacher, "family": family, "objective": objective,
                             "seed": seed})
                # written after every student: a long grid that is stopped still leaves what it measured
                write_study(out, rows, samples, teachers, budget, schedule, seeds, total, started, n_languages,
                            families, objectives)
        del tmodel, memo
    return out / "study.md"


def write_study(out: Path, rows: list[dict], samples: dict, teachers: dict, budget: str, schedule: dict, seeds,
                total: int, started: float, n_languages: int, families=FAMILIES, objectives=OBJECTIVES) -> None:
    cells, contrasts = summarise(rows, samples)
    result = {"budget": budget, "schedule": schedule, "seeds": list(seeds), "families": list(families),
              "objectives": list(objectives), "machine": machine(),
              "seconds": round(time.perf_counter() - started, 1), "languages": n_languages,
              "students_done": len(rows), "students_planned": total, "speed": speed_facts(),
              "teachers": teachers, "rows": rows, "cells": cells, "contrasts": contrasts,
              "provenance": provenance("study")}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "study.json", result)
    render(result, out)


def render(result: dict, out: Path) -> None:
    """study.md and study.png from a study's result; `--replot` calls it on results/study.json, so a
    change of presentation needs no student retrained or re-measured."""
    atomic_write_text(out / "study.md", study_markdown(result))
    plot_study(result, out / "study.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.study", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", choices=list(BUDGETS), default="full",
                        help="full: the default schedule (the study); small: 1 epoch of 2 passes, a quick mode only")
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--objectives", nargs="+", default=list(OBJECTIVES),
                        help=f"losses alone (the paper's formulations), or LOSS{AGREEMENT} with the default recipe's "
                             "agreement terms")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--replot", action="store_true",
                        help="rewrite study.md and study.png from OUT/study.json, measuring nothing")
    parser.add_argument("--cached-only", action="store_true",
                        help="train nothing: report the students of the grid that are already finished")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.replot:
        import json

        try:
            result = json.loads((args.out / "study.json").read_text())
        except (OSError, ValueError) as err:
            parser.error(f"--replot needs {args.out / 'study.json'}: {err}")
        render(result, args.out)
        print((args.out / "study.md").read_text())
        return 0
    for objective in args.objectives:
        try:
            parse_weights(objective.removesuffix(AGREEMENT))
        except ValueError as err:
            parser.error(f"--objectives {objective!r}: {err}")
    path = run_grid(args.budget, args.families, args.objectives, seeds=args.seeds, out=args.out,
                    progress=not args.no_progress, n_boot=args.bootstrap, cached_only=args.cached_only)
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
