"""Which language a query is in, well enough to say which per-language result applies to it.

A short query ("perro", "แมว", "собака") defeats statistical language identifiers, which need
sentences. Two cues are reliable for the corpus's ~100 languages instead:

1. the script, where only one corpus language writes it (Thai, Georgian, Amharic's Ethiopic,
   Japanese kana, Hangul, Greek, Armenian …);
2. otherwise the words: which languages' training captions contain the query's words (Spanish
   "perro", Russian "собака"). Several languages sharing a word are all named.

Only training-split captions are looked at: the guesser is a UI aid, but it still never reads the
text the evaluation scores.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterable

from core.languages import english_name, script_of
from core.records import Record

WORD = re.compile(r"\w+", re.UNICODE)
UNSPACED = {"Han", "Han/Kana", "Thai", "Khmer", "Lao", "Myanmar"}  # scripts written without spaces between words


@dataclass(frozen=True)
class LanguageGuess:
    languages: tuple[str, ...] = ()  # best first; empty when nothing fits
    how: str = ""  # "script", "words" or ""
    script: str = "Unknown"
    others: tuple[str, ...] = field(default=())  # further languages that fit as well

    @property
    def language(self) -> str | None:
        return self.languages[0] if len(self.languages) == 1 else None

    def describe(self) -> str:
        if not self.languages:
            return f"{self.script} script; language not identified"
        names = [f"{english_name(code)} ({code})" for code in self.languages]
        if self.how == "script":
            return f"{names[0]}, from its script ({self.script})"
        if len(names) == 1:
            return f"{names[0]}, from its words"
        if self.others:
            return f"a word of {len(names) + len(self.others)} languages (e.g. {', '.join(names)})"
        return f"one of {', '.join(names)}, from its words"


class LanguageGuesser:
    def __init__(self, records: Iterable[Record], max_candidates: int = 3):
        by_language: dict[str, list[str]] = defaultdict(list)
        for r in records:
            if r.split == "train" and r.caption:
                by_language[r.language].append(r.caption)
        self.script = {lang: script_of(texts) for lang, texts in by_language.items()}
        writers: dict[str, list[str]] = defaultdict(list)
        for lang, script in self.script.items():
            writers[script].append(lang)
            if script == "Han/Kana":  # Japanese writes Han too: a kanji-only query may be Japanese
                writers["Han"].append(lang)
        self.sole_writer = {script: langs[0] for script, langs in writers.items() if len(langs) == 1}
        self.words: dict[str, set[str]] = defaultdict(set)
        for lang, texts in by_language.items():
            for text in texts:
                for word in WORD.findall(text.casefold()):
                    self.words[word].add(lang)
        # unspaced scripts: a query is looked up as a substring of the captions, not as words
        self.running_text = {lang: "\n".join(texts).casefold() for lang, texts in by_language.items()
                             if self.script[lang] in UNSPACED or self.script[lang] == "Han"}
        self.max_candidates = max_candidates

    def guess(self, query: str) -> LanguageGuess:
        script = script_of([query])
        if script in self.sole_writer:
            return LanguageGuess((self.sole_writer[script],), "script", script)
        votes: Counter = Counter()
        if script in UNSPACED:
            needle = "".join(WORD.findall(query.casefold()))
            votes.update({lang: 1 for lang, text in self.running_text.items() if needle and needle in text
                          and script in (self.script[lang], "Han")})
        for word in WORD.findall(query.casefold()) if not votes else ():
            for lang in self.words.get(word, ()):
                if self.script.get(lang) == script or script == "Unknown":
                    votes[lang] += 1
        if not votes:
            return LanguageGuess((), "", script)
        best = max(votes.values())
        tied = sorted(lang for lang, v in votes.items() if v == best)
        return LanguageGuess(tuple(tied[:self.max_candidates]), "words", script, tuple(tied[self.max_candidates:]))
