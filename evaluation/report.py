"""Reports people read: JSON for machines, a Markdown table, and per-language bar plots.

Given several models (a teacher, its student, a baseline) the tables put them side by side,
and every model after the first also gets its ratio to the first (student / teacher).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from core.io import atomic_path, atomic_write_json, atomic_write_text
from core.languages import EMOJI_LANGUAGES

METRICS = ("R@1", "R@5", "R@10", "MRR@10")


def missing(x: Any) -> bool:
    """No number to show: absent, not a number, or NaN (a metric undefined for this slice)."""
    return x is None or isinstance(x, bool) or not isinstance(x, (int, float)) or math.isnan(x)


def _f(x: Any, nd: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.{nd}f}" if isinstance(x, float) else str(x)


def _ratio(a: Any, b: Any) -> str:
    return "–" if missing(a) or missing(b) or not b else f"{a / b:.2f}"


def markdown(reports: dict[str, dict], title: str) -> str:
    names = list(reports)
    ref = names[0]
    lines = [f"# {title}", ""]
    first = reports[ref]
    lines += [f"Split: `{first.get('split')}`. Models: " + ", ".join(f"`{n}`" for n in names)
              + (f". Ratios are to `{ref}`." if len(names) > 1 else "."), ""]
    # summary
    keys = sorted({k for r in reports.values() for k in r.get("summary", {})})
    head = "| metric | " + " | ".join(names) + "".join(f" | {n} / {ref}" for n in names[1:]) + " |"
    lines += ["## Summary", "", head, "|" + " --- |" * (1 + 2 * len(names) - 1)]
    for k in keys:
        vals = [reports[n].get("summary", {}).get(k) for n in names]
        lines.append(f"| {k} | " + " | ".join(_f(v) for v in vals)
                     + "".join(f" | {_ratio(v, vals[0])}" for v in vals[1:]) + " |")
    if "chance" in first:
        lines += ["", "Chance level: " + ", ".join(f"{k} = {_f(v)}" for k, v in first["chance"].items()) + "."]
    # emoji retrieval per language
    for kind, direction in (("emoji", "t2i"), ("emoji", "i2t"), ("flag", "t2i")):
        per = {n: reports[n].get("retrieval", {}).get(kind, {}).get(direction, {}) for n in names}
        langs = sorted({lang for p in per.values() for lang in p})
        if not langs:
            continue
        metrics = METRICS if kind == "emoji" else ("R@1", "R@10")
        label = "text→image" if direction == "t2i" else "image→text"
        gallery = reports[ref]["retrieval"][kind].get("gallery_size")
        where = f"gallery: {gallery} images" if direction == "t2i" else \
            f"{gallery} image queries against all captions of the language"
        lines += ["", f"## {kind} retrieval, {label} ({where})", ""]
        cols = [f"{n} {m}" for n in names for m in metrics]
        lines += ["| lang | " + " | ".join(cols) + " |", "|" + " --- |" * (1 + len(cols))]
        for lang in langs:
            lines.append(f"| {lang} | " + " | ".join(_f(per[n].get(lang, {}).get(m)) for n in names for m in metrics) + " |")
        skipped = reports[ref]["retrieval"][kind].get("skipped_languages")
        if skipped:
            lines += ["", f"Skipped (no captions in this split): {', '.join(skipped)}"]
    # consistency
    for kind in ("emoji", "flag"):
        per = {n: reports[n].get("consistency", {}).get(kind, {}).get("per_language", {}) for n in names}
        langs = sorted({lang for p in per.values() for lang in p})
        if not langs:
            continue
        lines += ["", f"## {kind}: cross-lingual consistency (vs English)", "",
                  "| lang | " + " | ".join(f"{n} cos(transl) | {n} cos(random) | {n} overlap@10" for n in names) + " |",
                  "|" + " --- |" * (1 + 3 * len(names))]
        for lang in langs:
            cells = []
            for n in names:
                v = per[n].get(lang, {})
                cells += [_f(v.get("translation_cos")), _f(v.get("random_cos")), _f(v.get("overlap@10"))]
            lines.append(f"| {lang} | " + " | ".join(cells) + " |")
        clus = {n: reports[n].get("consistency", {}).get(kind, {}).get("clustering") for n in names}
        if any(clus.values()):
            lines += ["", "Clustering of caption embeddings (k-means, k = concepts), adjusted mutual information: "
                      + "; ".join(f"`{n}` concept {_f(c['ami_concept'])} / language {_f(c['ami_language'])}"
                                  for n, c in clus.items() if c) + " (high concept, low language is good)."]
    # VQA
    for kind in ("photo", "flag"):
        per = {n: reports[n].get("vqa", {}).get(kind, {}) for n in names}
        langs = sorted({lang for p in per.values() for lang in p})
        if not langs:
            continue
        chance = next(iter(per[ref].values()), {}).get("chance")
        lines += ["", f"## Out-of-domain VQA: {kind} (multiple choice, chance {_f(chance, 2)})", "",
                  "| lang | " + " | ".join(names) + " |", "|" + " --- |" * (1 + len(names))]
        for lang in langs:
            lines.append(f"| {lang} | " + " | ".join(_f(per[n].get(lang, {}).get("accuracy")) for n in names) + " |")
    # cost
    costs = {n: reports[n].get("cost") for n in names if reports[n].get("cost")}
    if costs:
        lines += ["", "## Cost", "", *cost_table(costs)]
    return "\n".join(lines) + "\n"


def cost_table(costs: dict[str, dict], memory: dict[str, int] | None = None) -> list[str]:
    """`measure_cost` results as a table (with a peak-RAM column when `memory` is given) and the machine."""
    head = "| model | text params | image params | checkpoint MB | text ms b1 | text ms b32 | captions/s | image ms b1 |"
    lines = [head + (" peak RAM MB (load + 100 queries) |" if memory is not None else ""),
             "| --- |" + " ---: |" * (7 + (memory is not None))]
    for n, c in costs.items():
        p, t, i = c.get("parameters", {}), c.get("text", {}), c.get("image", {})
        size = c.get("checkpoint_bytes")
        lines.append(f"| {n} | {p.get('text', 0):,} | {p.get('image', 0):,} | "
                     f"{_f(size / 1e6, 1) if size else '–'} | {_f(t.get('latency_ms_b1'), 1)} | "
                     f"{_f(t.get('latency_ms_b32'), 1)} | {_f(t.get('throughput_per_s'), 0)} | {_f(i.get('latency_ms_b1'), 1)} |"
                     + (f" {memory.get(n, '–')} |" if memory is not None else ""))
    m = next(iter(costs.values()))["machine"]
    return lines + ["", f"Measured on {m['cores']} cores ({m['cpu']}), torch {m['torch']}, {m['torch_threads']} threads."]


def plot_per_language(reports: dict[str, dict], path: Path, kind: str = "emoji", direction: str = "t2i",
                      metric: str = "R@10", section: str = "retrieval") -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    def values(r):
        if section == "vqa":
            return {k: v["accuracy"] for k, v in r.get("vqa", {}).get(kind, {}).items()}
        return {k: v[metric] for k, v in r.get("retrieval", {}).get(kind, {}).get(direction, {}).items()}

    per = {n: values(r) for n, r in reports.items()}
    langs = sorted({lang for v in per.values() for lang in v}, key=lambda x: (x not in EMOJI_LANGUAGES, x))
    if not langs:
        return None
    width = 0.8 / len(per)
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(langs) * max(1, len(per) / 2) + 2), 3.6))
    x = np.arange(len(langs))
    for i, (name, vals) in enumerate(per.items()):
        ax.bar(x + i * width - 0.4 + width / 2, [vals.get(lang, 0) for lang in langs], width, label=name)
    ax.set_xticks(x)
    ax.set_xticklabels(langs, rotation=90 if len(langs) > 20 else 0, fontsize=7 if len(langs) > 20 else 9)
    ax.set_ylim(0, 1)
    what = "VQA accuracy" if section == "vqa" else f"{'text→image' if direction == 't2i' else 'image→text'} {metric}"
    ax.set_ylabel(what)
    ax.set_title(f"{kind}: {what} per language")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def save_figure(fig, path: Path) -> Path:
    """Tight layout, PNG, atomic write, figure closed (pyplot keeps every open figure alive)."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def write_report(out_dir: Path, reports: dict[str, dict], title: str) -> dict[str, Path]:
    """report.json, report.md and the per-language plots; returns the written paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out_dir / "report.json", reports)
    atomic_write_text(out_dir / "report.md", markdown(reports, title))
    files = {"json": out_dir / "report.json", "markdown": out_dir / "report.md"}
    for key, args in {"emoji_t2i": ("emoji", "t2i", "R@10", "retrieval"),
                      "emoji_i2t": ("emoji", "i2t", "R@10", "retrieval"),
                      "flag_t2i": ("flag", "t2i", "R@10", "retrieval"),
                      "vqa_photo": ("photo", "", "", "vqa"), "vqa_flag": ("flag", "", "", "vqa")}.items():
        p = plot_per_language(reports, out_dir / f"{key}.png", *args)
        if p:
            files[key] = p
    return files
