"""Does the student behave like its teacher on what people type, over the gallery the app shows?

The ~100-language report (`multilingual.py`) asks whether a model finds the named concept among
the test images. Users meet something else: the app ranks *every* corpus image (trained concepts
are distractors too), people type single words and short phrases as well as names, and they see
two result lists side by side. So, per query kind and per gallery:

- query kinds: `names` (the split's CLDR / `emoji` / territory names), `keywords` (the split's CLDR
  keywords, one word or short phrase per query; positives are every gallery image whose concept
  lists that keyword in that language — "animal" has many), `phrases` (two names of the split in
  one language joined by ", ", as someone asking for two things; positives are both concepts'
  images, a hit is either);
- galleries: `test` (the split's images only, as `multilingual.py`) and `app` (every emoji, flag
  and photo image of the corpus, what `python app.py` searches);
- per language: R@1/5/10 and MRR@10; against a reference model (the teacher): the R@10 ratio,
  the mean top-10 overlap of the two result lists, and the mean cosine of S(x) with T(x) in the
  teacher's space. Overlap and cosine need no ground truth, so they are far less noisy than a
  recall ratio, and they say whether the two panels of the app *agree*, not only both succeed.

Intervals: 95% bootstrap over the split's concepts (a keyword query is counted with the first of
its split concepts), one resample draw shared by every model, kind and gallery, so comparisons pair.
Keyword and phrase queries are capped per language (seeded sample) to keep a run in minutes.
"""
from __future__ import annotations

import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.languages import english_name, script_of
from core.records import Record
from zoo.info import info_of

from .bootstrap import N_BOOT, concept_weights, estimate, per_concept, ratio_samples, resampled_means
from .multilingual import GROUPS, METRICS, NON_QUERY_SOURCES, RETRIEVAL_KINDS, language_groups
from .retrieval import MRR_K, first_hit_ranks, hit_table

QUERY_KINDS = ("names", "keywords", "phrases")
GALLERIES = ("app", "test")
APP_GALLERY_KINDS = (*RETRIEVAL_KINDS, "photo")  # what the app's search service indexes
TOP_K = 10
DEFAULT_PER_LANGUAGE = 300  # keyword / phrase queries per language (names: all of them)
AGREEMENT = ("overlap@10", "cosine")


@dataclass
class Queries:
    """One query kind: distinct texts, and per query its language, text, positives and concept."""

    kind: str
    texts: list[str]
    language: np.ndarray
    text_index: np.ndarray
    concept: np.ndarray  # bootstrap unit (index into the split's concepts)
    positives: dict[str, list[set[int]]]  # gallery name -> per query, gallery indices


def galleries(records: list[Record], split: str) -> dict[str, list[str]]:
    return {"app": sorted({r.image for r in records if r.kind in APP_GALLERY_KINDS and r.image}),
            "test": sorted({r.image for r in records if r.split == split and r.kind in RETRIEVAL_KINDS and r.image})}


def _positives(images_of: list[set[str]], gallery: list[str]) -> list[set[int]]:
    index = {p: i for i, p in enumerate(gallery)}
    return [{index[p] for p in imgs if p in index} for imgs in images_of]


def _sample(rows: list, cap: int, seed: int) -> list:
    if cap <= 0 or len(rows) <= cap:
        return rows
    keep = np.random.default_rng(seed).choice(len(rows), cap, replace=False)
    return [rows[i] for i in sorted(keep)]


