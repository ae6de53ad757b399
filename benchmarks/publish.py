"""python -m benchmarks.publish [--check] — write every published figure from results/, never by hand.

Three kinds of generated text:

- **figures and tables in the docs** (README.md, docs/guide.md, docs/design.md): an inline figure is
  written between `<!--n:KEY-->` and `<!--/n-->`, a table between `<!--block:KEY-->` and
  `<!--/block-->`; KEY names a function of results/*.json below (FIGURES, BLOCKS). A figure that
  comes from a stale or unrecorded results file says so beside it.
- **docs/cli.md**: every command's own `--help` (argparse), so the reference cannot drift.
- **results/README.md**: every results file, what it measures, the command that makes it, and
  whether the code it measures changed since (`core.results_index`).

`--check` writes nothing and exits 1 naming each file that differs from what would be written;
`tests/test_publish.py` runs the same check, so a figure typed by hand or left behind by a rerun
fails the quick tests.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import math
import os
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Callable

from core.results_index import BY_STEM, ENTRIES, OTHER_FILES, ROOT, status

DOCS = ("README.md", "docs/guide.md", "docs/design.md")
INLINE = re.compile(r"<!--n:([\w.:-]+)-->(.*?)<!--/n-->", re.S)
BLOCK = re.compile(r"(<!--block:([\w.-]+)-->\n)(.*?)(<!--/block-->)", re.S)
CLI_WIDTH = "100"  # argparse wraps help to $COLUMNS; fixed so the page is the same on every machine

STUDENT, TEACHER = "lit-e5s-effl0-clip-half-dr", "lit-e5s-effl0-clip"


class PublishError(ValueError):
    pass


@lru_cache(maxsize=None)
def results(stem: str) -> dict:
    path = ROOT / "results" / f"{stem}.json"
    if not path.is_file():
        raise PublishError(f"results/{stem}.json is missing; run `{BY_STEM[stem].command}`")
    return json.loads(path.read_text())


def stale_note(stem: str) -> str:
    """'' for a current file, else a short label to print beside its figures."""
    state, why = status(BY_STEM[stem], ROOT)
    return "" if state == "current" else (f" (stale: {why})" if state == "stale" else " (made before code versions were recorded)")


def ci(v: dict, digits: int = 2) -> str:
    return f"{v['value']:.{digits}f} [{v['lo']:.{digits}f}, {v['hi']:.{digits}f}]"


# -- figures ---------------------------------------------------------------------------------------
def _agreement(kind: str, gallery: str = "app", group: str = "all", model: str = STUDENT, stem: str = "agreement") -> dict:
    return results(stem)["reports"][model]["results"][gallery][kind]["groups"][model][group]


def _speed_median(variant: str, threads: int = 1) -> float:
    (t,) = [t for t in results("speed")["timings"] if t["threads"] == threads]
    return t["text_b1"][variant]["median"]


def _app_load_run(backend: str, phase: str = "many") -> dict:
    return next(r for r in results("app_load")["runs"] if r["backend"] == backend)[phase]


def _startup(key: str) -> str:
    return f"{results('app_startup')[key]['seconds_to_ready']:.0f} s"


def _reliability() -> tuple[int, int, int]:
    cases = results("reliability")["cases"]
    counted = [c for c in cases if c["held"] is not None]
    return sum(c["held"] for c in counted), len(counted), len(cases) - len(counted)


def _query_range() -> str:
    langs = next(iter(results("multilingual")["reports"].values()))["languages"]
    q = sorted((v["queries"], v["name"]) for v in langs.values() if v.get("queries"))
    return f"from {q[0][0]} ({q[0][1]}) to {q[-1][0]} ({q[-1][1]}); {sum(n < 100 for n, _ in q)} languages have fewer than 100"


FIGURES: dict[str, Callable[[], str]] = {
    "multilingual.queries": _query_range,
    "agreement.keywords.overlap": lambda: f"{_agreement('keywords')['overlap@10']['value']:.2f}",
    "agreement.keywords.ratio": lambda: ci(_agreement("keywords")["ratio"]),
    "agreement.keywords.cosine": lambda: f"{_agreement('keywords')['cosine']['value']:.2f}",
    "agreement.names.ratio": lambda: ci(_agreement("names")["ratio"]),
    "agreement.names.overlap": lambda: f"{_agreement('names')['overlap@10']['value']:.2f}",
    "agreement.held_out.overlap": lambda: "{:.2f} on names, {:.2f} on keywords".format(
        *(_agreement(kind, group="held-out")["overlap@10"]["value"] for kind in ("names", "keywords"))),
    "agreement_select.keywords": lambda: "{:.2f} → {:.2f}".format(
        *(_agreement("keywords", model=m, stem="agreement_select")["overlap@10"]["value"] for m in (STUDENT, "agree-e8"))),
    "speed.student_int8_ms": lambda: f"{_speed_median('student ONNX int8'):.1f} ms",
    "speed.teacher_pytorch_ms": lambda: f"{_speed_median('teacher PyTorch'):.1f} ms",
    "speed.int8_size": lambda: f"{results('speed')['sizes']['student']['text.int8.onnx'] / 1e6:.0f} MB",
    "startup.first": lambda: _startup("first_run"),
    "startup.student": lambda: _startup("first_run_student"),
    "startup.later": lambda: _startup("later_start"),
    "reliability.held": lambda: "{} of {}".format(*_reliability()[:2]),
    "app_load.one_ms": lambda: f"{_app_load_run('ONNX int8', 'one')['p50']:.0f} ms",
    "app_load.models_ms": lambda: f"{_app_load_run('ONNX int8', 'one')['models_ms']['p50']:.0f} ms",
    "app_load.p95": lambda: f"{_app_load_run('ONNX int8')['p95'] / 1000:.2f} s",
    "agreement_mix.keywords": lambda: _mix("keywords"),
    "agreement_curve.keywords": lambda: _curve("keywords"),
    "agreement_curve.names": lambda: _curve("names"),
    "agreement_curve.longest": lambda: _curve_longest("names"),
    "agreement_layers.names": lambda: _curve_points("agreement_layers", (STUDENT, "size-l9"), "names"),
    "agreement_text_budget.keywords": lambda: _curve_points("agreement_text_budget",
                                                            ("tb-kw0", STUDENT, "tb-kw4000"), "keywords"),
    "agreement_text_budget.names": lambda: _curve_points("agreement_text_budget",
                                                         ("tb-kw0", STUDENT, "tb-kw4000"), "names"),
    "study.done": lambda: "{} of {} students".format(results("study").get("students_done", 0),
                                                     results("study").get("students_planned", 0)),
    "study.hours": lambda: _study_hours(),
    "study.clip.ed": lambda: _study_contrast("clip"),
    "study.siglip.ed": lambda: _study_contrast("siglip"),
    "study.siglip.mcl": lambda: _study_contrast("siglip", "mcl"),
    **{f"study.{family}.fd": (lambda family=family: _study_contrast(family, "fd")) for family in ("clip", "siglip")},
    **{f"study.{family}.agreement_terms": (lambda family=family: _study_contrast(family, "dr+agreement", "dr",
                                                                                 test_images=False))
       for family in ("clip", "siglip")},
    "web.first_mb": lambda: f"{results('web')['first_visit']['bytes'] / 1e6:.0f} MB",
    "web.later_kb": lambda: f"{results('web')['later_visit']['bytes'] / 1e3:.0f} KB",
    "web.later_ready": lambda: f"{results('web')['later_visit']['ready_ms'] / 1000:.1f} s",
    "web.query_ms": lambda: f"{results('web')['query_ms']['median']:.0f} ms",
    "web.parity": lambda: "{equal} of {n}".format(n=len(results("web")["parity"]["queries"]), **results("web")["parity"]),
    "real_scale.fraction": lambda: f"{_real('distill')['text_fraction']:.1%}",
    "real_scale.params": lambda: "{:.0f}M → {:.0f}M".format(_real("distill")["text_params_teacher"] / 1e6,
                                                            _real("distill")["text_params_student"] / 1e6),
    "real_scale.step_s": lambda: f"{_real('distill')['seconds_per_step']:.1f} s",
    "real_scale.distill_gb": lambda: f"{_real('distill')['peak_rss_mb'] / 1024:.1f} GB",
    "real_scale.int8_mb": lambda: "{:.0f} MB (teacher {:.0f} MB)".format(_real("export_student")["text_int8_mb"],
                                                                        _real("export_teacher")["text_int8_mb"]),
    "real_scale.int8_ms": lambda: "{:.0f} ms against the teacher's {:.0f} ms".format(
        _real_latency("student ONNX int8"), _real_latency("teacher ONNX int8")),
    "real_scale.siglip": lambda: _real_summary(SIGLIP_REAL),
    "real_scale.largest_gb": lambda: "{:.1f} GB ({})".format(*_real_largest()),
}
SIGLIP_REAL = "siglip-b16-multilingual"


def _real_largest(teacher: str = "xlmr-b32") -> tuple[float, str]:
    """The stage a user runs alone with the highest peak memory (latency loads every variant at once: left out)."""
    stages = {k: v for k, v in results("real_scale")["teachers"][teacher].items()
              if isinstance(v, dict) and "peak_rss_mb" in v and k != "latency"}
    name = max(stages, key=lambda k: stages[k]["peak_rss_mb"])
    return stages[name]["peak_rss_mb"] / 1024, name.replace("_", " ")


def _real_summary(teacher: str) -> str:
    """One teacher's row of results/real_scale in a sentence: size, step, int8 file, query."""
    d, e = _real("distill", teacher), _real("export_student", teacher)
    return ("{:.1%} of the text parameters, {:.1f} s a step (the run peaks at {:.1f} GB), int8 text {:.0f} MB (teacher {:.0f} MB), "
            "a query in {:.0f} ms against the teacher's {:.0f} ms").format(
        d["text_fraction"], d["seconds_per_step"], d["peak_rss_mb"] / 1024, e["text_int8_mb"],
        _real("export_teacher", teacher)["text_int8_mb"],
        _real_latency("student ONNX int8", teacher=teacher), _real_latency("teacher ONNX int8", teacher=teacher))


