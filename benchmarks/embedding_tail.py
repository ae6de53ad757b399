"""python -m benchmarks.embedding_tail [--teacher T] [--ranks 32 64 96 128 160] [--split val]
python -m benchmarks.embedding_tail --fills script:1000 script:0 used --out vocabulary_dev


How much does the vocabulary alone cost, and which way of spending a student's embedding budget
loses least? Each variant is the teacher with all its layers and its word embedding replaced by
what a `half` student would get — a trimmed vocabulary (rank 0: full rows only, other pieces
re-segmented) or every piece with full rows for the first K and a rank-r tail for the rest, K
chosen so both spend the same parameters. Scored on the ~100-language evaluation against the
untouched teacher with paired 95% bootstrap intervals. The choice is read off the non-held-out
groups (`trained`, `untrained`); held-out languages are shown, never used to choose.
Writes results/embedding_tail.{md,json} (`_quarter` for the quarter recipe).

With `--fills`, the variants are instead the ways of choosing which pieces get full rows at the
recipe's own tail rank — `script:N` (every script's N most probable pieces first, then the pieces
the training text uses, then round robin), `used` (the used pieces only) — and the choice is the
one an unseen language needs: the best mean ratio over the *dev* held-out languages on val
(`choose_fill`), a difference under 0.01 keeping the recipe's own fill. The test held-out group is
shown and never read.
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from dataclasses import replace

from core.constants import teacher_name
from core.languages import choosable_languages
from corpus.corpus import default_corpus_path, load_corpus
from evaluation.multilingual import GROUPS, HEADLINE, evaluate_multilingual
from evaluation.multilingual_report import fmt_ci, verdict
from evaluation.run import MemoEncoder
from training.distill.config import DistillConfig
from training.distill.data import load_records
from training.selection import training_texts
from training.students import RECIPES, build_student, vocabulary_texts
from zoo import load_model
from zoo.dual_encoder import DualEncoder
from zoo.text_tower import HFTextTower

from .common import machine, table, write_results


def embedding_variant(teacher, student_text):
    """The teacher with the student's tokenizer and word embedding, every layer kept."""
    t = teacher.text
    backbone = copy.deepcopy(t.backbone)
    backbone.embeddings.word_embeddings = student_text.backbone.embeddings.word_embeddings
    backbone.config.vocab_size = int(student_text.backbone.config.vocab_size)
    tower = HFTextTower(backbone, student_text.tokenizer, pooling=t.pooling, prefix=t.prefix,
                        max_length=t.max_length, padding=t.padding, projection=t.projection)
    return DualEncoder(tower, teacher.image, family=teacher.family, logit_scale=float(teacher.logit_scale.detach()),
                       logit_bias=None if teacher.logit_bias is None else float(teacher.logit_bias.detach()))


FILL_TIE = 0.01


def fill_recipe(recipe, spec: str):
    """`script:N` or `used` -> the recipe with that vocabulary fill."""
    if spec == "used":
        return replace(recipe, vocab_fill="")
    kind, _, floor = spec.partition(":")
    if kind != "script" or not floor.isdigit():
        raise ValueError(f"unknown fill {spec!r}; use script:N or used")
    return replace(recipe, vocab_fill="script", script_floor=int(floor))


def fill_spec(recipe) -> str:
    return f"script:{recipe.script_floor}" if recipe.vocab_fill == "script" else "used"