def build_query_sets(records: list[Record], keywords: list[Record], split: str = "test",
                     languages: list[str] | None = None, per_language: int = DEFAULT_PER_LANGUAGE,
                     seed: int = 0) -> tuple[list[str], dict[str, list[str]], dict[str, Queries]]:
    """(the split's concepts, the two galleries, the query sets by kind). `keywords` are keyword
    records of every split (a keyword's positives include trained concepts in the app gallery)."""
    wanted = set(languages) if languages else None
    names = sorted({(r.language, r.caption, r.concept) for r in records
                    if r.split == split and r.kind in RETRIEVAL_KINDS and r.source not in NON_QUERY_SOURCES
                    and (wanted is None or r.language in wanted)})
    concepts = sorted({c for _, _, c in names})
    cidx = {c: i for i, c in enumerate(concepts)}
    image_of = {r.concept: r.image for r in records if r.kind in RETRIEVAL_KINDS and r.image}
    gals = galleries(records, split)
    rows: dict[str, list[tuple[str, str, int, set[str]]]] = {"names": [(lang, text, cidx[c], {image_of[c]}) for lang, text, c in names]}

    # keywords: every (language, casefolded keyword) of the split, positives over all splits
    owners: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in keywords:
        if r.kind in RETRIEVAL_KINDS:
            owners[(r.language, r.caption.casefold())].add(r.concept)
    kw = sorted({(r.language, r.caption) for r in keywords if r.split == split and r.kind in RETRIEVAL_KINDS
                 and (wanted is None or r.language in wanted)})
    by_lang: dict[str, list] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for lang, text in kw:
        key = (lang, text.casefold())
        if key in seen:
            continue
        seen.add(key)
        split_owners = sorted(c for c in owners[key] if c in cidx)
        if split_owners:
            by_lang[lang].append((lang, text, cidx[split_owners[0]], {image_of[c] for c in owners[key]}))
    rows["keywords"] = [q for lang in sorted(by_lang) for q in _sample(by_lang[lang], per_language, seed)]

    # phrases: two of the split's names in one language, paired by a seeded shuffle
    by_lang = defaultdict(list)
    for lang, text, c in names:
        by_lang[lang].append((text, c))
    phrases = []
    for k, lang in enumerate(sorted(by_lang)):
        items = by_lang[lang]
        order = np.random.default_rng([seed, k]).permutation(len(items))
        pairs = [(items[order[i]], items[order[i + 1]]) for i in range(0, len(order) - 1, 2)
                 if items[order[i]][1] != items[order[i + 1]][1]]
        phrases += _sample([(lang, f"{a[0]}, {b[0]}", cidx[min(a[1], b[1])], {image_of[a[1]], image_of[b[1]]})
                            for a, b in pairs], per_language, seed)
    rows["phrases"] = phrases

    sets = {}
    for kind in QUERY_KINDS:
        qs = rows[kind]
        texts = sorted({q[1] for q in qs})
        tidx = {t: i for i, t in enumerate(texts)}
        sets[kind] = Queries(kind, texts, np.array([q[0] for q in qs]), np.array([tidx[q[1]] for q in qs], np.int64),
                             np.array([q[2] for q in qs], np.int64),
                             {g: _positives([q[3] for q in qs], gals[g]) for g in GALLERIES})
    return concepts, gals, sets


def top_k(queries: np.ndarray, gallery: np.ndarray, k: int = TOP_K, block: int = 2048) -> np.ndarray:
    """[n, k] gallery indices of each query's k best scores (ties broken by index, stably)."""
    k = min(k, len(gallery))
    out = np.zeros((len(queries), k), np.int64)
    for start in range(0, len(queries), block):
        scores = np.asarray(queries[start:start + block], np.float32) @ np.asarray(gallery, np.float32).T
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, part, 1), axis=1, kind="stable")
        out[start:start + block] = np.take_along_axis(part, order, 1)
    return out