def _real(stage: str, teacher: str = "xlmr-b32") -> dict:
    return results("real_scale")["teachers"][teacher][stage]


def _real_latency(variant: str, threads: str = "1", teacher: str = "xlmr-b32") -> float:
    return _real("latency", teacher)[threads]["text_b1"][variant]["median"]


def _curve(kind: str, group: str = "trained") -> str:
    """Overlap@10 with the teacher per distillation budget, e.g. '1 epoch 0.38 · 2 epochs 0.41 · …'."""
    parts = []
    for r in results("agreement_curve")["rows"]:
        kept = f" (kept epoch {r['best_epoch']})" if r.get("best_epoch") not in (None, r["epochs"]) else ""
        parts.append(f"{r['epochs']} epoch{'s' if r['epochs'] > 1 else ''}{kept} "
                     f"{r[f'{kind}/{group}/overlap@10']['value']:.2f}")
    return " · ".join(parts)


def _curve_longest(kind: str, group: str = "trained") -> str:
    """The default budget against the longest one: overlap and R@10 ratio, e.g. 'overlap 0.61 → 0.65
    while the R@10 ratio goes 0.92 → 0.88 (16 epochs)'."""
    rows = {r["student"]: r for r in results("agreement_curve")["rows"]}
    default, longest = rows[STUDENT], max(rows.values(), key=lambda r: r["epochs"])

    def cell(row: dict, metric: str) -> float:
        return row[f"{kind}/{group}/{metric}"]["value"]

    return (f"overlap {cell(default, 'overlap@10'):.2f} → {cell(longest, 'overlap@10'):.2f} while the R@10 ratio goes "
            f"{cell(default, 'ratio'):.2f} → {cell(longest, 'ratio'):.2f} ({default['epochs']} → {longest['epochs']} epochs)")


