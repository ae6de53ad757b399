"""Run every metric of the suite on one split for one model.

The model is anything with `encode_text(list[str])` and `encode_image(list)` returning
L2-normalised arrays (a `DualEncoder`, an `OnnxEncoder`, or heads over cached features).
Every distinct text and image is encoded once, then all metrics read from those embeddings.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from core.languages import EMOJI_LANGUAGES
from core.records import Record

from .consistency import clustering_ami, overlap_at_k, translation_cosine
from .retrieval import retrieval_metrics
from .vqa import build_items, vqa_accuracy

RETRIEVAL_KINDS = ("emoji", "flag")


class Encoder(Protocol):
    def encode_text(self, texts: list[str]) -> np.ndarray: ...
    def encode_image(self, images: list[Any]) -> np.ndarray: ...


def _image_path(root: Path | None, rel: str) -> str:
    p = Path(rel)
    return str(p if p.is_absolute() or root is None else root / p)


def relative_image(root: Path | None, path) -> str:
    """The manifest's name for an image the suite handed out as an absolute path (inverse of _image_path)."""
    p = Path(path)
    return str(p.relative_to(root)) if root is not None and p.is_absolute() else str(p)


def texts_to_encode(records: list[Record]) -> list[str]:
    """Every text the suite may ask a model to encode for these records: captions and the val/test
    VQA options. Feature and teacher caches are keyed on this exact list, so one list means one cache."""
    vqa = {o for kind in ("photo", "flag") for split in ("val", "test")
           for item in build_items(records, kind, split) for o in item.options}
    return sorted({r.caption for r in records} | vqa)


def evaluate(model: Encoder, records: list[Record], corpus_root: Path | None, split: str = "test",
             languages: list[str] | None = None, kinds: tuple[str, ...] = RETRIEVAL_KINDS,
             with_vqa: bool = True, with_clustering: bool = True, progress: bool = False) -> dict:
    """Metrics dict for `split`. Languages with no captions in the split are listed, not scored."""
    wanted = set(languages) if languages else None
    split_recs = [r for r in records if r.split == split and r.kind in kinds and (wanted is None or r.language in wanted)]
    vqa_items = []
    if with_vqa:
        for kind in ("photo", "flag"):
            items = build_items(records, kind, split)
            vqa_items += [i for i in items if wanted is None or i.language in wanted]

    texts = sorted({r.caption for r in split_recs} | {o for i in vqa_items for o in i.options})
    images = sorted({r.image for r in split_recs} | {i.image for i in vqa_items})
    text_emb = dict(zip(texts, model.encode_text(texts))) if texts else {}
    image_emb = dict(zip(images, model.encode_image([_image_path(corpus_root, i) for i in images]))) if images else {}

    requested = sorted(wanted) if wanted else None
    report: dict = {"split": split, "retrieval": {}, "consistency": {}, "vqa": {}}
    for kind in kinds:
        recs = [r for r in split_recs if r.kind == kind]
        report["retrieval"][kind] = _retrieval(recs, text_emb, image_emb, requested)
        report["consistency"][kind] = _consistency(recs, text_emb, image_emb, with_clustering and kind == "emoji")
    if with_vqa:
        for kind in ("photo", "flag"):
            report["vqa"][kind] = vqa_accuracy([i for i in vqa_items if i.kind == kind], text_emb, image_emb)
    report["summary"] = summarize(report)
    return report