def overlap_at_k(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per row, the share of a's top-k that is also in b's top-k (order ignored)."""
    return np.array([len(set(x) & set(y)) / max(1, len(x)) for x, y in zip(a.tolist(), b.tolist())])


def mean_samples(arrays: list[np.ndarray]) -> np.ndarray:
    """Group resamples: the mean over languages, ignoring a language a resample left undefined."""
    with warnings.catch_warnings():  # a resample where every language is undefined stays NaN, quietly
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.stack(arrays), axis=0)


def concept_estimate(values: np.ndarray, concept: np.ndarray, weights: np.ndarray) -> tuple[dict, np.ndarray]:
    """A mean over queries with its bootstrap interval over concepts, and the resamples (for pairing)."""
    s = resampled_means(*per_concept(values, concept, weights.shape[1]), weights)
    return estimate(float(values.mean()) if len(values) else float("nan"), s), s


def group_summary(samples: dict[str, dict[str, np.ndarray]], points: dict[str, dict[str, float]],
                  members: list[str]) -> dict:
    """Each metric's mean over a group's languages, with the interval of that mean (resamples shared)."""
    out = {}
    for metric in points:
        vals = [points[metric][lang] for lang in members if lang in points[metric]]
        if not vals:
            continue
        s = mean_samples([samples[metric][lang] for lang in members if lang in samples[metric]])
        out[metric] = estimate(float(np.mean(vals)), s)
    return out


def image_paths(root: Path | None, gallery: list[str]) -> list[str]:
    return [str(root / g) if root is not None and not Path(g).is_absolute() else g for g in gallery]


def evaluate_agreement(models: dict[str, Any], records: list[Record], keywords: list[Record], root: Path | None,
                       split: str = "test", reference: str | None = None, languages: list[str] | None = None,
                       per_language: int = DEFAULT_PER_LANGUAGE, kinds: tuple[str, ...] = QUERY_KINDS,
                       n_boot: int = N_BOOT, seed: int = 0, progress: bool = False,
                       trained_languages: list[str] | None = None) -> dict:
    """Recall per kind and gallery, and agreement with `reference` (overlap@10, cosine)."""
    if reference is not None and reference not in models:
        raise ValueError(f"reference {reference!r} is not among the evaluated models {list(models)}")
    bad = sorted(set(kinds) - set(QUERY_KINDS))
    if bad:
        raise ValueError(f"unknown query kind(s) {', '.join(bad)}; valid: {', '.join(QUERY_KINDS)}")
    concepts, gals, sets = build_query_sets(records, keywords, split, languages, per_language, seed)
    sets = {k: v for k, v in sets.items() if k in kinds and len(v.texts)}
    if not sets:
        raise ValueError(f"no {split} queries" + (f" for languages {', '.join(languages)}" if languages else ""))
    weights = concept_weights(len(concepts), n_boot, seed)
    n_c = len(concepts)
    text_emb: dict[str, dict[str, np.ndarray]] = defaultdict(dict)
    gal_emb: dict[str, dict[str, np.ndarray]] = defaultdict(dict)
    for name, model in models.items():
        if progress:
            print(f"  agreement: encoding {sum(len(q.texts) for q in sets.values()):,} queries and "
                  f"{len(gals['app']):,} images with {name} …", flush=True)
        app = model.encode_image(image_paths(root, gals["app"]))
        where = {p: i for i, p in enumerate(gals["app"])}
        gal_emb[name] = {"app": app, "test": app[[where[p] for p in gals["test"]]]}
        for kind, q in sets.items():
            text_emb[name][kind] = np.asarray(model.encode_text(q.texts), np.float32)
    first = next(iter(models.values()))
    trained = set(trained_languages if trained_languages is not None else info_of(first).languages)
    all_langs = sorted({str(lang) for q in sets.values() for lang in q.language})
    groups = language_groups(all_langs, trained)
    names_q = sets.get("names")
    scripts = {lang: script_of([names_q.texts[i] for i in names_q.text_index[names_q.language == lang][:200]])
                      if names_q is not None else "" for lang in all_langs}

    def est(values: np.ndarray, concept: np.ndarray) -> tuple[dict, np.ndarray]:
        return concept_estimate(values, concept, weights)

    results: dict = {}
    for gallery in GALLERIES:
        results[gallery] = {}
        for kind, q in sets.items():
            per_model, tops, samples, points = {}, {}, {}, {}
            for name in models:
                emb = text_emb[name][kind][q.text_index]
                g = gal_emb[name][gallery]
                table = hit_table(first_hit_ranks(emb, g, q.positives[gallery], MRR_K))
                tops[name] = top_k(emb, g)
                per_model[name], samples[name], points[name] = {}, defaultdict(dict), defaultdict(dict)
                for lang in all_langs:
                    mask = q.language == lang
                    if not mask.any():
                        continue
                    entry = {"queries": int(mask.sum())}
                    for metric in METRICS:
                        entry[metric], s = est(table[metric][mask], q.concept[mask])
                        samples[name][metric][lang], points[name][metric][lang] = s, entry[metric]["value"]
                    per_model[name][lang] = entry
            if reference:
                for name in models:
                    if name == reference:
                        continue
                    overlap = overlap_at_k(tops[name], tops[reference])
                    cos = np.sum(text_emb[name][kind][q.text_index] * text_emb[reference][kind][q.text_index], axis=1)
                    for lang in per_model[name]:
                        mask = q.language == lang
                        ref_s = samples[reference]["R@10"][lang]
                        ref_v = points[reference]["R@10"][lang]
                        mine_v = points[name]["R@10"][lang]
                        entry = per_model[name][lang]
                        entry["ratio"] = estimate(mine_v / ref_v if ref_v > 0 else float("nan"),
                                                  ratio_samples(samples[name]["R@10"][lang], ref_s))
                        for metric, values in (("overlap@10", overlap), ("cosine", cos)):
                            entry[metric], s = est(values[mask], q.concept[mask])
                            samples[name][metric][lang], points[name][metric][lang] = s, entry[metric]["value"]
            by_group = defaultdict(list)
            for lang in all_langs:
                by_group[groups[lang]].append(lang)
            by_group_all = {**{g: by_group[g] for g in GROUPS if by_group.get(g)}, "all": all_langs}
            summary = {}
            for name in models:
                summary[name] = {}
                for g, members in by_group_all.items():
                    members = [lang for lang in members if lang in per_model[name]]
                    if not members:
                        continue
                    summ = group_summary(samples[name], points[name], members)
                    summ["languages"] = len(members)
                    if reference and name != reference:
                        ref_p = float(np.mean([points[reference]["R@10"][lang] for lang in members]))
                        ref_s = mean_samples([samples[reference]["R@10"][lang] for lang in members])
                        mine_s = mean_samples([samples[name]["R@10"][lang] for lang in members])
                        summ["ratio"] = estimate(summ["R@10"]["value"] / ref_p if ref_p > 0 else float("nan"),
                                                 ratio_samples(mine_s, ref_s))
                        worst = min(members, key=lambda lang: (points[name]["overlap@10"][lang], lang))
                        summ["worst_overlap"] = {"language": worst, "value": points[name]["overlap@10"][worst]}
                    summary[name][g] = summ
            results[gallery][kind] = {"queries": int(len(q.language)), "gallery_size": len(gals[gallery]),
                                      "per_language": per_model, "groups": summary}
    return {"split": split, "n_boot": n_boot, "seed": seed, "concepts": n_c, "models": list(models),
            "reference": reference, "per_language_cap": per_language,
            "languages": {lang: {"name": english_name(lang), "script": scripts[lang], "group": groups[lang]} for lang in all_langs},
            "trained_languages": sorted(trained & set(all_langs)), "galleries": {g: len(gals[g]) for g in GALLERIES},
            "results": results}
