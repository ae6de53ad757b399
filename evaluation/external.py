"""Public retrieval benchmarks in the formats LAION's CLIP_benchmark reads, scored its way.

Multilingual image–text models are compared on XM3600, XTD10, Flickr30k-200 and multilingual
MS-COCO through CLIP_benchmark, so a number from here must mean what a number there means:

- **Formats.** CLIP_benchmark's retrieval WebDataset (`{split}/nshards.txt`, `{split}/0.tar` …,
  `dataset_type.txt` = "retrieval"; each sample an image (webp/png/jpg/jpeg) and a `.txt` with
  one caption per line), read with the `webdataset` library as CLIP_benchmark reads it; and
  XM3600's own release (`captions.jsonl` + `images/<key>.jpg`, optionally under `xm3600/`),
  where CLIP_benchmark keeps the first caption of the chosen language per image.
- **Recall.** `image_retrieval_recall@k`: per caption, 1 if its image is among the top k images;
  `text_retrieval_recall@k`: per image, 1 if any of its captions is among the top k captions;
  each averaged (CLIP_benchmark's `zeroshot_retrieval`, same keys). Ours adds 95% bootstrap
  intervals over images, the unit a dataset samples. An exact tie (two identical images) counts
  against the query; `{key}_if_ties_won` gives the value if every tie were won, and
  CLIP_benchmark's, whose torch.topk breaks ties arbitrarily, lies between the two.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .bootstrap import concept_weights, estimate, per_concept, resampled_means
from .retrieval import first_hit_rank_range

IMAGE_EXTENSIONS = ("webp", "png", "jpg", "jpeg")
XM3600_CAPTIONS = "captions.jsonl"


class DatasetFormatError(ValueError):
    """The folder is not a dataset in a format this module reads; the message says what is wrong."""


def detect_format(root: Path) -> str:
    root = Path(root)
    if (root / XM3600_CAPTIONS).is_file() or (root / "xm3600" / XM3600_CAPTIONS).is_file():
        return "xm3600"
    if any((root / split / "nshards.txt").is_file() for split in ("test", "train", "val")):
        return "wds"
    raise DatasetFormatError(f"{root} is neither a CLIP_benchmark WebDataset (needs <split>/nshards.txt and "
                             f"<split>/0.tar …) nor an XM3600 folder (needs {XM3600_CAPTIONS} and images/)")


def read_wds_retrieval(root: Path, split: str = "test") -> tuple[list[Any], list[list[str]]]:
    """(PIL images, captions per image) from a CLIP_benchmark retrieval WebDataset, in shard order."""
    import webdataset as wds

    root = Path(root)
    kind_file = root / "dataset_type.txt"
    kind = kind_file.read_text(encoding="utf-8").strip().lower() if kind_file.is_file() else "classification"
    if kind != "retrieval":
        raise DatasetFormatError(f"{root} is a {kind} dataset ({kind_file.name} says so or is missing); "
                                 "only retrieval datasets have captions to search with")
    try:
        shards = int((root / split / "nshards.txt").read_text(encoding="utf-8").strip())
    except FileNotFoundError:
        raise DatasetFormatError(f"{root / split / 'nshards.txt'} is missing: no {split!r} split") from None
    except ValueError:
        raise DatasetFormatError(f"{root / split / 'nshards.txt'} does not hold a shard count") from None
    missing = [f"{i}.tar" for i in range(shards) if not (root / split / f"{i}.tar").is_file()]
    if shards < 1 or missing:
        raise DatasetFormatError(f"{root / split}: nshards.txt says {shards} shards but "
                                 f"{', '.join(missing[:3]) or 'none'} {'is' if len(missing) == 1 else 'are'} missing")
    pattern = str(root / split / f"{{0..{shards - 1}}}.tar")
    dataset = (wds.WebDataset(pattern, shardshuffle=False, nodesplitter=lambda src: src)
               .decode(wds.autodecode.ImageHandler("pil", extensions=list(IMAGE_EXTENSIONS)))
               .to_tuple(list(IMAGE_EXTENSIONS), "txt"))
    images, captions = [], []
    try:
        for image, text in dataset:
            lines = [line for line in text.splitlines() if line.strip()]
            if lines:  # the image as decoded (RGBA stays RGBA: the model's preprocessing puts it on white)
                images.append(image)
                captions.append(lines)
    except (ValueError, KeyError, OSError) as exc:  # webdataset re-raises a broken tar or sample as is
        raise DatasetFormatError(f"{root / split}: unreadable sample ({exc})") from exc
    if not images:
        raise DatasetFormatError(f"{root / split} holds no sample with an image and a caption")
    return images, captions


def read_xm3600(root: Path, language: str) -> tuple[list[Path], list[list[str]]]:
    """(image paths, [first caption]) for `language`, as CLIP_benchmark's crossmodal3600 builds them;
    images missing from the folder are skipped, as there."""
    root = Path(root)
    base = root if (root / XM3600_CAPTIONS).is_file() else root / "xm3600"
    images, captions = [], []
    with open(base / XM3600_CAPTIONS, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                key, texts = item["image/key"], item.get(language, {}).get("caption") or []
            except (json.JSONDecodeError, KeyError, AttributeError) as exc:
                raise DatasetFormatError(f"{base / XM3600_CAPTIONS}:{lineno}: not an XM3600 record ({exc})") from exc
            path = base / "images" / f"{key}.jpg"
            if texts and path.is_file():
                images.append(path)
                captions.append([texts[0]])
    if not images:
        raise DatasetFormatError(f"{base}: no image with a {language!r} caption (is the language code right, "
                                 "and are the images in images/<key>.jpg?)")
    return images, captions


def load_dataset(root: Path, language: str | None = None, split: str = "test") -> tuple[list[Any], list[list[str]], str]:
    kind = detect_format(root)
    if kind == "xm3600":
        if not language:
            raise DatasetFormatError("XM3600 holds 36 languages: choose one with --dataset-language (e.g. th)")
        return (*read_xm3600(root, language), kind)
    return (*read_wds_retrieval(root, split), kind)


def recall_keys(ks: Sequence[int]) -> list[str]:
    """CLIP_benchmark's names: text→image first, then image→text, each for every k."""
    return [f"{side}_retrieval_recall@{k}" for side in ("image", "text") for k in ks]


