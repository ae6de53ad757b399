"""The ~100-language evaluation: can a smaller model still find images in every language?

One gallery — every test image, emoji and flags together — and, as queries, every name of a test
concept in every language the corpus has (CLDR annotation names, `emoji`-package names, CLDR
territory names; never keywords, which belong to many concepts). Per language: text→image
R@1/5/10 and MRR@10, image→text the same, each with a 95% bootstrap interval over concepts;
against a reference model (the teacher), the ratio of R@10 with a *paired* interval. Languages
are summarised by group — trained (the model distilled on them), dev held-out and held out (never
trained on; the dev group informs choices on val, the test group nothing),
untrained (neither), outside XLM-R (not even in the text tower's pretraining) — and by script;
the ten worst languages by ratio are listed; tokenization parity says, per language, how often
the model cuts a query into exactly the teacher's pieces.

A language with no test query is "not scored" (absent from the tables), never 0 or 1.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.languages import DEV_HELD_OUT_LANGUAGES, TEST_HELD_OUT_LANGUAGES, XLMR_LANGUAGES, english_name, script_of
from core.records import Record
from zoo.info import info_of

from .bootstrap import N_BOOT, concept_weights, estimate, per_concept, ratio_samples, resampled_means
from .retrieval import MRR_K, first_hit_ranks, hit_table

RETRIEVAL_KINDS = ("emoji", "flag")
NON_QUERY_SOURCES = ("cldr-keyword",)
METRICS = ("R@1", "R@5", "R@10", f"MRR@{MRR_K}")
HEADLINE = "R@10"
# "held-out" is the test held-out group (never trained on, never chooses anything); "dev held-out"
# is never trained on either, and is the unseen-language signal choices read on val.
GROUPS = ("trained", "dev held-out", "held-out", "untrained", "outside XLM-R")
WORST_N = 10


@dataclass
class QuerySet:
    """Test queries and gallery, indexed once and shared by every model of a run."""

    concepts: list[str]
    gallery: list[str]  # image paths as the manifest names them
    gallery_concept: np.ndarray  # concept index of each gallery image
    texts: list[str]  # distinct query texts
    query_language: np.ndarray  # per query
    query_text: np.ndarray  # index into texts
    query_concept: np.ndarray  # index into concepts
    languages: list[str] = field(default_factory=list)


def build_queries(records: list[Record], split: str = "test", languages: list[str] | None = None) -> QuerySet:
    wanted = set(languages) if languages else None
    rows = sorted({(r.language, r.caption, r.concept, r.image) for r in records
                   if r.split == split and r.kind in RETRIEVAL_KINDS and r.source not in NON_QUERY_SOURCES
                   and (wanted is None or r.language in wanted)})
    concepts = sorted({r[2] for r in rows})
    cidx = {c: i for i, c in enumerate(concepts)}
    image_concept = {r[3]: r[2] for r in rows}
    gallery = sorted(image_concept)
    texts = sorted({r[1] for r in rows})
    tidx = {t: i for i, t in enumerate(texts)}
    return QuerySet(concepts, gallery, np.array([cidx[image_concept[g]] for g in gallery], np.int64), texts,
                    np.array([r[0] for r in rows]), np.array([tidx[r[1]] for r in rows], np.int64),
                    np.array([cidx[r[2]] for r in rows], np.int64), sorted({r[0] for r in rows}))


@dataclass
class ModelHits:
    """Per-query results of one model: what the bootstrap resamples."""

    t2i: dict[str, np.ndarray]  # metric -> per query
    i2t: dict[str, tuple[dict[str, np.ndarray], np.ndarray]]  # language -> (metric -> per image, concept per image)


def score_model(model: Any, qs: QuerySet, root: Path | None) -> ModelHits:
    text = model.encode_text(qs.texts)
    paths = [str(root / g) if root is not None and not Path(g).is_absolute() else g for g in qs.gallery]
    gallery = model.encode_image(paths)
    positives_of = defaultdict(set)
    for gi, c in enumerate(qs.gallery_concept):
        positives_of[int(c)].add(gi)
    ranks = first_hit_ranks(text[qs.query_text], gallery, [positives_of[int(c)] for c in qs.query_concept])
    i2t = {}
    for lang in qs.languages:
        mask = qs.query_language == lang
        q_text, q_concept = qs.query_text[mask], qs.query_concept[mask]
        caps_of = defaultdict(set)
        for qi, c in enumerate(q_concept):
            caps_of[int(c)].add(qi)
        images = [gi for gi, c in enumerate(qs.gallery_concept) if int(c) in caps_of]
        r = first_hit_ranks(gallery[images], text[q_text], [caps_of[int(qs.gallery_concept[g])] for g in images])
        i2t[lang] = (hit_table(r), qs.gallery_concept[images])
    return ModelHits(hit_table(ranks), i2t)


def language_groups(languages: list[str], trained: set[str]) -> dict[str, str]:
    def group(lang: str) -> str:
        if lang in TEST_HELD_OUT_LANGUAGES:
            return "held-out"
        if lang in DEV_HELD_OUT_LANGUAGES:
            return "dev held-out"
        if lang in trained:
            return "trained"
        return "untrained" if lang in XLMR_LANGUAGES else "outside XLM-R"

    return {lang: group(lang) for lang in languages}


def tokenization_parity(model: Any, reference: Any, texts_by_language: dict[str, list[str]]) -> dict[str, dict]:
    """Per language: the share of queries the model tokenizes into exactly the reference's pieces,
    and each side's unknown-piece rate. Empty when either model does not expose its tokenizer."""
    towers = [getattr(m, "text", None) for m in (model, reference)]
    if not all(hasattr(t, "tokenizer") and hasattr(t.tokenizer, "encode_batch") for t in towers):
        return {}

    def pieces(tower, texts):
        prefix = getattr(tower, "prefix", "") or ""
        unk = tower.tokenizer.token_to_id("<unk>")
        encs = tower.tokenizer.encode_batch([prefix + t for t in texts], add_special_tokens=False)
        return [e.tokens for e in encs], sum(sum(i == unk for i in e.ids) for e in encs), sum(len(e.ids) for e in encs)

    out = {}
    for lang, texts in sorted(texts_by_language.items()):
        (mine, m_unk, m_n), (ref, r_unk, r_n) = pieces(towers[0], texts), pieces(towers[1], texts)
        out[lang] = {"parity": float(np.mean([a == b for a, b in zip(mine, ref)])),
                     "unk_rate": m_unk / max(1, m_n), "reference_unk_rate": r_unk / max(1, r_n),
                     "pieces_per_query": m_n / max(1, len(texts)), "reference_pieces_per_query": r_n / max(1, len(texts))}
    return out


