"""What a query's language means for the student: the language guessed from the query, and the
student's measured ratio and agreement with its teacher there, from its every-language reports."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Callable

from core.languages import english_name
from core.paths import zoo_checkpoint
from core.records import Record
from evaluation.run import default_out
from zoo.checkpoint import read_info

from .language_id import LanguageGuess, LanguageGuesser

REPORT_CHECK_S = 5.0  # how long a student's report location is taken as known


class LanguageReports:
    def __init__(self, records: list[Record], require_offered: Callable[..., str]):
        self.records, self.require_offered = records, require_offered
        self._guesser: LanguageGuesser | None = None
        self._report_paths: dict[str, tuple[float, str | None, Path | None]] = {}  # student -> (when, teacher, folder)
        self._reports: dict[Path, tuple[float, dict]] = {}  # every-language reports: (mtime, content)
        self._lock = threading.Lock()

    def warm_guesser(self) -> LanguageGuesser:
        """Build the guesser (≈4 s over the corpus's training captions); the app does it in a thread
        after the page is up, and queries until then simply get no language line."""
        guesser = LanguageGuesser(self.records)
        self._guesser = guesser
        return guesser

    def query_language(self, query: str) -> LanguageGuess | None:
        guesser = self._guesser
        return guesser.guess(query) if guesser is not None and query.strip() else None

    def ratio(self, student: str, language: str) -> dict | None:
        """The student's measured R@10 ratio to its own teacher in `language` (test split, 95%
        interval, language group), from the every-language report beside its card; None if not measured."""
        rep, teacher = self._report(student)
        ratio = (rep.get("ratios") or {}).get(student, {}).get(language) if rep else None
        if not ratio:
            return None
        return {**ratio, "teacher": teacher, "group": rep["languages"].get(language, {}).get("group", ""),
                "overlap": self.overlap(student, language)}

    def overlap(self, student: str, language: str, kind: str = "keywords") -> dict | None:
        """How many of the student's top 10 the teacher's top 10 also holds, on the app's gallery, for
        one-word queries (`kind`) in `language` (test split, 95% interval); None if not measured."""
        rep, _ = self._report(student, "agreement.json")
        try:
            return rep["results"]["app"][kind]["per_language"][student][language]["overlap@10"] if rep else None
        except (KeyError, TypeError):
            return None

    def _report(self, student: str, file: str = "multilingual.json") -> tuple[dict | None, str | None]:
        """The student's every-language report and its teacher. Which teacher and file is looked up
        at most every REPORT_CHECK_S per student; the file is re-read only when it changes."""
        now = time.monotonic()
        with self._lock:
            hit = self._report_paths.get(student)
        if hit is None or now - hit[0] >= REPORT_CHECK_S:
            teacher = path = None
            try:
                info = read_info(zoo_checkpoint(self.require_offered(student, zoo_only=True)))
                if info.role == "student" and info.teacher:
                    teacher, path = info.teacher, default_out(student, "test", info.teacher)
            except (ValueError, FileNotFoundError, KeyError, OSError):
                pass
            hit = (now, teacher, path)
            with self._lock:
                self._report_paths[student] = hit
        _, teacher, folder = hit
        if folder is None:
            return None, teacher
        path = folder / file
        try:
            stamp = path.stat().st_mtime
            with self._lock:
                cached = self._reports.get(path)
            if cached is None or cached[0] != stamp:
                cached = (stamp, json.loads(path.read_text(encoding="utf-8")))
                with self._lock:
                    self._reports[path] = cached
        except (OSError, ValueError):
            return None, teacher
        return cached[1], teacher

    def note(self, query: str, student: str) -> tuple[str, str]:
        """(the query's language, the student's measured ratio there): two short Markdown lines."""
        guess = self.query_language(query or "")
        if guess is None:
            return "", ""
        said = f"Query language: {guess.describe()}."
        if not student or not guess.languages or guess.others:
            return said, ""
        parts = []
        for lang in guess.languages:
            r = self.ratio(student, lang)
            if r is None:
                parts.append(f"{english_name(lang)}: not measured")
            else:
                group = f", {r['group']}" if r["group"] else ""
                agree = r.get("overlap")
                agree = (f"; shares **{10 * agree['value']:.1f}** of its top 10 with the teacher's on single words"
                         if agree else "")
                parts.append(f"{english_name(lang)}: keeps **{r['value']:.2f}** [{r['lo']:.2f}, {r['hi']:.2f}] of "
                             f"`{r['teacher']}`'s R@10{group}{agree}")
        return said, f"{student} (test split) — " + "; ".join(parts)
