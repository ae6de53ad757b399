"""python -m corpus.to_clip_benchmark --split test --languages th sw es --out DIR

The corpus in LAION CLIP_benchmark's retrieval WebDataset layout, one dataset per language
(`DIR/<lang>/dataset_type.txt`, `DIR/<lang>/<split>/nshards.txt`, `DIR/<lang>/<split>/0.tar` …;
each sample a PNG and a `.txt` with that language's captions of the image, one per line — what
`clip_benchmark_export_wds` writes). Any model CLIP_benchmark knows can then be scored on the
held-out emoji and flags in ~100 languages, beside LinguaLens students:

    clip_benchmark eval --dataset wds/lingualens-th --dataset_root DIR/th --task zeroshot_retrieval …

Only images with at least one caption in the language are samples: CLIP_benchmark's gallery is
its samples, and an image without a caption would count as a miss for image→text.
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

from core.io import atomic_dir
from core.records import Record

from .corpus import default_corpus_path, load_corpus

IMAGE_KINDS = ("emoji", "flag")


def captions_by_image(records: list[Record], split: str, language: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for r in records:
        if r.split == split and r.language == language and r.kind in IMAGE_KINDS and r.caption not in out[r.image]:
            out[r.image].append(r.caption)
    return {image: caps for image, caps in sorted(out.items()) if caps}


def write_dataset(root: Path, samples: dict[str, list[str]], out: Path, split: str = "test",
                  max_per_shard: int = 10_000) -> int:
    """One language's dataset at `out`, written whole or not at all; returns the sample count."""
    import webdataset as wds

    if not samples:
        raise ValueError(f"no {split} image has a caption for {out.name}")
    with atomic_dir(out) as tmp:
        (tmp / split).mkdir(parents=True)
        (tmp / "dataset_type.txt").write_text("retrieval\n")
        with wds.ShardWriter(str(tmp / split / "%d.tar"), maxcount=max_per_shard, verbose=0) as sink:
            for i, (image, captions) in enumerate(samples.items()):
                sink.write({"__key__": f"s{i:07d}", "png": (root / image).read_bytes(),
                            "txt": "\n".join(c.replace("\n", " ") for c in captions)})
            shards = sink.shard
        (tmp / split / "nshards.txt").write_text(f"{shards}\n")
    return len(samples)


def export(out: Path, languages: list[str] | None = None, split: str = "test", corpus: Path | None = None,
           max_per_shard: int = 10_000) -> dict[str, int]:
    root = Path(corpus) if corpus else default_corpus_path()
    records = load_corpus(root)
    available = sorted({r.language for r in records if r.split == split and r.kind in IMAGE_KINDS})
    unknown = sorted(set(languages or []) - set(available))
    if unknown:
        raise ValueError(f"no {split} captions in {', '.join(unknown)}; the corpus has {len(available)} languages: "
                         + " ".join(available))
    counts = {}
    for lang in languages or available:
        counts[lang] = write_dataset(root, captions_by_image(records, split, lang), Path(out) / lang, split, max_per_shard)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m corpus.to_clip_benchmark", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--languages", nargs="+", default=None, help="default: every language with captions in the split")
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--corpus", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        counts = export(args.out, args.languages, args.split, args.corpus)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for lang, n in counts.items():
        print(f"{args.out / lang}: {n} images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
