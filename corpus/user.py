"""Loaders for users' own image–caption data, all yielding the embedded corpus's `Record`.

Three layouts are accepted:

- a CSV or JSONL manifest with columns `image`, `caption`, `language` (optional `concept`,
  `split`); several rows may share an image;
- a folder of images plus `captions.csv` / `captions.jsonl` beside them (same columns, `image`
  relative to the folder);
- XM3600-style JSONL: one line per image with `image/key` and, per language code, an object
  holding a `caption` list; images at `<images_dir>/<key>.jpg`.

Bad rows never stop a load: unreadable images, empty captions and duplicates are counted and
reported (`LoadReport`). Only a manifest with nothing usable is an error, and it says why.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from core.io import ImageError, load_image
from core.languages import UnknownLanguageError, normalize_language
from core.records import SPLITS, Record

REPORT_EXAMPLES = 5


class ManifestError(ValueError):
    """A user manifest that cannot be used at all."""


@dataclass
class LoadReport:
    rows: int = 0
    kept: int = 0
    bad_images: list[str] = field(default_factory=list)
    empty_captions: int = 0
    duplicates: int = 0
    skipped_languages: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [f"{self.kept}/{self.rows} rows kept"]
        if self.bad_images:
            shown = ", ".join(self.bad_images[:REPORT_EXAMPLES])
            more = f" (+{len(self.bad_images) - REPORT_EXAMPLES} more)" if len(self.bad_images) > REPORT_EXAMPLES else ""
            parts.append(f"{len(self.bad_images)} missing/unreadable images skipped: {shown}{more}")
        if self.empty_captions:
            parts.append(f"{self.empty_captions} empty captions skipped")
        if self.duplicates:
            parts.append(f"{self.duplicates} duplicate rows skipped")
        if self.skipped_languages:
            parts.append("languages skipped: " + ", ".join(f"{k} ({v})" for k, v in sorted(self.skipped_languages.items())))
        return "; ".join(parts)


def _read_rows(path: Path) -> Iterator[dict]:
    if path.suffix.lower() == ".csv":
        with open(path, newline="", encoding="utf-8") as fh:
            yield from csv.DictReader(fh)
    elif path.suffix.lower() in (".jsonl", ".json"):
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise ManifestError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from exc
    else:
        raise ManifestError(f"{path}: unsupported manifest type {path.suffix!r} (use .csv or .jsonl)")


def _finish(records: list[Record], report: LoadReport, source: Path) -> tuple[list[Record], LoadReport]:
    report.kept = len(records)
    if not records:
        raise ManifestError(f"{source}: no usable rows — {report.summary()}")
    return records, report


def _image_ok(path: Path, cache: dict[Path, bool], report: LoadReport, verify: bool) -> bool:
    if path not in cache:
        try:
            if verify:
                load_image(path)
            elif not path.is_file():
                raise ImageError("missing")
            cache[path] = True
        except ImageError:
            cache[path] = False
            report.bad_images.append(str(path))
    return cache[path]


def _collect(rows: Iterable[dict], base: Path, source: Path, caption_source: str,
             verify_images: bool, report: LoadReport | None = None) -> tuple[list[Record], LoadReport]:
    report = report or LoadReport()
    seen, records, images = set(), [], {}
    for row in rows:
        report.rows += 1
        missing = [k for k in ("image", "caption", "language") if k not in row]
        if missing:
            raise ManifestError(f"{source}: row {report.rows} lacks column(s) {missing}; "
                                "expected columns image, caption, language (optional concept, split)")
        language = normalize_language(str(row["language"]))  # unknown code: error with the list
        caption = " ".join(str(row["caption"] or "").split())
        if not caption:
            report.empty_captions += 1
            continue
        image = Path(str(row["image"]))
        image = image if image.is_absolute() else (base / image)
        split = str(row.get("split") or "train")
        if split not in SPLITS:
            raise ManifestError(f"{source}: row {report.rows} has split {split!r}; use one of {SPLITS}")
        key = (str(image), language, caption)
        if key in seen:
            report.duplicates += 1
            continue
        seen.add(key)
        if not _image_ok(image, images, report, verify_images):
            continue
        concept = str(row.get("concept") or f"user:{image.name}")
        records.append(Record(str(image), concept, "user", language, caption, split, caption_source))
    return _finish(records, report, source)


def load_manifest(path: str | Path, verify_images: bool = True) -> tuple[list[Record], LoadReport]:
    """CSV/JSONL manifest; relative image paths are relative to the manifest's folder."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"manifest not found: {path}")
    return _collect(_read_rows(path), path.parent, path, "user", verify_images)


def load_image_folder(folder: str | Path, verify_images: bool = True) -> tuple[list[Record], LoadReport]:
    """A folder of images with `captions.csv` or `captions.jsonl` inside it."""
    folder = Path(folder)
    for name in ("captions.csv", "captions.jsonl"):
        if (folder / name).is_file():
            return _collect(_read_rows(folder / name), folder, folder / name, "user", verify_images)
    raise ManifestError(f"{folder}: no captions.csv or captions.jsonl found beside the images")


def load_xm3600(captions_jsonl: str | Path, images_dir: str | Path,
                verify_images: bool = True) -> tuple[list[Record], LoadReport]:
    """XM3600 layout. Languages outside the towers' set (e.g. Maori 'mi', Quechua 'quz') are
    skipped and counted rather than fatal: the format always contains them."""
    path, images_dir = Path(captions_jsonl), Path(images_dir)
    if not path.is_file():
        raise ManifestError(f"XM3600 captions file not found: {path}")
    rows, skipped = [], {}
    for obj in _read_rows(path):
        key = obj.get("image/key")
        if not key:
            raise ManifestError(f"{path}: a line lacks 'image/key'")
        for lang, value in obj.items():
            if lang.startswith("image/") or not isinstance(value, dict):
                continue
            try:
                code = normalize_language(lang)
            except UnknownLanguageError:
                skipped[lang] = skipped.get(lang, 0) + len(value.get("caption", []))
                continue
            for caption in value.get("caption", []):
                rows.append({"image": f"{key}.jpg", "caption": caption, "language": code,
                             "concept": f"xm3600:{key}"})
    return _collect(rows, images_dir, path, "xm3600", verify_images, LoadReport(skipped_languages=skipped))
