"""The agreement evaluation as people read it: group tables per gallery and query kind, and one
per-language table on the app's gallery."""
from __future__ import annotations

from .agreement import GALLERIES, QUERY_KINDS
from .multilingual import GROUPS
from .multilingual_report import fmt_ci, verdict

GALLERY_TITLES = {"app": "the app's gallery (every corpus image)", "test": "the test images only"}


def group_rows(rep: dict, student: str, gallery: str, kind: str) -> list[list[str]]:
    res = rep["results"].get(gallery, {}).get(kind)
    if not res:
        return []
    teacher = rep["reference"]
    rows = []
    for g in (*GROUPS, "all"):
        s, t = res["groups"][student].get(g), res["groups"][teacher].get(g)
        if not s:
            continue
        worst = s.get("worst_overlap", {})
        rows.append([g, str(s["languages"]), fmt_ci(t["R@10"]), fmt_ci(s["R@10"]),
                     f"{fmt_ci(s.get('ratio'), 2)} {verdict(s.get('ratio'))}".strip(),
                     fmt_ci(s.get("overlap@10"), 2), fmt_ci(s.get("cosine"), 3),
                     f"{worst.get('language', '–')} {worst.get('value', float('nan')):.2f}" if worst else "–"])
    return rows


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def agreement_markdown(rep: dict, student: str, level: int = 2) -> list[str]:
    """Sections for one student beside its teacher (`rep["reference"]`)."""
    h = "#" * level
    teacher = rep["reference"]
    lines = [f"{h} `{student}` beside `{teacher}`: recall, top-10 overlap and cosine", "",
             f"Split `{rep['split']}`; query kinds: names, keywords (≤ {rep['per_language_cap']} per language, seeded), "
             "phrases (two names joined by \", \", ≤ the same cap). *overlap@10*: share of the student's top 10 that is "
             "in the teacher's top 10 over the same gallery; *cosine*: S(x)·T(x) in the teacher's space. 95% bootstrap "
             f"intervals over the {rep['concepts']} {rep['split']} concepts, paired; *worst* is the language with the "
             "lowest mean overlap.", ""]
    header = ["group", "languages", "teacher R@10", "student R@10", "ratio", "overlap@10", "cosine", "worst overlap"]
    for gallery in GALLERIES:
        for kind in QUERY_KINDS:
            rows = group_rows(rep, student, gallery, kind)
            if rows:
                res = rep["results"][gallery][kind]
                lines += [f"{h}# {kind} on {GALLERY_TITLES[gallery]} ({res['queries']:,} queries, "
                          f"{res['gallery_size']:,} images)", "", *_table(header, rows), ""]
    per_lang = []
    app = rep["results"].get("app", {})
    for lang, meta in sorted(rep["languages"].items(), key=lambda kv: (kv[1]["group"], kv[0])):
        cells = [lang, meta["name"], meta["group"]]
        for kind in QUERY_KINDS:
            e = app.get(kind, {}).get("per_language", {}).get(student, {}).get(lang)
            cells += ([f"{e['ratio']['value']:.2f}" if "ratio" in e else "–", f"{e['overlap@10']['value']:.2f}",
                       f"{e['cosine']['value']:.3f}"] if e and "overlap@10" in e else ["–", "–", "–"])
        per_lang.append(cells)
    if per_lang:
        header = ["language", "name", "group"] + [f"{k} {m}" for k in QUERY_KINDS for m in ("ratio", "overlap", "cos")]
        lines += [f"{h}# Per language, app gallery (R@10 ratio, overlap@10, cosine)", "", *_table(header, per_lang), ""]
    return lines


__all__ = ["agreement_markdown", "group_rows"]
