"""The ~100-language evaluation as people read it: Markdown tables and one plot sorted by ratio."""
from __future__ import annotations

from pathlib import Path

from core.io import atomic_write_json, atomic_write_text

from .multilingual import GROUPS, HEADLINE
from .report import missing, save_figure

GROUP_COLOURS = {"trained": "#4c72b0", "dev held-out": "#dd8452", "held-out": "#dd5555", "untrained": "#999999", "outside XLM-R": "#55a868"}


def fmt_ci(est: dict | None, nd: int = 3) -> str:
    if not est or missing(est.get("value")):
        return "–"
    lo, hi = est.get("lo"), est.get("hi")
    if missing(lo):
        return f"{est['value']:.{nd}f}"
    return f"{est['value']:.{nd}f} [{lo:.{nd}f}, {hi:.{nd}f}]"


def fmt_pct(x: float | None) -> str:
    return "–" if missing(x) else f"{100 * x:.0f}%"


def verdict(est: dict) -> str:
    """A ratio is a loss or a gain only when its interval excludes 1; otherwise a tie."""
    if not est or missing(est.get("lo")):
        return ""
    return "tie" if est["lo"] <= 1.0 <= est["hi"] else ("lower" if est["hi"] < 1.0 else "higher")


def markdown(rep: dict, title: str) -> str:
    names, ref = rep["models"], rep.get("reference")
    others = [n for n in names if n != ref]
    langs = rep["languages"]
    lines = [f"# {title}", "",
             f"Split `{rep['split']}`: {rep['queries']:,} queries in {len(langs)} languages against one gallery of "
             f"{rep['gallery_size']} test images (emoji and flags together; chance R@10 = "
             f"{min(1.0, 10 / max(1, rep['gallery_size'])):.3f}). Intervals: 95% bootstrap over the "
             f"{rep['concepts']} test concepts ({rep['n_boot']} resamples, shared by all models, so ratios are paired). "
             "A ratio whose interval contains 1 is a tie.", ""]
    if ref:
        lines += [f"Ratios are `model ÷ {ref}`.", ""]
    lines += ["## By language group", "",
              "| group | languages | " + " | ".join(f"{n} text→image {HEADLINE}" for n in names)
              + "".join(f" | {n} ÷ {ref}" for n in others if ref) + " |",
              "| --- | ---: |" + " ---: |" * (len(names) + (len(others) if ref else 0))]
    first = names[0]
    for g in (*GROUPS, "all"):
        summ = rep["groups"][first].get(g)
        if not summ:
            continue
        cells = [fmt_ci(rep["groups"][n][g][HEADLINE]) for n in names]
        if ref:
            cells += [f"{fmt_ci(rep['groups'][n][g].get('ratio'), 2)} {verdict(rep['groups'][n][g].get('ratio'))}" for n in others]
        lines.append(f"| {g} | {summ['languages']} | " + " | ".join(cells) + " |")
    trained = rep.get("trained_languages") or []
    held = [lang for lang, v in langs.items() if v["group"] == "held-out"]
    dev = [lang for lang, v in langs.items() if v["group"] == "dev held-out"]
    lines += ["", f"Trained ({len(trained)}): {', '.join(trained) or '–'}. Dev held-out ({len(dev)}): {', '.join(dev) or '–'} — "
              f"never trained on, read by choices on val only. Test held-out ({len(held)}): {', '.join(held)} — "
              "never in a training input of a teacher head or a student, and in no choice.", ""]
    for n in others:
        if ref and rep["worst"].get(n):
            worst = rep["worst"][n]
            lines += [f"Ten worst languages for `{n}` by ratio: "
                      + ", ".join(f"{lang} ({langs[lang]['name']}) {rep['ratios'][n][lang]['value']:.2f}" for lang in worst) + ".", ""]
    lines += ["## By script", "", "| script | languages | " + " | ".join(f"{n} {HEADLINE}" for n in names)
              + "".join(f" | {n} ÷ {ref}" for n in others if ref) + " |",
              "| --- | ---: |" + " ---: |" * (len(names) + (len(others) if ref else 0))]
    for sc, summ in rep["scripts"][first].items():
        cells = [fmt_ci(rep["scripts"][n][sc][HEADLINE]) for n in names]
        if ref:
            cells += [fmt_ci(rep["scripts"][n][sc].get("ratio"), 2) for n in others]
        lines.append(f"| {sc} | {summ['languages']} | " + " | ".join(cells) + " |")
    # per language, sorted by the first non-reference model's ratio (else by score)
    key_model = others[0] if ref and others else first
    if ref and others:
        order = sorted(langs, key=lambda lang: (rep["ratios"][key_model][lang]["value"], lang))
    else:
        order = sorted(langs, key=lambda lang: (rep["per_model"][first][lang]["t2i"][HEADLINE]["value"], lang))
    tok = rep.get("tokenization", {}).get(key_model, {})
    head = ["lang", "name", "script", "group", "queries"] + [f"{n} t2i {HEADLINE}" for n in names] \
        + [f"{n} i2t {HEADLINE}" for n in names] + ([f"{key_model} ÷ {ref}"] if ref and others else []) \
        + (["same pieces as teacher", "unk pieces"] if tok else [])
    lines += ["", "## Per language", "", "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for lang in order:
        info = langs[lang]
        cells = [lang, info["name"], info["script"], info["group"], str(info["queries"])]
        cells += [fmt_ci(rep["per_model"][n][lang]["t2i"][HEADLINE]) for n in names]
        cells += [fmt_ci(rep["per_model"][n][lang]["i2t"][HEADLINE]) for n in names]
        if ref and others:
            r = rep["ratios"][key_model][lang]
            cells.append(f"{fmt_ci(r, 2)} {verdict(r)}")
        if tok:
            t = tok.get(lang, {})
            cells += [fmt_pct(t.get("parity")), fmt_pct(t.get("unk_rate"))]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "R@1, R@5 and MRR@10 per language and direction, with intervals, are in `multilingual.json`."]
    return "\n".join(lines) + "\n"