def recall_report(text_emb: np.ndarray, image_emb: np.ndarray, captions: Sequence[Sequence[str]],
                  ks: Sequence[int] = (1, 5, 10), n_boot: int = 1000) -> dict[str, Any]:
    """CLIP_benchmark's recall keys with the point value, plus `{key}_interval` (95%, over images)."""
    owner = np.array([i for i, texts in enumerate(captions) for _ in texts], np.int64)
    if len(owner) != len(text_emb) or len(captions) != len(image_emb):
        raise ValueError(f"{len(text_emb)} caption and {len(image_emb)} image embeddings for "
                         f"{len(owner)} captions of {len(captions)} images")
    depth = max(ks)
    images_of = [{int(i)} for i in owner]
    texts_of = [set(np.flatnonzero(owner == i).tolist()) for i in range(len(captions))]
    # exact ties (identical images: some flags are the same picture) are counted against the query;
    # CLIP_benchmark's torch.topk breaks them arbitrarily, so its value lies between ours and "won"
    t2i, t2i_won = first_hit_rank_range(text_emb, image_emb, images_of, depth)
    i2t, i2t_won = first_hit_rank_range(image_emb, text_emb, texts_of, depth)
    weights = concept_weights(len(captions), n_boot)
    out: dict[str, Any] = {"images": len(captions), "captions": int(len(owner))}
    for k in ks:
        for key, hits, won, unit in ((f"image_retrieval_recall@{k}", t2i <= k, t2i_won <= k, owner),
                                     (f"text_retrieval_recall@{k}", i2t <= k, i2t_won <= k, np.arange(len(captions)))):
            sums, counts = per_concept(hits.astype(np.float64), unit, len(captions))
            est = estimate(float(hits.mean()), resampled_means(sums, counts, weights))
            out[key], out[f"{key}_interval"] = est["value"], [est["lo"], est["hi"]]
            out[f"{key}_if_ties_won"] = float(won.mean())
    return out


def evaluate_dataset(model, root: Path, language: str | None = None, split: str = "test",
                     ks: Sequence[int] = (1, 5, 10), n_boot: int = 1000) -> dict[str, Any]:
    """Encode a CLIP_benchmark-format dataset with `model` (anything with encode_text/encode_image)
    and score it with CLIP_benchmark's recall."""
    images, captions, kind = load_dataset(Path(root), language, split)
    flat = [t for texts in captions for t in texts]
    report = recall_report(model.encode_text(flat), model.encode_image(images), captions, ks, n_boot)
    return {"dataset": str(root), "format": kind, "split": split if kind == "wds" else None,
            "language": language, **report}
