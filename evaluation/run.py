"""python -m evaluation --model STUDENT [--compare TEACHER] --split test

Encodes the split with the real models (not cached features) and writes three reports:

- `multilingual.{md,json,png}`: text→image and image→text in every language of the corpus
  (~100) against one gallery of every test image, 95% bootstrap intervals over concepts, the
  ratio `model ÷ first --compare model` per language with a paired interval, summaries by
  language group (trained / held out / untrained / outside XLM-R) and script, the ten worst
  languages, and tokenization parity with the reference;
- `agreement.{md,json}` (with --compare): names, keywords and phrases ranked against the app's
  gallery (every corpus image) and the split's images, recall and the ratio per language and
  group, and how far the two models agree — top-10 overlap of their result lists and the cosine
  of their text embeddings (`evaluation/agreement.py`);
- `report.{md,json}` + plots: the rest of the suite (per-kind retrieval, cross-lingual
  consistency, VQA on photos and flags, cost), where other models' ratios are to the first.

Each distinct text and image is encoded once per model and shared by both reports.

With `--dataset DIR` it evaluates a public benchmark instead of the corpus: a CLIP_benchmark
retrieval WebDataset (XTD10, Flickr30k-200, multilingual MS-COCO as LAION publishes them) or an
XM3600 folder (`--dataset-language th`), scored with CLIP_benchmark's recall definition so the
numbers sit beside its tables (`evaluation/external.py`), with 95% intervals over images.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

from core.io import atomic_write_json, atomic_write_text
from core.paths import lingualens_home, zoo_checkpoint
from corpus.corpus import KEYWORDS_FILE, default_corpus_path, load_corpus, load_keywords
from zoo import load_model
from zoo.checkpoint import is_checkpoint

from .agreement import evaluate_agreement
from .agreement_report import agreement_markdown
from .cost import measure_cost
from .external import evaluate_dataset, recall_keys
from .multilingual import evaluate_multilingual
from .multilingual_report import write_multilingual
from .report import write_report
from .suite import evaluate


class MemoEncoder:
    """A model whose text and image embeddings are computed once per distinct input: the
    multilingual evaluation and the suite ask for the same ~40k captions."""

    def __init__(self, model):
        self.model, self._text, self._image = model, {}, {}

    def __getattr__(self, name):  # meta, text (tokenizer), name, … come from the model
        return getattr(self.model, name)

    def _lookup(self, cache: dict, items: list, encode) -> np.ndarray:
        keys = [str(i) for i in items]
        missing = sorted({k for k in keys if k not in cache})
        if missing:
            cache.update(zip(missing, encode(missing)))
        if not keys:
            return encode([])
        return np.stack([cache[k] for k in keys])

    def encode_text(self, texts: list[str], **kwargs) -> np.ndarray:
        return self._lookup(self._text, list(texts), self.model.encode_text)

    def encode_image(self, images: list, **kwargs) -> np.ndarray:
        return self._lookup(self._image, list(images), self.model.encode_image)


def default_out(name: str, split: str, other: str | None) -> Path:
    tail = split if not other else f"{split}-vs-{re.sub(r'[^A-Za-z0-9._-]+', '_', other)}"
    try:
        ckpt = zoo_checkpoint(name)
        if is_checkpoint(ckpt):
            return ckpt / "reports" / tail
    except ValueError:
        pass
    return lingualens_home() / "reports" / re.sub(r"[^A-Za-z0-9._-]+", "_", name) / tail


def run(models: list[str], split: str, corpus: Path | None, languages: list[str] | None,
        with_cost: bool, out: Path | None, n_boot: int = 1000, progress: bool = True, with_agreement: bool = True) -> Path:
    root = Path(corpus) if corpus else default_corpus_path()
    records = load_corpus(root)
    loaded: dict[str, MemoEncoder] = {}
    for ref in models:
        model = load_model(ref)
        name = getattr(model, "name", "") or ref
        if name in loaded:
            raise ValueError(f"model {name!r} given twice")
        loaded[name] = MemoEncoder(model)
    names = list(loaded)
    start = time.perf_counter()
    multilingual = evaluate_multilingual(loaded, records, root, split, reference=names[1] if len(names) > 1 else None,
                                         languages=languages, n_boot=n_boot, progress=progress)
    multilingual["seconds"] = round(time.perf_counter() - start, 1)
    reports = {}
    for name, model in loaded.items():
        start = time.perf_counter()
        rep = evaluate(model, records, root, split, languages=languages)
        if with_cost:
            photos = sorted({str(root / r.image) for r in records if r.kind == "photo"})[:4]
            rep["cost"] = measure_cost(model.model, photos)
        rep["seconds"] = round(time.perf_counter() - start, 1)
        reports[name] = rep
    out = out or default_out(names[0], split, names[1] if len(names) > 1 else None)
    title = f"{names[0]} on the {split} split" + (f", compared with {', '.join(names[1:])}" if len(names) > 1 else "")
    write_report(out, reports, title)
    write_multilingual(out, multilingual, f"{title}: every language")
    if with_agreement and len(names) > 1 and (root / KEYWORDS_FILE).is_file():
        start = time.perf_counter()
        keywords = load_keywords(root, splits=("train", "val", "test"), exclude_languages=())
        agreement = evaluate_agreement(loaded, records, keywords, root, split, reference=names[1], languages=languages,
                                       n_boot=n_boot, progress=progress)
        agreement["seconds"] = round(time.perf_counter() - start, 1)
        atomic_write_json(out / "agreement.json", agreement)
        atomic_write_text(out / "agreement.md", "\n".join(
            [f"# {names[0]} beside {names[1]}: what people type, on the app's gallery", "",
             *agreement_markdown(agreement, names[0])]) + "\n")
    return out


def run_dataset(models: list[str], dataset: Path, language: str | None, split: str, ks: list[int],
                out: Path | None, n_boot: int = 1000) -> tuple[Path, str]:
    """Every model on one CLIP_benchmark-format dataset: `external.{json,md}` in `out`."""
    results = {}
    for ref in models:
        model = load_model(ref)
        name = getattr(model, "name", "") or ref
        results[name] = evaluate_dataset(model, dataset, language, split, ks, n_boot)
    first = next(iter(results.values()))
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{Path(dataset).name}-{language or split}")
    out = out or lingualens_home() / "reports" / "external" / slug
    keys = recall_keys(ks)
    lines = [f"# {Path(dataset).name} ({first['format']}, {language or split}): {first['images']} images, "
             f"{first['captions']} captions", "",
             "CLIP_benchmark's definitions: image_retrieval = text→image, text_retrieval = image→text; "
             "95% bootstrap intervals over images.", "",
             "| model | " + " | ".join(keys) + " |", "| --- |" + " ---: |" * len(keys)]
    for name, r in results.items():
        cells = [f"{r[k]:.3f} [{r[k + '_interval'][0]:.3f}, {r[k + '_interval'][1]:.3f}]" for k in keys]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "external.json", json.dumps(results, indent=2, ensure_ascii=False))
    atomic_write_text(out / "external.md", text)
    return out, text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="zoo name, registered name or path")
    parser.add_argument("--compare", action="append", default=[], help="another model to show beside it (repeatable)")
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--languages", nargs="+", default=None, help="only these languages (default: all)")
    parser.add_argument("--no-cost", action="store_true", help="skip latency measurements")
    parser.add_argument("--no-agreement", action="store_true",
                        help="skip the agreement report (names, keywords, phrases on the app gallery; needs --compare)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the intervals")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--dataset", type=Path, default=None,
                        help="a CLIP_benchmark retrieval WebDataset or an XM3600 folder, instead of the corpus")
    parser.add_argument("--dataset-language", default=None, help="XM3600: which language's captions")
    parser.add_argument("--dataset-split", default="test", help="WebDataset: which split folder (default test)")
    parser.add_argument("--recall-k", type=int, nargs="+", default=[1, 5, 10])
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.dataset is not None:
        try:
            out, text = run_dataset([args.model, *args.compare], args.dataset, args.dataset_language,
                                    args.dataset_split, args.recall_k, args.out, n_boot=args.bootstrap)
        except (KeyError, ValueError, FileNotFoundError, RuntimeError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(text)
        print(f"evaluated in {time.perf_counter() - start:.0f} s; written to {out}")
        return 0
    try:
        out = run([args.model, *args.compare], args.split, args.corpus, args.languages, not args.no_cost, args.out,
                  n_boot=args.bootstrap, with_agreement=not args.no_agreement)
    except (KeyError, ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print((out / "multilingual.md").read_text().split("## Per language")[0])
    print(f"evaluated in {time.perf_counter() - start:.0f} s")
    print(f"report written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
