"""CLDR keywords of training concepts as distillation text: the short words people type.

A student distilled on emoji *names* keeps its teacher on names and drifts on everything else
("animal", "pet", "face" — one word per query). A keyword needs no image and no translation for
a feature term: the teacher's embedding of the word is the target, so each keyword is anchored to
itself, like the wordfreq lists (`word_lists.py`), and grouped into concepts by rank
(`words:kw<k>` holds the k-th keyword of each language), so the keywords lengthen an epoch by
`per_language` concepts, not one per keyword.

What stays out: held-out languages (both groups), and every keyword that is also a val or test
caption or a val or test keyword in any language, compared case-folded — a keyword such as
"animal" that belongs to training and test concepts alike is evaluated, never trained on.
Within a language, keywords shared by more training concepts come first (the broad words).
"""
from __future__ import annotations

from collections import Counter
from typing import Callable, Iterable

from core.languages import HELD_OUT_LANGUAGES
from core.records import Record

from .corpus import SOURCE_KEYWORD
from .word_lists import CONCEPT_PREFIX, KIND

SOURCE = SOURCE_KEYWORD
DEFAULT_KEYWORDS_PER_LANGUAGE = 1000


def evaluated_strings(records: Iterable[Record], keywords: Iterable[Record]) -> set[str]:
    """Case-folded val/test captions and keywords: text that must never be trained on."""
    return {r.caption.casefold() for r in (*records, *keywords) if r.split in ("val", "test")}


def keyword_text_records(keywords: Iterable[Record], per_language: int = DEFAULT_KEYWORDS_PER_LANGUAGE,
                         exclude: Iterable[str] = (), log: Callable[[str], None] = print) -> list[Record]:
    """Self-anchored train-split text rows: up to `per_language` train-split keywords of each
    training language, minus `exclude` (case-folded)."""
    if per_language < 1:
        raise ValueError(f"keywords per language must be at least 1, got {per_language}")
    keywords = list(keywords)
    held = sorted({r.language for r in keywords} & set(HELD_OUT_LANGUAGES))
    if held:
        raise ValueError(f"held-out languages cannot be trained on: {', '.join(held)}")
    banned = set(exclude)
    counts: dict[str, Counter] = {}
    dropped = set()
    for r in keywords:
        if r.split != "train":
            continue
        if r.caption.casefold() in banned:
            dropped.add((r.language, r.caption))
            continue
        counts.setdefault(r.language, Counter())[r.caption] += 1
    out = []
    for lang in sorted(counts):
        ranked = sorted(counts[lang].items(), key=lambda kv: (-kv[1], kv[0]))[:per_language]
        out += [Record("", f"{CONCEPT_PREFIX}kw{k}", KIND, lang, text, "train", SOURCE) for k, (text, _) in enumerate(ranked)]
    log(f"keywords: {len(out):,} training keywords in {len(counts)} languages ({per_language:,} per language at most; "
        f"{len(dropped):,} left out as val/test text)")
    return out


__all__ = ["DEFAULT_KEYWORDS_PER_LANGUAGE", "SOURCE", "evaluated_strings", "keyword_text_records"]