def _curve_points(stem: str, students: tuple[str, ...], kind: str, group: str = "all") -> str:
    """Overlap and R@10 ratio of students measured in one agreement run, in the order given, e.g. the
    default against the 9-layer student of the same budget: 'overlap 0.60 → 0.62, R@10 ratio 0.93 → 0.93'."""
    values = [_agreement(kind, group=group, model=m, stem=stem) for m in students]
    overlaps = " → ".join(f"{v['overlap@10']['value']:.2f}" for v in values)
    ratios = " → ".join(f"{v['ratio']['value']:.2f}" for v in values)
    return f"overlap {overlaps}, R@10 ratio {ratios}"


def _study_hours() -> str:
    from training.study import build_seconds

    return f"{sum(build_seconds(results('study'))) / 3600:.1f} h"


def _study_contrast(family: str, objective: str = "ed", against: str = "dr+agreement", test_images: bool = True) -> str:
    """`objective` minus `against` on every axis the study's default rule reads, with the seeds behind it,
    e.g. 'R@10 ratio, test images +0.10 [+0.04, +0.17]; … (3 seeds)'."""
    from training.study import app_axes, default_axes

    result = results("study")
    cells = {c["objective"]: c for c in result["cells"] if c["family"] == family}
    if objective not in cells or against not in cells:
        raise PublishError(f"results/study.json has no {family} rows for {objective} and {against}")
    seeds = len(set(cells[objective]["seeds"]) & set(cells[against]["seeds"]))
    parts = []
    for axis, contrast in (default_axes if test_images else app_axes)(result, family).items():
        c = contrast(objective, against)
        parts.append(f"{axis} {c['value']:+.2f}" + ("" if math.isnan(c["lo"]) else f" [{c['lo']:+.2f}, {c['hi']:+.2f}]"))
    return "; ".join(parts) + f" ({seeds} seed{'s' if seeds > 1 else ''})"