def choose_fill(rep: dict, names: list[str], default: str) -> tuple[str, dict[str, float]]:
    """The variant with the best mean per-language ratio over the dev held-out languages (read
    through `choosable_languages`, so the test group cannot count); within FILL_TIE of the recipe's
    own fill, the recipe's own fill stays."""
    dev = [lang for lang in choosable_languages(sorted(rep["languages"])) if rep["languages"][lang]["group"] == "dev held-out"]
    if not dev:
        raise ValueError("no dev held-out language in the report: the fill choice needs them (val split)")
    scores = {n: sum(rep["ratios"][n][lang]["value"] for lang in dev) / len(dev) for n in names}
    best = max(names, key=lambda n: scores[n])
    return (default if scores[best] - scores[default] < FILL_TIE else best), scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.embedding_tail", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", default=teacher_name("clip"))
    parser.add_argument("--recipe", default="half")
    parser.add_argument("--ranks", type=int, nargs="+", default=[0, 32, 64, 96, 128, 160])
    parser.add_argument("--split", default="val", choices=["val", "test"])
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--fills", nargs="+", default=[],
                        help="compare vocabulary fills at the recipe's tail rank instead of ranks: script:N | used")
    parser.add_argument("--out", default="", help="results/<out>.{md,json} (default: embedding_tail[_<recipe>])")
    args = parser.parse_args(argv)
    out = args.out or ("embedding_tail" if args.recipe == "half" else f"embedding_tail_{args.recipe}")

    start = time.perf_counter()
    teacher = load_model(args.teacher)
    records, _, _ = load_records(DistillConfig(teacher=args.teacher), progress=False)  # exactly what a student sees
    vocab_src = vocabulary_texts({r.language for r in records if r.split == "train"},
                                 RECIPES[args.recipe].vocab_words, training_texts(records))
    models, facts = {args.teacher: MemoEncoder(teacher)}, {}
    variants = ([(fill, fill_recipe(RECIPES[args.recipe], fill)) for fill in args.fills] if args.fills else
                [(f"rank {rank}" if rank else "trimmed", replace(RECIPES[args.recipe], tail_rank=rank)) for rank in args.ranks])
    for name, recipe in variants:
        student_text, report = build_student(teacher.text, recipe, vocab_src, embed_dim=teacher.embed_dim)
        models[name] = MemoEncoder(embedding_variant(teacher, student_text))
        facts[name] = {k: report[k] for k in ("full_rows", "tail_rows", "tail_rank", "vocab_kept", "text_fraction")}
        facts[name]["embedding_params"] = sum(p.numel() for p in student_text.backbone.embeddings.word_embeddings.parameters())
        print(f"{name}: {facts[name]}", flush=True)
    root = default_corpus_path()
    rep = evaluate_multilingual(models, load_corpus(root), root, args.split, reference=args.teacher,
                                n_boot=args.bootstrap, progress=True)
    rows = []
    for name, f in facts.items():
        groups = rep["groups"][name]
        worst = min(rep["ratios"][name].items(), key=lambda kv: kv[1]["value"])
        rows.append([name, f"{f['embedding_params'] / 1e6:.1f}M", f"{f['full_rows']:,}",
                     f"{f['tail_rows']:,}" if f["tail_rows"] else "– (re-segmented)"]
                    + [f"{fmt_ci(groups[g]['ratio'], 3)} {verdict(groups[g]['ratio'])}" if g in groups else "–"
                       for g in (*GROUPS, "all")]
                    + [f"{worst[0]} {worst[1]['value']:.2f}"])
    how = f"--fills {' '.join(args.fills)}" if args.fills else f"--ranks {' '.join(map(str, args.ranks))}"
    lines = [f"# Spending the `{args.recipe}` student's embedding budget ({args.split} split)", "",
             f"Reproduce: `python -m benchmarks.embedding_tail --teacher {args.teacher} --recipe {args.recipe} "
             f"{how} --split {args.split}{' --out ' + args.out if args.out else ''}` "
             f"({time.perf_counter() - start:.0f} s on {machine()['cores']} cores).", "",
             f"Each row is `{args.teacher}` with **all its layers** and the word embedding a `{args.recipe}` student "
             "would get, so the table isolates what the vocabulary costs. Text→image "
             f"{HEADLINE} ÷ the untouched teacher per language group ({len(rep['languages'])} languages, "
             f"{rep['queries']:,} queries, gallery {rep['gallery_size']}), paired 95% bootstrap over "
             f"{rep['concepts']} concepts. Same parameter count in every row. *Trimmed* keeps full rows "
             "only and re-segments every other piece; *rank r* keeps every piece, the first ones as full "
             "rows and the rest as a rank-r reconstruction of the teacher's rows.", "",
             *table(["embedding", "params", "full rows", "tail rows", *GROUPS, "all", "worst"], rows), "",
             "The choice is made on the `trained` and `untrained` groups; held-out languages are evaluated, "
             "never used to choose."]
    chosen = None
    if args.fills:
        default = fill_spec(RECIPES[args.recipe])
        if default not in facts:
            raise SystemExit(f"error: --fills must include the recipe's own fill ({default}) to compare with")
        chosen, scores = choose_fill(rep, list(facts), default)
        lines[-1] = (f"Choice (val, dev held-out languages only, a difference under {FILL_TIE} keeps the recipe's own "
                     f"`{default}`): mean ratio " + ", ".join(f"`{n}` {v:.3f}" for n, v in scores.items())
                     + f" → **`{chosen}`**. The test held-out group is shown, never read.")
    write_results(out, {"machine": machine(), "facts": facts, "report": rep, "chosen": chosen}, "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
