"""Cross-lingual consistency in every language of the corpus: does a name land beside its English twin?

The paper's headline axis, measured per language and per language group on the ~100-language
split (the 14-language suite in `consistency.py` measures the same things on captions):

- `translation_cos`: cosine of a name with the English name of the same concept; `random_cos`: with
  the English name of another concept of the split (a seeded derangement); `gap` = their
  difference, per query. A model that keeps languages apart has a small gap.
- `en_overlap@10`: share of the top 10 images (the app's gallery, every corpus image) that a name
  and its English twin have in common: does a Thai user see what an English user sees?
- clustering: k-means with k = the split's concepts over the group's names and their English twins; adjusted
  mutual information with the concept labels (high: organised by meaning) and with the language
  labels (high: organised by language). At most `ami_languages` languages per group (seeded),
  point values only: k-means is too slow to bootstrap.

Intervals: 95% bootstrap over the split's concepts, one draw shared by every model, language and
metric (as in `agreement.py`), so a student-teacher difference is paired.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from core.languages import english_name
from core.records import Record
from zoo.info import info_of

from .agreement import build_query_sets, concept_estimate, group_summary, image_paths, mean_samples, top_k
from .bootstrap import N_BOOT, concept_weights, estimate
from .consistency import clustering_ami
from .multilingual import GROUPS, language_groups

METRICS = ("translation_cos", "random_cos", "gap", "en_overlap@10")
AMI_LANGUAGES = 20


def english_twins(texts: list[str], language: np.ndarray, text_index: np.ndarray, concept: np.ndarray) -> dict[int, int]:
    """concept -> the text index of its English name (the first in sorted order)."""
    twins: dict[int, int] = {}
    for i in np.argsort([texts[t] for t in text_index], kind="stable"):
        if language[i] == "en":
            twins.setdefault(int(concept[i]), int(text_index[i]))
    return twins


def derangement(concepts: np.ndarray, seed: int) -> np.ndarray:
    """For each query, another concept of the same query list (never its own)."""
    distinct = np.unique(concepts)
    if len(distinct) < 2:
        return np.full(len(concepts), -1)
    rng = np.random.default_rng(seed)
    pos = np.searchsorted(distinct, concepts)
    return distinct[(pos + rng.integers(1, len(distinct), size=len(concepts))) % len(distinct)]


def evaluate_crosslingual(models: dict[str, Any], records: list[Record], root: Path | None, split: str = "test",
                          reference: str | None = None, languages: list[str] | None = None, n_boot: int = N_BOOT,
                          seed: int = 0, ami_languages: int = AMI_LANGUAGES, progress: bool = False,
                          trained_languages: list[str] | None = None) -> dict:
    if reference is not None and reference not in models:
        raise ValueError(f"reference {reference!r} is not among the evaluated models {list(models)}")
    wanted = None if languages is None else sorted({*languages, "en"})  # every name needs its English twin
    concepts, gals, sets = build_query_sets(records, [], split, wanted, per_language=1, seed=seed)
    q = sets["names"]
    twins = english_twins(q.texts, q.language, q.text_index, q.concept)
    keep = np.array([lang != "en" and int(c) in twins for lang, c in zip(q.language, q.concept)], bool)
    if not keep.any():
        raise ValueError(f"no {split} names with an English twin" + (f" for {', '.join(languages)}" if languages else ""))
    language, concept, text_index = q.language[keep], q.concept[keep], q.text_index[keep]
    twin_index = np.array([twins[int(c)] for c in concept])
    other = derangement(concept, seed)
    other_twin = np.array([twins.get(int(c), -1) for c in other])
    weights = concept_weights(len(concepts), n_boot, seed)
    all_langs = sorted({str(lang) for lang in language})
    first = next(iter(models.values()))
    trained = set(trained_languages if trained_languages is not None else info_of(first).languages)
    groups = language_groups(all_langs, trained)
    members = {**{g: [lang for lang in all_langs if groups[lang] == g] for g in GROUPS}, "all": all_langs}
    members = {g: m for g, m in members.items() if m}
    rng = np.random.default_rng(seed)
    ami_members = {g: sorted(rng.choice(m, min(ami_languages, len(m)), replace=False).tolist()) for g, m in members.items()}

    per_language: dict[str, dict] = {}
    summary: dict[str, dict] = {}
    samples: dict[str, dict] = {}
    points: dict[str, dict] = {}
    for name, model in models.items():
        if progress:
            print(f"  consistency: encoding {len(q.texts):,} names and {len(gals['app']):,} images with {name} …", flush=True)
        text = np.asarray(model.encode_text(q.texts), np.float32)
        gallery = np.asarray(model.encode_image(image_paths(root, gals["app"])), np.float32)
        emb, en = text[text_index], text[twin_index]
        values = {"translation_cos": np.sum(emb * en, axis=1)}
        random_en = text[np.where(other_twin >= 0, other_twin, twin_index)]
        values["random_cos"] = np.where(other_twin >= 0, np.sum(emb * random_en, axis=1), np.nan)
        values["gap"] = values["translation_cos"] - values["random_cos"]
        twin_rows = sorted(set(twin_index.tolist()))  # each English twin ranked once, not once per language
        tops_twin = top_k(text[twin_rows], gallery)
        row_of = {t: i for i, t in enumerate(twin_rows)}
        tops = top_k(emb, gallery)
        values["en_overlap@10"] = np.array([len(set(a) & set(tops_twin[row_of[t]])) / max(1, len(a))
                                           for a, t in zip(tops.tolist(), twin_index.tolist())])
        per_language[name], samples[name], points[name] = {}, defaultdict(dict), defaultdict(dict)
        for lang in all_langs:
            mask = language == lang
            entry = {"queries": int(mask.sum())}
            for metric in METRICS:
                ok = mask & np.isfinite(values[metric])
                entry[metric], s = concept_estimate(values[metric][ok], concept[ok], weights)
                samples[name][metric][lang], points[name][metric][lang] = s, entry[metric]["value"]
            per_language[name][lang] = entry
        summary[name] = {}
        for g, langs in members.items():
            summ = group_summary(samples[name], points[name], langs)
            summ["languages"] = len(langs)
            ami_mask = np.isin(q.language, [*ami_members[g], "en"])  # with the English twins: two or more languages
            summ["clustering"] = {**clustering_ami(text[q.text_index[ami_mask]], q.concept[ami_mask].tolist(),
                                                   q.language[ami_mask].tolist(), seed),
                                  "languages": len(ami_members[g])}
            summary[name][g] = summ
    if reference:  # paired: student minus teacher, same resamples
        for name in models:
            if name == reference:
                continue
            for g, langs in members.items():
                for metric in ("gap", "en_overlap@10"):
                    mine = mean_samples([samples[name][metric][lang] for lang in langs])
                    ref = mean_samples([samples[reference][metric][lang] for lang in langs])
                    point = summary[name][g][metric]["value"] - summary[reference][g][metric]["value"]
                    summary[name][g][f"{metric} vs reference"] = estimate(point, mine - ref)
    return {"split": split, "n_boot": n_boot, "seed": seed, "concepts": len(concepts), "models": list(models),
            "reference": reference, "gallery_size": len(gals["app"]), "ami_languages": ami_members,
            "languages": {lang: {"name": english_name(lang), "group": groups[lang]} for lang in all_langs},
            "trained_languages": sorted(trained & set(all_langs)), "per_language": per_language, "groups": summary}


def _ci(e: dict, digits: int = 3) -> str:
    return f"{e['value']:.{digits}f} [{e['lo']:.{digits}f}, {e['hi']:.{digits}f}]"


def _diff(e: dict) -> str:
    verdict = "higher" if e["lo"] > 0 else "lower" if e["hi"] < 0 else "tie"
    return f"{e['value']:+.3f} [{e['lo']:+.3f}, {e['hi']:+.3f}] {verdict}"


def crosslingual_markdown(rep: dict) -> list[str]:
    """Group tables (every model; paired differences from the reference) and a per-language table."""
    ref = rep["reference"]
    lines = [f"Split `{rep['split']}`, {len(rep['languages'])} languages, each name against the English name of the same "
             f"concept; top 10 over the app's gallery ({rep['gallery_size']:,} images). 95% bootstrap intervals over the "
             f"{rep['concepts']} concepts, paired across models. Clustering (k-means, k = concepts, names with their English "
             "twins; adjusted mutual information) uses at most "
             f"{max(len(v) for v in rep['ami_languages'].values())} languages per group, point values.", ""]
    for name in rep["models"]:
        lines += [f"### `{name}`", "",
                  "| group | languages | translation cos | random cos | gap | overlap@10 with English | AMI concept | AMI language |"
                  + (" gap − reference | overlap − reference |" if ref and name != ref else ""),
                  "| --- | ---: | --- | --- | --- | --- | ---: | ---: |" + (" --- | --- |" if ref and name != ref else "")]
        for g, s in rep["groups"][name].items():
            row = (f"| {g} | {s['languages']} | {_ci(s['translation_cos'])} | {_ci(s['random_cos'])} | {_ci(s['gap'])} | "
                   f"{_ci(s['en_overlap@10'], 2)} | {s['clustering']['ami_concept']:.3f} | {s['clustering']['ami_language']:.3f} |")
            if ref and name != ref:
                row += f" {_diff(s['gap vs reference'])} | {_diff(s['en_overlap@10 vs reference'])} |"
            lines.append(row)
        lines.append("")
    models = rep["models"]
    lines += ["### Per language", "", "| language | group | " + " | ".join(f"`{m}` gap | `{m}` overlap@10" for m in models) + " |",
              "| --- | --- |" + " ---: | ---: |" * len(models)]
    for lang, meta in rep["languages"].items():
        cells = [f"{rep['per_language'][m][lang]['gap']['value']:.3f} | {rep['per_language'][m][lang]['en_overlap@10']['value']:.2f}"
                 for m in models]
        lines.append(f"| {lang} ({meta['name']}) | {meta['group']} | " + " | ".join(cells) + " |")
    return lines
