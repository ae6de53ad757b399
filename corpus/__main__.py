"""python -m corpus build|card — build the embedded corpus, or print its data card."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .corpus import CorpusConfig, build_corpus, default_corpus_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m corpus", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="render and caption the embedded corpus (deterministic)")
    b.add_argument("--out", type=Path, default=None, help="default: $LINGUALENS_HOME/corpus/embedded-v2")
    b.add_argument("--seed", type=int, default=CorpusConfig.seed)
    b.add_argument("--image-size", type=int, default=CorpusConfig.image_size)
    b.add_argument("--limit", type=int, default=None, help="only N emoji + N flags (quick trials)")
    b.add_argument("--cldr-extract", default="", help="CLDR annotations extract (default: the shipped one)")
    c = sub.add_parser("card", help="print the data card of a built corpus")
    c.add_argument("--path", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.command == "build":
        start = time.perf_counter()
        try:
            out = build_corpus(args.out, CorpusConfig(args.seed, args.image_size, args.limit, args.cldr_extract))
        except (PermissionError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print((out / "DATA_CARD.md").read_text())
        print(f"corpus written to {out} in {time.perf_counter() - start:.1f} s")
        return 0
    path = args.path or default_corpus_path()
    card = path / "DATA_CARD.md"
    if not card.is_file():
        print(f"error: no corpus at {path}; run `python -m corpus build`", file=sys.stderr)
        return 2
    print(card.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