def _mix(kind: str = "keywords", group: str = "trained") -> str:
    """Overlap@10 with the teacher per feature-term weight on val (agreement_mix), e.g.
    'previous default 0.43 · weight 1 0.44 · weight 4 0.47 · …'."""
    data = results("agreement_mix")
    parts = []
    for r in data["recipes"]:
        value = _agreement(kind, group=group, model=r["student"], stem="agreement_mix")["overlap@10"]["value"]
        label = "previous default" if r["student"] == STUDENT else f"weight {r['feature_weight']:g}"
        parts.append(f"{label} {value:.2f}")
    return " · ".join(parts)


def _signed(e: dict) -> str:
    return f"{e['value']:+.3f} [{e['lo']:+.3f}, {e['hi']:+.3f}]"


def summary_table() -> str:
    """The README's results table: one line per question, each with its source and whether it is current."""
    rows = []
    kw, names = _agreement("keywords"), _agreement("names")
    rows.append(["Does the student behave like its teacher on what people type? (test split, the app's gallery, "
                 "single CLDR keywords, ~100 languages)",
                 f"R@10 ratio {ci(kw['ratio'])}; top-10 overlap {kw['overlap@10']['value']:.2f}; "
                 f"cosine S(x)·T(x) {kw['cosine']['value']:.2f}", "agreement"])
    rows.append(["… on names (the kind of text it was distilled on)",
                 f"R@10 ratio {ci(names['ratio'])}; top-10 overlap {names['overlap@10']['value']:.2f}", "agreement"])
    ml = results("multilingual")["reports"]
    for student in (STUDENT, "lit-e5s-effl0-siglip-half-dr"):
        if student in ml:
            groups = ml[student]["groups"][student]
            cells = "; ".join(f"{g} {ci(groups[g]['ratio'])}" for g in ("trained", "held-out", "all") if g in groups)
            rows.append([f"`{student}` ÷ teacher, R@10 on names, 372 test images", cells, "multilingual"])
    sp = results("speed")
    rows.append(["Query latency, batch 1, 1 thread (median)",
                 f"student ONNX int8 {_speed_median('student ONNX int8'):.1f} ms, teacher PyTorch "
                 f"{_speed_median('teacher PyTorch'):.1f} ms; text.int8.onnx "
                 f"{sp['sizes']['student']['text.int8.onnx'] / 1e6:.0f} MB", "speed"])
    rec = sp.get("recall", {})
    if rec:
        rows.append(["Test R@10, all languages, by backend",
                     "; ".join(f"{k} {v:.3f}" for k, v in rec.items()), "speed"])
    cons = results("consistency")["reports"][STUDENT]
    teacher_all, student_all = cons["groups"][cons["reference"]]["all"], cons["groups"][STUDENT]["all"]
    rows.append(["Cross-lingual consistency in every language: a name's top 10 shared with its English twin's "
                 "(app's gallery); translation cosine gap",
                 f"teacher {teacher_all['en_overlap@10']['value']:.2f}, student {student_all['en_overlap@10']['value']:.2f} "
                 f"(paired difference {_signed(student_all['en_overlap@10 vs reference'])}); gap: teacher "
                 f"{teacher_all['gap']['value']:.3f}, student {student_all['gap']['value']:.3f} "
                 f"({_signed(student_all['gap vs reference'])})", "consistency"])
    web = results("web")
    par = web["parity"]
    rows.append([f"Search in the browser, no server (`export.web`, {web['settings']['variant']} student, WASM)",
                 f"{web['first_visit']['bytes'] / 1e6:.0f} MB on a first visit; ready in "
                 f"{web['later_visit']['ready_ms'] / 1000:.1f} s on a later one; {web['query_ms']['median']:.0f} ms per "
                 f"query; top-8 equal to Python for {par['equal']} of {len(par['queries'])} queries in order, "
                 f"{par['same_set']} as sets", "web"])
    run = _app_load_run("ONNX int8")
    rows.append(["The app under 20 concurrent clients (ONNX int8)",
                 f"{run['queries_per_s']:.1f} queries/s, p95 {run['p95'] / 1000:.2f} s",
                 "app_load"])
    held, counted, not_kills = _reliability()
    rows.append(["Kills, tampering, load", f"{held} of {counted} cases held"
                 + (f" ({not_kills} planned kills came after the job finished, not counted)" if not_kills else ""),
                 "reliability"])
    photos = results("photos")["runs"][TEACHER]["models"]
    rows.append(["A photo found by its caption, R@1 among the test photos (CLIP-style teacher)",
                 f"photo-aware head {ci(photos[TEACHER]['photos_only_R@1'])}; trained head alone "
                 f"{ci(photos[TEACHER + ' (trained head only)']['photos_only_R@1'])}", "photos"])
    lines = ["| question | measured | source |", "| --- | --- | --- |"]
    lines += [f"| {q} | {m} | [`results/{s}.md`](results/{s}.md){stale_note(s)} |" for q, m, s in rows]
    return "\n".join(lines) + "\n"