def evaluate_multilingual(models: dict[str, Any], records: list[Record], root: Path | None, split: str = "test",
                          reference: str | None = None, languages: list[str] | None = None,
                          n_boot: int = N_BOOT, seed: int = 0, progress: bool = False,
                          keep_samples: bool = False, trained_languages: list[str] | None = None) -> dict:
    """Scores, intervals, ratios to `reference`, groups, scripts and tokenization parity.

    With `keep_samples`, `report["group_samples"][model][group]` holds the [n_boot] resampled
    group means (numpy, not JSON): calls with the same `seed` and split draw the same concept
    resamples, so samples from separate calls pair up (the study combines seeds this way).
    `trained_languages` names the trained group for encoders that carry no info (ONNX exports)."""
    qs = build_queries(records, split, languages)
    if not qs.texts:
        raise ValueError(f"no {split} queries in {', '.join(RETRIEVAL_KINDS)} rows"
                         + (f" for languages {', '.join(languages)}" if languages else ""))
    if reference is not None and reference not in models:
        raise ValueError(f"reference {reference!r} is not among the evaluated models {list(models)}")
    weights = concept_weights(len(qs.concepts), n_boot, seed)
    hits = {}
    for name, model in models.items():
        if progress:
            print(f"  encoding {len(qs.texts)} queries and {len(qs.gallery)} images with {name} …", flush=True)
        hits[name] = score_model(model, qs, root)
    texts_by_language = defaultdict(list)
    for lang, ti in zip(qs.query_language, qs.query_text):
        texts_by_language[str(lang)].append(qs.texts[ti])
    first = next(iter(models.values()))
    trained = set(trained_languages if trained_languages is not None else info_of(first).languages)
    groups = language_groups(qs.languages, trained)
    scripts = {lang: script_of(texts_by_language[lang][:200]) for lang in qs.languages}

    # resampled per-language headline values, for groups and ratios: name -> lang -> [n_boot]
    samples: dict[str, dict[str, np.ndarray]] = defaultdict(dict)
    isamples: dict[str, dict[str, np.ndarray]] = defaultdict(dict)  # the same for image→text
    per_model: dict[str, dict] = {}
    n_c = len(qs.concepts)
    for name, h in hits.items():
        table = {}
        for lang in qs.languages:
            mask = qs.query_language == lang
            entry = {"t2i": {}, "i2t": {}, "queries": int(mask.sum())}
            for metric in METRICS:
                vals = h.t2i[metric][mask]
                s = resampled_means(*per_concept(vals, qs.query_concept[mask], n_c), weights)
                entry["t2i"][metric] = estimate(vals.mean(), s)
                if metric == HEADLINE:
                    samples[name][lang] = s
                ivals, iconcepts = h.i2t[lang][0][metric], h.i2t[lang][1]
                si = resampled_means(*per_concept(ivals, iconcepts, n_c), weights)
                entry["i2t"][metric] = estimate(ivals.mean(), si)
                if metric == HEADLINE:
                    isamples[name][lang] = si
            table[lang] = entry
        per_model[name] = table

    group_samples: dict[str, dict[str, np.ndarray]] = {}

    def group_summary(name: str, members: list[str], label: str = "") -> dict:
        """The group's mean R@10 text→image (`R@10`, `ratio`) and image→text (`i2t R@10`, `i2t ratio`),
        each with its interval; the ratios against `reference` from the same concept resamples."""
        out: dict = {"languages": len(members)}
        for key, direction, draws in ((HEADLINE, "t2i", samples), (f"i2t {HEADLINE}", "i2t", isamples)):
            point = float(np.mean([per_model[name][lang][direction][HEADLINE]["value"] for lang in members]))
            s = np.nanmean(np.stack([draws[name][lang] for lang in members]), axis=0)
            out[key] = estimate(point, s)
            if keep_samples and label and direction == "t2i":
                group_samples.setdefault(name, {})[label] = s
            if reference and name != reference:
                ref_point = float(np.mean([per_model[reference][lang][direction][HEADLINE]["value"] for lang in members]))
                ref_s = np.nanmean(np.stack([draws[reference][lang] for lang in members]), axis=0)
                out["ratio" if direction == "t2i" else "i2t ratio"] = estimate(
                    point / ref_point if ref_point > 0 else float("nan"), ratio_samples(s, ref_s))
        return out

    report: dict = {
        "split": split, "n_boot": n_boot, "seed": seed, "gallery_size": len(qs.gallery), "concepts": n_c,
        "queries": int(len(qs.query_text)), "models": list(models), "reference": reference,
        "languages": {lang: {"name": english_name(lang), "script": scripts[lang], "group": groups[lang],
                             "queries": per_model[next(iter(models))][lang]["queries"]} for lang in qs.languages},
        "trained_languages": sorted(trained & set(qs.languages)),
        "per_model": per_model, "ratios": {}, "groups": {}, "scripts": {}, "worst": {}, "tokenization": {},
    }
    by_group = defaultdict(list)
    by_script = defaultdict(list)
    for lang in qs.languages:
        by_group[groups[lang]].append(lang)
        by_script[scripts[lang]].append(lang)
    for name in models:
        report["groups"][name] = {g: group_summary(name, by_group[g], g) for g in GROUPS if by_group.get(g)}
        report["groups"][name]["all"] = group_summary(name, qs.languages, "all")
        report["scripts"][name] = {sc: group_summary(name, langs) for sc, langs in sorted(by_script.items())}
        if reference and name != reference:
            ratios = {}
            for lang in qs.languages:
                mine, ref = per_model[name][lang]["t2i"][HEADLINE]["value"], per_model[reference][lang]["t2i"][HEADLINE]["value"]
                ratios[lang] = estimate(mine / ref if ref > 0 else float("nan"),
                                        ratio_samples(samples[name][lang], samples[reference][lang]))
            report["ratios"][name] = ratios
            scored = [lang for lang in qs.languages if ratios[lang]["value"] == ratios[lang]["value"]]
            report["worst"][name] = sorted(scored, key=lambda lang: (ratios[lang]["value"], lang))[:WORST_N]
            parity = tokenization_parity(models[name], models[reference], texts_by_language)
            if parity:
                report["tokenization"][name] = parity
    if keep_samples:
        report["group_samples"] = group_samples
    return report
