"""python -m training.evaluate --model NAME [--compare OTHER] --split test

Encodes the split with the real model (not cached features), runs the whole suite, measures
cost, and writes report.json, report.md and per-language plots. With --compare, the second
model is shown beside the first with ratios to it (student vs teacher: pass the teacher as
--compare and read "student / teacher" by putting the teacher first with --teacher-first).
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from zoo.paths import lingualens_home

from .data.corpus import default_corpus_path, load_corpus
from .evaluation.cost import measure_cost
from .evaluation.report import write_report
from .evaluation.suite import evaluate


def default_out(name: str, split: str, other: str | None) -> Path:
    from zoo.checkpoint import is_checkpoint
    from zoo.registry import zoo_checkpoint

    tail = split if not other else f"{split}-vs-{re.sub(r'[^A-Za-z0-9._-]+', '_', other)}"
    try:
        ckpt = zoo_checkpoint(name)
        if is_checkpoint(ckpt):
            return ckpt / "reports" / tail
    except ValueError:
        pass
    return lingualens_home() / "reports" / re.sub(r"[^A-Za-z0-9._-]+", "_", name) / tail


def run(models: list[str], split: str, corpus: Path | None, languages: list[str] | None,
        with_cost: bool, out: Path | None) -> Path:
    from zoo import load_model

    root = Path(corpus) if corpus else default_corpus_path()
    records = load_corpus(root)
    reports = {}
    for ref in models:
        start = time.perf_counter()
        model = load_model(ref)
        name = getattr(model, "name", "") or ref
        rep = evaluate(model, records, root, split, languages=languages)
        if with_cost:
            photos = sorted({str(root / r.image) for r in records if r.kind == "photo"})[:4]
            rep["cost"] = measure_cost(model, photos)
        rep["seconds"] = round(time.perf_counter() - start, 1)
        reports[name] = rep
        del model
    names = list(reports)
    out = out or default_out(names[0], split, names[1] if len(names) > 1 else None)
    title = f"{names[0]} on the {split} split" + (f", compared with {', '.join(names[1:])}" if len(names) > 1 else "")
    write_report(out, reports, title)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="zoo name, registered name or path")
    parser.add_argument("--compare", action="append", default=[], help="another model to show beside it (repeatable)")
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--languages", nargs="+", default=None, help="only these languages (default: all)")
    parser.add_argument("--no-cost", action="store_true", help="skip latency measurements")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        out = run([args.model, *args.compare], args.split, args.corpus, args.languages, not args.no_cost, args.out)
    except (KeyError, ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print((out / "report.md").read_text().split("## emoji retrieval")[0])
    print(f"report written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