def results_index_table() -> str:
    lines = ["| file | what it measures | made by | status |", "| --- | --- | --- | --- |"]
    for e in ENTRIES:
        state, why = status(e, ROOT)
        files = ", ".join(f"[`{f}`]({f})" for f in e.files if (ROOT / "results" / f).exists())
        lines.append(f"| {files} | {e.what} | `{e.command}` | **{state}**: {why} |")
    lines += ["", "| other file | what it is |", "| --- | --- |"]
    lines += [f"| [`{name}`]({name}) | {what} |" for name, what in OTHER_FILES.items()]
    return "\n".join(lines) + "\n"


BLOCKS: dict[str, Callable[[], str]] = {"summary": summary_table}


# -- docs/cli.md -----------------------------------------------------------------------------------
# (command as typed, module, sub-commands); a module without argparse shows its docstring.
COMMANDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("python app.py", "app", ()),
    ("python -m corpus", "corpus.__main__", ("build", "card")),
    ("python -m corpus.cldr", "corpus.cldr", ()),
    ("python -m corpus.to_clip_benchmark", "corpus.to_clip_benchmark", ()),
    ("python -m zoo", "zoo.__main__", ("list", "info", "pull", "push")),
    ("python -m training.teachers", "training.teachers", ()),
    ("python -m training.distill", "training.distill.run", ()),
    ("python -m evaluation", "evaluation.run", ()),
    ("python -m training.student_card", "training.student_card", ()),
    ("python -m training.build_zoo", "training.build_zoo", ()),
    ("python -m training.study", "training.study", ()),
    ("python -m export.onnx", "export.onnx", ()),
    ("python -m export.clip_benchmark", "export.clip_benchmark", ()),
    ("python -m export.web", "export.web", ()),
    ("python -m search.build_index", "search.build_index", ()),
    *((f"python -m benchmarks.{m}", f"benchmarks.{m}", ()) for m in (
        "multilingual", "agreement", "agreement_curve", "consistency", "web", "real_scale",
        "speed", "app_load", "app_startup", "reliability", "photos", "index_scale", "teacher_cache",
        "embedding_tail", "student_variants", "clip_benchmark_table", "app_screenshot", "gradio_overheads", "gpu_smoke",
        "publish")),
)
ARGPARSE_FREE = {"export.clip_benchmark", "benchmarks.gradio_overheads", "benchmarks.gpu_smoke"}