def plot_languages(ax, rep: dict, model: str | None = None) -> None:
    """Per-language ratio of `model` to the reference (or its score, without one), sorted,
    interval bars, coloured by group: language loss shows as a red tail."""
    import numpy as np
    from matplotlib.patches import Patch

    names, ref = rep["models"], rep.get("reference")
    langs = rep["languages"]
    model = model or next((n for n in names if n != ref), names[0])
    if ref and model != ref:
        est = rep["ratios"][model]
        ylabel, title = f"text→image {HEADLINE} ÷ teacher", f"{model} ÷ {ref}, per language (95% paired bootstrap)"
    else:
        est = {lang: rep["per_model"][model][lang]["t2i"][HEADLINE] for lang in langs}
        ylabel, title = f"text→image {HEADLINE}", f"{model}, per language (95% bootstrap)"
    order = sorted(langs, key=lambda lang: (est[lang]["value"], lang))
    vals = np.array([est[lang]["value"] for lang in order])
    lo = np.array([est[lang]["lo"] for lang in order])
    hi = np.array([est[lang]["hi"] for lang in order])
    x = np.arange(len(order))
    ax.bar(x, vals, color=[GROUP_COLOURS.get(langs[lang]["group"], "#999999") for lang in order], width=0.8)
    ax.errorbar(x, vals, yerr=[np.clip(vals - lo, 0, None), np.clip(hi - vals, 0, None)], fmt="none",
                ecolor="black", elinewidth=0.6, capsize=0)
    if ref and model != ref:
        ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
    ax.set_xticks(x)
    ax.set_xticklabels(order, rotation=90, fontsize=6)
    ax.set_xlim(-0.6, len(order) - 0.4)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    present = [g for g in GROUP_COLOURS if any(v["group"] == g for v in langs.values())]
    ax.legend(handles=[Patch(color=GROUP_COLOURS[g], label=g) for g in present], fontsize=8, loc="upper left")


def plot(rep: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(8, 0.17 * len(rep["languages"]) + 2), 4.2))
    plot_languages(ax, rep)
    return save_figure(fig, path)


def write_multilingual(out_dir: Path, rep: dict, title: str) -> dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out_dir / "multilingual.json", rep)
    atomic_write_text(out_dir / "multilingual.md", markdown(rep, title))
    return {"json": out_dir / "multilingual.json", "markdown": out_dir / "multilingual.md",
            "plot": plot(rep, out_dir / "multilingual.png")}
