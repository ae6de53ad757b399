"""Which corpus rows a model may train on: the one place that keeps held-out languages out.

Every training path — teacher heads, the student's vocabulary, distillation batches, the teacher
cache that feeds them — starts from `training_view`, so a held-out language's captions never
reach a training input, and its scores measure what a model does where it was never distilled.
Evaluation reads the whole corpus instead (`training.evaluation.multilingual`).

The default sources are the `emoji`-package names (14 languages) and the CLDR territory names of
flags: the first-start cost of aligning a teacher and distilling a student stays what it was. The
CLDR annotation names in ~100 languages are evaluation queries by default and training text on
request (`--train-sources emoji cldr cldr-name`).
"""
from __future__ import annotations

from typing import Iterable

from .languages import HELD_OUT_LANGUAGES
from .records import Record

DEFAULT_TRAIN_SOURCES: tuple[str, ...] = ("emoji", "cldr")
# Photos (source "lingualens", split "ood") are never trained on, but the suite's VQA reads them.
ALWAYS_KEPT_SOURCES = ("lingualens",)


def training_view(records: Iterable[Record], sources: Iterable[str] = DEFAULT_TRAIN_SOURCES,
                  languages: Iterable[str] = (), held_out: Iterable[str] = HELD_OUT_LANGUAGES) -> list[Record]:
    """Rows of the given caption sources, without any held-out language (in every split, so
    neither training, selection nor a training-time report ever reads them); optionally only
    `languages` (English always kept: it is the anchor of ED and MCL)."""
    held = set(held_out)
    keep_sources = set(sources) | set(ALWAYS_KEPT_SOURCES)
    wanted = set(languages) | {"en"} if languages else None
    bad = held & (wanted or set())
    if bad:
        raise ValueError(f"held-out languages cannot be trained on: {', '.join(sorted(bad))}")
    return [r for r in records if r.source in keep_sources and r.language not in held
            and (wanted is None or r.language in wanted)]


def training_texts(records: Iterable[Record]) -> list[str]:
    """The distinct train-split captions: the only text a vocabulary or a training cache may see."""
    return sorted({r.caption for r in records if r.split == "train" and r.kind != "photo"})