def command_help(module: str, sub: str = "") -> str:
    mod = importlib.import_module(module)
    if module in ARGPARSE_FREE:
        return (mod.__doc__ or "").strip() + "\n"
    out = io.StringIO()
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = CLI_WIDTH
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            mod.main([sub, "--help"] if sub else ["--help"])
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    text = out.getvalue()
    if "usage:" not in text:
        raise PublishError(f"{module} {sub} --help printed no usage")
    return text


def cli_markdown() -> str:
    lines = ["# Command-line reference", "",
             "Generated by `python -m benchmarks.publish` from each command's own `--help`; "
             "`tests/test_publish.py` fails when this page and the commands disagree. The README says what to run "
             "first; `docs/guide.md` explains what the commands do and why.", ""]
    lines += [f"- [`{cmd}`](#{re.sub(r'[^a-z0-9 _-]', '', cmd.lower()).replace(' ', '-')})" for cmd, _, _ in COMMANDS]
    for cmd, module, subs in COMMANDS:
        lines += ["", f"## {cmd}", ""]
        for sub in ("", *subs):
            if sub:
                lines += [f"### {cmd} {sub}", ""]
            lines += ["```text", command_help(module, sub).rstrip(), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def results_readme() -> str:
    return "\n".join([
        "# results/", "",
        "What the benchmark and study commands measured on this project's 2-core machines (and, where a GPU was "
        "lent, on it). Every file says how to reproduce it. Each `.json` records the command, the git commit and a "
        "fingerprint of the code it measures (`provenance`); **stale** means that code has changed since, "
        "**unrecorded** that the file predates the record. The README and docs quote these files only through "
        "`python -m benchmarks.publish`, which writes this page too.", "",
        results_index_table().rstrip(), "",
        "Retrieval ranks count ties against the model (a positive that scores exactly as high as a negative ranks "
        "below it; `evaluation/retrieval.py`). Files marked \"ranks predate the tie rule\" let the search "
        "index break ties in its own order; only identical images tie (flags that share a design).", ""])


# -- rendering -------------------------------------------------------------------------------------
def render_doc(text: str) -> str:
    def inline(m: re.Match) -> str:
        key = m.group(1)
        if key not in FIGURES:
            raise PublishError(f"unknown figure <!--n:{key}-->; known: {', '.join(sorted(FIGURES))}")
        return f"<!--n:{key}-->{FIGURES[key]()}<!--/n-->"

    def block(m: re.Match) -> str:
        key = m.group(2)
        if key not in BLOCKS:
            raise PublishError(f"unknown block <!--block:{key}-->; known: {', '.join(sorted(BLOCKS))}")
        return f"{m.group(1)}{BLOCKS[key]()}{m.group(4)}"

    return INLINE.sub(inline, BLOCK.sub(block, text))


def rendered(root: Path = ROOT) -> dict[Path, str]:
    """Every generated file as it should read now."""
    out = {root / doc: render_doc((root / doc).read_text()) for doc in DOCS if (root / doc).is_file()}
    out[root / "docs" / "cli.md"] = cli_markdown()
    out[root / "results" / "README.md"] = results_readme()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.publish", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any generated file is out of date")
    args = parser.parse_args(argv)
    from core.io import atomic_write_text

    differ = []
    for path, text in rendered().items():
        if not path.is_file() or path.read_text() != text:
            differ.append(path.relative_to(ROOT))
            if not args.check:
                atomic_write_text(path, text)
    verb = "out of date" if args.check else "rewritten"
    print("\n".join(f"{verb}: {p}" for p in differ) or "every generated file is up to date")
    return 1 if args.check and differ else 0


if __name__ == "__main__":
    sys.exit(main())
