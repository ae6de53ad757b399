"""Photo retrieval: the out-of-domain photos alone, and hidden among the test drawings.

Queries are the photos' captions (one per photo and language, `PHOTO_LANGUAGES`). Three numbers
say whether a model sees photos without losing drawings:

- photos only: text→image R@1 over the photos (can it tell them apart?);
- mixed: text→image R@10 with the photos added to the test emoji+flag gallery (does a photo
  come up for its caption when ~400 drawings compete?);
- drawings: emoji text→image R@10 in the 14 emoji-package languages, on the drawings alone and
  with the photos mixed in (do photos push drawings out of the top 10?).

Intervals are 95% bootstrap over concepts (photo concepts for photo queries, emoji concepts for
emoji queries), one draw shared by every model and language of a run, so differences between
two models are paired — a difference whose interval holds 0 is a tie.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.languages import EMOJI_LANGUAGES
from core.records import Record

from .bootstrap import N_BOOT, concept_weights, estimate, per_concept, resampled_means
from .retrieval import first_hit_ranks

PHOTO_METRICS = ("photos_only_R@1", "mixed_R@10")
DRAWING_METRICS = ("emoji_R@10", "emoji_mixed_R@10")


def _paths(root: Path | None, images: list[str]) -> list[str]:
    return [str(root / p) if root is not None and not Path(p).is_absolute() else p for p in images]


def photo_queries(records: list[Record], split: str = "test"):
    photos = sorted({r.image for r in records if r.kind == "photo"})
    if not photos:
        raise ValueError("no photo rows in the corpus: the photo evaluation needs the out-of-domain photos")
    drawings = sorted({r.image for r in records if r.split == split and r.kind in ("emoji", "flag")})
    pq = sorted({(r.language, r.caption, r.concept, r.image) for r in records if r.kind == "photo"})
    eq = sorted({(r.caption, r.concept, r.image) for r in records
                 if r.split == split and r.kind == "emoji" and r.language in EMOJI_LANGUAGES})
    return photos, drawings, pq, eq


def score_photos(model: Any, records: list[Record], root: Path | None, split: str = "test") -> dict:
    """Per-query first-hit ranks of one model (what the bootstrap resamples)."""
    photos, drawings, pq, eq = photo_queries(records, split)
    images = model.encode_image(_paths(root, photos + drawings))
    p_img, d_img = images[:len(photos)], images[len(photos):]
    texts = sorted({q[1] for q in pq} | {q[0] for q in eq})
    at = {t: i for i, t in enumerate(texts)}
    emb = model.encode_text(texts)
    photo_of_concept: dict[str, set[int]] = {}
    concept_of_photo = {q[3]: q[2] for q in pq}
    for i, p in enumerate(photos):
        photo_of_concept.setdefault(concept_of_photo.get(p, p), set()).add(i)
    qp = emb[[at[q[1]] for q in pq]]
    positives = [photo_of_concept[q[2]] for q in pq]
    alone = first_hit_ranks(qp, p_img, positives, depth=1)
    mixed = first_hit_ranks(qp, images, positives)
    image_row = {p: i for i, p in enumerate(drawings)}
    qe = emb[[at[q[0]] for q in eq]]
    emoji_pos = [{image_row[q[2]]} for q in eq]
    emoji = first_hit_ranks(qe, d_img, emoji_pos)
    emoji_mixed = first_hit_ranks(qe, np.concatenate([d_img, p_img]), emoji_pos)
    return {"photos_only_R@1": alone <= 1, "mixed_R@10": mixed <= 10,
            "emoji_R@10": emoji <= 10, "emoji_mixed_R@10": emoji_mixed <= 10,
            "photo_language": np.array([q[0] for q in pq]), "photo_concept": [q[2] for q in pq],
            "emoji_concept": [q[1] for q in eq], "photos": len(photos), "drawings": len(drawings)}


def _concept_index(names: list[str]) -> tuple[np.ndarray, int]:
    order = {c: i for i, c in enumerate(sorted(set(names)))}
    return np.array([order[c] for c in names], np.int64), len(order)


def compare_photos(models: dict[str, Any], records: list[Record], root: Path | None, reference: str | None = None,
                   split: str = "test", n_boot: int = N_BOOT) -> dict:
    """Every model's photo and drawing metrics with intervals; with `reference`, paired differences
    (model − reference) too. Per-language photo metrics are in `languages`."""
    hits = {name: score_photos(m, records, root, split) for name, m in models.items()}
    any_hits = next(iter(hits.values()))
    p_idx, n_p = _concept_index(any_hits["photo_concept"])
    e_idx, n_e = _concept_index(any_hits["emoji_concept"])
    wp, we = concept_weights(n_p, n_boot, seed=0), concept_weights(n_e, n_boot, seed=1)
    langs = sorted(set(any_hits["photo_language"]))

    def samples(values, mask, idx, n, w):
        sums, counts = per_concept(np.asarray(values, np.float64)[mask], idx[mask], n)
        return float(np.asarray(values, np.float64)[mask].mean()), resampled_means(sums, counts, w)

    out: dict = {"split": split, "photos": any_hits["photos"], "drawings": any_hits["drawings"],
                 "photo_queries": int(len(p_idx)), "emoji_queries": int(len(e_idx)), "languages": {}, "models": {},
                 "reference": reference, "differences": {}}
    draws: dict = {}
    for name, h in hits.items():
        every = np.ones(len(p_idx), bool)
        row, draws[name] = {}, {}
        for metric in PHOTO_METRICS:
            point, s = samples(h[metric], every, p_idx, n_p, wp)
            row[metric], draws[name][metric] = estimate(point, s), s
            for lang in langs:
                mask = h["photo_language"] == lang
                lp, ls = samples(h[metric], mask, p_idx, n_p, wp)
                out["languages"].setdefault(lang, {}).setdefault(name, {})[metric] = estimate(lp, ls)
        for metric in DRAWING_METRICS:
            point, s = samples(h[metric], np.ones(len(e_idx), bool), e_idx, n_e, we)
            row[metric], draws[name][metric] = estimate(point, s), s
        out["models"][name] = row
    if reference is not None:
        for name in hits:
            if name == reference:
                continue
            out["differences"][name] = {
                metric: estimate(out["models"][name][metric]["value"] - out["models"][reference][metric]["value"],
                                 draws[name][metric] - draws[reference][metric])
                for metric in (*PHOTO_METRICS, *DRAWING_METRICS)}
    return out


__all__ = ["compare_photos", "score_photos", "PHOTO_METRICS", "DRAWING_METRICS"]
