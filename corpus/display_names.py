"""Parallel text with no image: CLDR display names from babel, for distillation only.

CLDR translates the names of languages, scripts, currencies and measurement units into hundreds
of locales, so every key ("de", "Cyrl", "EUR", "mass-kilogram") is one concept with a caption
per language and an English twin — parallel by construction, which is what ED and MCL anchor
on. These rows have no image of their own: the losses relate them to the batch's images (DR,
SD) or to their English twin (FD, ED, MCL), never to a matching image (`DistillBatch`).

Territory names are left out: they are the flags' captions, and a test flag's name must not
reach training as text. Any display name that equals a val or test caption of the corpus is
dropped for the same reason (decontamination; counted in the log).
"""
from __future__ import annotations

from typing import Callable, Iterable

from core.languages import BABEL_LOCALE, HELD_OUT_LANGUAGES
from core.records import Record

SOURCE = "cldr-display"
KIND = "text"  # a caption with no image
WHAT = ("language", "script", "currency", "unit")
# Units people search for or write in captions; CLDR names each in every locale it covers.
UNITS = (
    "length-meter", "length-kilometer", "length-centimeter", "length-millimeter", "length-mile", "length-foot",
    "length-inch", "mass-kilogram", "mass-gram", "mass-pound", "mass-ton", "volume-liter", "volume-milliliter",
    "volume-gallon", "volume-cup", "duration-second", "duration-minute", "duration-hour", "duration-day",
    "duration-week", "duration-month", "duration-year", "duration-century", "temperature-celsius",
    "temperature-fahrenheit", "speed-kilometer-per-hour", "area-hectare", "area-acre", "energy-calorie",
    "energy-kilowatt-hour", "power-watt", "power-horsepower", "electric-volt", "electric-ampere",
    "frequency-hertz", "digital-byte", "digital-megabyte", "digital-gigabyte", "pressure-bar", "angle-degree",
)


def _names(locale, what: str) -> dict[str, str]:
    if what == "language":
        return dict(locale.languages)
    if what == "script":
        return dict(locale.scripts)
    if what == "currency":
        return dict(locale.currencies)
    from babel.units import get_unit_name

    out = {}
    for unit in UNITS:
        name = get_unit_name(unit, length="long", locale=locale)
        if name:
            out[unit] = name
    return out


def display_name_records(languages: Iterable[str], exclude: Iterable[str] = (), what: Iterable[str] = WHAT,
                         log: Callable[[str], None] = print) -> list[Record]:
    """Train-split text rows: one concept per display-name key that English names, one caption per
    language that names it. Held-out languages are refused: they get no training text at all."""
    from babel import Locale, UnknownLocaleError

    languages = sorted(set(languages) | {"en"})
    held = sorted(set(languages) & set(HELD_OUT_LANGUAGES))
    if held:
        raise ValueError(f"held-out languages cannot be trained on: {', '.join(held)}")
    unknown = sorted(set(what) - set(WHAT))
    if unknown:
        raise ValueError(f"unknown display-name kinds {unknown}; known: {', '.join(WHAT)}")
    banned = {c.casefold() for c in exclude}
    english = {w: _names(Locale.parse("en"), w) for w in what}
    records, dropped = [], 0
    for lang in languages:
        try:
            locale = Locale.parse(BABEL_LOCALE.get(lang, lang))
        except (UnknownLocaleError, ValueError):
            continue  # a language CLDR does not describe has no display names
        for w in what:
            names = english[w] if lang == "en" else _names(locale, w)
            for key, name in sorted(names.items()):
                name = (name or "").strip()
                if key not in english[w] or not name:
                    continue
                if name.casefold() in banned:
                    dropped += 1
                    continue
                records.append(Record("", f"display:{w}:{key}", KIND, lang, name, "train", SOURCE))
    # a concept whose English name was dropped has no anchor: leave it out whole
    anchored = {r.concept for r in records if r.language == "en"}
    records = [r for r in records if r.concept in anchored]
    log(f"display names: {len({r.caption for r in records}):,} distinct texts in {len(anchored):,} concepts, "
        f"{len(languages)} languages (dropped {dropped:,} equal to a val or test caption)")
    return records


__all__ = ["SOURCE", "KIND", "WHAT", "display_name_records"]
