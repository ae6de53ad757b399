"""Which corpus rows a model may train on: the one place that keeps held-out languages out.

Every training path — teacher heads, the student's vocabulary, distillation batches, the teacher
cache that feeds them — starts from `training_view`, so a held-out language's captions never
reach a training input, and its scores measure what a model does where it was never distilled.
Evaluation reads the whole corpus instead (`evaluation.multilingual`).

Teacher heads train on the `emoji`-package names (14 languages) and the CLDR territory names of
flags. Students also distill on the train-split CLDR annotation names of every non-held-out
language, up to a text budget (`DEFAULT_TEXT_BUDGET` distinct captions, English anchors always in).
"""
from __future__ import annotations

from typing import Iterable

from core.languages import HELD_OUT_LANGUAGES
from core.records import Record

DEFAULT_TRAIN_SOURCES: tuple[str, ...] = ("emoji", "cldr")
# Students distill on the CLDR emoji names of every non-held-out language too, capped at a text
# budget that keeps the first start of the app within minutes (measured in results/vocabulary.md).
# CLDR display names (`cldr-display`, text with no image) are opt-in: on the validation split they
# tied with the default while doubling the concepts an epoch visits (results/text_sources.md).
# wordfreq's frequent words (`wordfreq`, self-anchored text) are opt-in for the same reason.
# Train-split CLDR keywords (`cldr-keyword`, self-anchored text) join them: with the agreement
# terms they raised the student's top-10 overlap with its teacher on the app's gallery on val
# (results/agreement_val.md).
DEFAULT_DISTILL_SOURCES: tuple[str, ...] = ("emoji", "cldr", "cldr-name", "cldr-keyword")
DEFAULT_TEXT_BUDGET = 50_000
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


def cap_training_text(records: list[Record], budget: int, seed: int = 0, log=print) -> list[Record]:
    """At most `budget` distinct train-split captions: English anchors always stay (ED and MCL
    need them), the rest is a seeded random subset of (concept, language) rows; val, test and
    photo rows are untouched. A budget above what exists is capped, and says so."""
    if budget <= 0:
        return records
    import numpy as np

    train = [r for r in records if r.split == "train" and r.kind != "photo"]
    available = len({r.caption for r in train})
    if budget >= available:
        log(f"text budget {budget:,} is more than the {available:,} training captions there are: using all of them")
        return records
    english = {r.caption for r in train if r.language == "en"}
    if len(english) > budget:
        raise ValueError(f"text budget {budget:,} is below the {len(english):,} English anchor captions training needs")
    others = sorted({r.caption for r in train} - english)
    rng = np.random.default_rng(seed)
    chosen = english | {others[i] for i in rng.permutation(len(others))[: budget - len(english)]}
    return [r for r in records if r.split != "train" or r.kind == "photo" or r.caption in chosen]
