"""Frequent words as distillation text: wordfreq's lists, for distillation only.

The corpus's captions name ~1,500 emoji and flags; a student distilled on them alone sees a
narrow slice of each language. wordfreq ships the most frequent words of 40+ languages (from
Wikipedia, subtitles, news, books, web text, ...), the everyday vocabulary people type as queries.
The teacher's embedding of a word is the target, whatever it means, so the words need no
translation: each word is anchored to itself (ED and MCL pull the student's embedding of the word
towards the teacher's embedding of the same word; DR and SD relate it to the batch's images).

Rows are grouped into concepts by frequency rank (`words:<k>` holds the k-th most frequent word of
each language), so a pass over the concepts draws a word of every rank in a random language: the
word lists lengthen an epoch by `per_language` concepts, not by one per word. Held-out languages
are refused; a word equal to any corpus caption (train, val or test) is dropped — the val and
test ones must not reach training as text, and the train ones are already there with an image.
"""
from __future__ import annotations

from typing import Callable, Iterable

from core.languages import ALIASES, HELD_OUT_LANGUAGES
from core.records import Record

SOURCE = "wordfreq"
KIND = "text"  # a caption with no image (same kind as the display names)
CONCEPT_PREFIX = "words:"  # concepts of this prefix anchor each row to itself (no English twin)
DEFAULT_WORDS_PER_LANGUAGE = 1000


def wordfreq_code(language: str) -> str | None:
    """wordfreq's code for one of our languages (ours 'no' is its 'nb'), or None if it has none."""
    import wordfreq

    available = set(wordfreq.available_languages())
    if language in available:
        return language
    return next((code for code, ours in ALIASES.items() if ours == language and code in available), None)


def self_anchored(concept: str) -> bool:
    return concept.startswith(CONCEPT_PREFIX)


def word_list_records(languages: Iterable[str], per_language: int = DEFAULT_WORDS_PER_LANGUAGE,
                      exclude: Iterable[str] = (), log: Callable[[str], None] = print) -> list[Record]:
    """Train-split text rows: the `per_language` most frequent words of each language wordfreq
    has, minus `exclude` (compared case-folded)."""
    import wordfreq

    languages = sorted(set(languages))
    held = sorted(set(languages) & set(HELD_OUT_LANGUAGES))
    if held:
        raise ValueError(f"held-out languages cannot be trained on: {', '.join(held)}")
    if per_language < 1:
        raise ValueError(f"words per language must be at least 1, got {per_language}")
    banned = {c.casefold() for c in exclude}
    records, dropped, covered = [], 0, []
    for lang in languages:
        code = wordfreq_code(lang)
        if code is None:
            continue
        covered.append(lang)
        for k, word in enumerate(wordfreq.top_n_list(code, per_language)):
            if word.casefold() in banned:
                dropped += 1
                continue
            records.append(Record("", f"{CONCEPT_PREFIX}{k}", KIND, lang, word, "train", SOURCE))
    log(f"word lists: {len(records):,} words in {len(covered)} of {len(languages)} languages "
        f"({per_language:,} per language; dropped {dropped:,} equal to a corpus caption)")
    return records


__all__ = ["CONCEPT_PREFIX", "DEFAULT_WORDS_PER_LANGUAGE", "KIND", "SOURCE", "self_anchored", "word_list_records",
           "wordfreq_code"]
