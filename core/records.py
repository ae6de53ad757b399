"""The one record type every corpus (embedded or user-supplied) is reduced to, and its manifest.

One row is one caption of one image. A concept groups the images and captions that mean the
same thing (an emoji, a flag, a photo); splits are assigned per concept so that no concept's
image or caption is ever seen in two splits.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Iterable

from core.io import atomic_write_text

SPLITS = ("train", "val", "test", "ood")
KINDS = ("emoji", "flag", "photo", "user", "text")  # "text": distillation-only, no image


@dataclass(frozen=True)
class Record:
    image: str  # path relative to the manifest's directory, or absolute for user data
    concept: str  # e.g. "emoji:1F431", "flag:FR", "photo:cat"
    kind: str  # one of KINDS
    language: str  # normalised code (see languages.py)
    caption: str
    split: str = "train"
    source: str = ""  # where the caption came from: emoji, cldr, lingualens, user, xm3600


MANIFEST_FIELDS = tuple(f.name for f in fields(Record))


def write_manifest(path: Path | str, records: Iterable[Record]) -> int:
    """JSONL, one record a line, in a stable order so rebuilds are byte-identical."""
    rows = sorted(records, key=lambda r: (r.kind, r.concept, r.language, r.caption, r.image))
    text = "".join(json.dumps(asdict(r), ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    atomic_write_text(path, text)
    return len(rows)


def read_manifest(path: Path | str) -> list[Record]:
    path = Path(path)
    records = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                records.append(Record(**{k: obj[k] for k in MANIFEST_FIELDS if k in obj}))
            except (json.JSONDecodeError, TypeError, KeyError) as exc:
                raise ValueError(f"{path}:{lineno}: not a manifest record ({exc})") from exc
    return records


def by_concept(records: Iterable[Record]) -> dict[str, list[Record]]:
    """Rows grouped by concept, concepts in sorted order (a stable batching order for training)."""
    groups: dict[str, list[Record]] = {}
    for r in records:
        groups.setdefault(r.concept, []).append(r)
    return dict(sorted(groups.items()))