def _retrieval(recs: list[Record], text_emb: dict, image_emb: dict, requested: list[str] | None) -> dict:
    gallery_images = sorted({r.image for r in recs})
    out: dict = {"gallery_size": len(gallery_images), "t2i": {}, "i2t": {}, "skipped_languages": []}
    if not gallery_images:
        out["skipped_languages"] = requested or []
        return out
    gidx = {im: i for i, im in enumerate(gallery_images)}
    gallery = np.stack([image_emb[im] for im in gallery_images])
    by_lang: dict[str, list[Record]] = defaultdict(list)
    for r in recs:
        by_lang[r.language].append(r)
    for lang in requested or sorted(by_lang):
        lrecs = by_lang.get(lang, [])
        if not lrecs:
            out["skipped_languages"].append(lang)
            continue
        queries = np.stack([text_emb[r.caption] for r in lrecs])
        out["t2i"][lang] = retrieval_metrics(queries, gallery, [{gidx[r.image]} for r in lrecs])
        # image -> text: each image that has captions in this language, against all of them
        caps_of: dict[str, set[int]] = defaultdict(set)
        for ci, r in enumerate(lrecs):
            caps_of[r.image].add(ci)
        imgs = sorted(caps_of)
        out["i2t"][lang] = retrieval_metrics(np.stack([image_emb[im] for im in imgs]), queries,
                                             [caps_of[im] for im in imgs])
    return out


def _consistency(recs: list[Record], text_emb: dict, image_emb: dict, with_clustering: bool) -> dict:
    first: dict[tuple[str, str, str], str] = {}
    for r in recs:
        first.setdefault((r.language, r.source, r.concept), r.caption)
    gallery_images = sorted({r.image for r in recs})
    if not gallery_images:
        return {}
    gallery = np.stack([image_emb[im] for im in gallery_images])
    out: dict = {"per_language": {}}
    for lang in sorted({k[0] for k in first} - {"en"}):
        pairs = [(cap, first[("en", src, c)]) for (lg, src, c), cap in first.items()
                 if lg == lang and ("en", src, c) in first]
        if not pairs:
            continue
        a = np.stack([text_emb[p[0]] for p in pairs])
        b = np.stack([text_emb[p[1]] for p in pairs])
        out["per_language"][lang] = {**translation_cosine(a, b), "overlap@10": overlap_at_k(a, b, gallery)}
    if with_clustering:
        rs = [r for r in recs if r.language in EMOJI_LANGUAGES]
        if rs:
            out["clustering"] = clustering_ami(np.stack([text_emb[r.caption] for r in rs]),
                                              [r.concept for r in rs], [r.language for r in rs])
    return out


def _mean(values) -> float:
    values = [v for v in values if v == v]  # drop NaN
    return float(np.mean(values)) if values else float("nan")


def summary_key(kind: str, direction: str = "t2i", metric: str = "R@10", over: str = "mean") -> str:
    """The name of a summary number: mean `metric` over languages for `kind` in `direction`
    (`over="mean14"`: over the 14 emoji-package languages only)."""
    return f"{kind}_{direction}_{metric}_{over}"


HEADLINE_KEY = summary_key("emoji")  # mean emoji text→image R@10: what validation selects on


def summarize(report: dict) -> dict:
    """The few numbers a reader compares first."""
    s: dict[str, float] = {}
    for kind, res in report["retrieval"].items():
        t2i, i2t = res.get("t2i", {}), res.get("i2t", {})
        emoji_langs = [lang for lang in EMOJI_LANGUAGES if lang in t2i]
        s[summary_key(kind)] = _mean(v["R@10"] for v in t2i.values())
        s[summary_key(kind, metric="R@1")] = _mean(v["R@1"] for v in t2i.values())
        s[summary_key(kind, "i2t")] = _mean(v["R@10"] for v in i2t.values())
        if emoji_langs:
            s[summary_key(kind, over="mean14")] = _mean(t2i[lang]["R@10"] for lang in emoji_langs)
        s[f"{kind}_languages"] = len(t2i)
    for kind, res in report.get("consistency", {}).items():
        per = res.get("per_language", {})
        if per:
            s[f"{kind}_translation_gap_mean"] = _mean(v["gap"] for v in per.values())
            s[f"{kind}_overlap@10_mean"] = _mean(v["overlap@10"] for v in per.values())
        if "clustering" in res:
            s[f"{kind}_ami_concept"] = res["clustering"]["ami_concept"]
            s[f"{kind}_ami_language"] = res["clustering"]["ami_language"]
    for kind, res in report.get("vqa", {}).items():
        if res:
            s[f"vqa_{kind}_accuracy_mean"] = _mean(v["accuracy"] for v in res.values())
    return s
