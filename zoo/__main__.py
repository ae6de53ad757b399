"""python -m zoo list | info NAME | pull NAME --repo ID | push NAME --repo ID"""
from __future__ import annotations

import argparse
import sys

from core.paths import zoo_checkpoint

from . import publish
from .checkpoint import CheckpointError, is_checkpoint, read_config
from .factory import local_zoo_names, registered, status
from .hub import HubUnavailableError
from .info import ModelInfo


def _fmt(n: int | None) -> str:
    return "?" if n is None else f"{n / 1e6:.1f}M"


def cmd_list() -> int:
    """Sizes come from the checkpoint when a model is built (what is really there), otherwise from
    the registry's skeleton or the publisher's figures, and "?" where neither exists."""
    specs = registered()
    rows = [("name", "family", "role", "source", "text", "image", "languages", "status")]
    for spec in specs.values():
        ckpt = zoo_checkpoint(spec.name)
        sizes = read_config(ckpt).get("parameters", {}) if is_checkpoint(ckpt) else (spec.sizes() if spec.sizes else {})
        rows.append((spec.name, spec.family, spec.role, spec.source, _fmt(sizes.get("text")),
                     _fmt(sizes.get("image")), spec.languages, status(spec)))
    for name in local_zoo_names():
        if name in specs:
            continue
        cfg = read_config(zoo_checkpoint(name))
        info, params = ModelInfo.from_dict(cfg.get("meta")), cfg.get("parameters", {})
        rows.append((name, cfg["family"], info.role or "student", "zoo", _fmt(params.get("text")),
                     _fmt(params.get("image")), str(len(info.languages) or "?"), "ready"))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zoo", description="LinguaLens model zoo")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every registered and locally built model with its status")
    info = sub.add_parser("info", help="print a zoo model's card")
    info.add_argument("name")
    for verb in ("pull", "push"):
        p = sub.add_parser(verb, help=f"{verb} a checkpoint from/to the Hugging Face Hub (needs network)")
        p.add_argument("name")
        p.add_argument("--repo", required=True, help="Hub repo id, e.g. you/lingualens-student")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            return cmd_list()
        if args.command == "info":
            card = zoo_checkpoint(args.name) / "README.md"
            if not card.is_file():
                print(f"error: no zoo checkpoint named {args.name!r}", file=sys.stderr)
                return 2
            print(card.read_text())
            return 0
        if args.command == "pull":
            print(f"pulled into {publish.pull(args.name, args.repo)}")
        else:
            print(f"pushed: {publish.push(args.name, args.repo)}")
        return 0
    except (HubUnavailableError, CheckpointError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
