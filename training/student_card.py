"""The model card of a distilled student: what it is, what it kept in every language, what it costs.

    python -m training.student_card NAME [--evaluate]

A student is saved with a card from the quick test-split comparison its build ran (the
validation languages). The full picture takes minutes more, so it is added afterwards: with
`--evaluate` this runs `python -m evaluation --model NAME --compare TEACHER` (every
language of the corpus, held-out ones included, 95% intervals) and then rewrites the card from
what is on disk — that report, the ONNX export's int8 gate per language group, sizes, latency
and peak memory. The app's background build does this for the default students.
"""
from __future__ import annotations

import argparse
import math
import subprocess
import sys
from pathlib import Path

from core.io import atomic_write_text, read_json_object
from core.paths import export_path, zoo_checkpoint
from evaluation.agreement_report import agreement_markdown
from evaluation.multilingual import GROUPS, HEADLINE
from evaluation.multilingual_report import fmt_ci, verdict
from evaluation.multilingual_report import markdown as multilingual_markdown
from evaluation.report import cost_table, markdown
from evaluation.run import default_out
from evaluation.run import run as run_evaluation
from evaluation.suite import HEADLINE_KEY
from zoo.card import model_card, onnx_tables
from zoo.checkpoint import is_checkpoint, read_config

from .distill.config import distill_command

DATASET = {"dataset_type": "lingualens/emoji-flags", "dataset_name": "LinguaLens emoji and flags (CLDR captions)",
           "dataset_split": "test"}


def evaluated(rep: dict) -> tuple[str, str]:
    """(student, teacher) as the report names them (a checkpoint's own name, which a copied folder keeps)."""
    teacher = rep["reference"]
    return next(m for m in rep["models"] if m != teacher), teacher


def eval_results(rep: dict) -> list:
    """Hugging Face model-index entries: R@10 and the ratio to the teacher per language and group."""
    from huggingface_hub import EvalResult

    name, _ = evaluated(rep)
    out = []

    def add(config: str, r10: dict, ratio: dict | None) -> None:
        common = dict(task_type="text-to-image-retrieval", task_name="Text-to-image retrieval", dataset_config=config, **DATASET)
        out.append(EvalResult(metric_type="recall_at_10", metric_value=round(r10["value"], 4), metric_name="R@10", **common))
        if ratio and ratio.get("value") is not None and math.isfinite(ratio["value"]):
            out.append(EvalResult(metric_type="ratio_to_teacher", metric_value=round(ratio["value"], 4),
                                  metric_name=f"R@10 ÷ teacher {rep['reference']}", **common))

    for group in (*GROUPS, "all"):
        g = rep["groups"][name].get(group)
        if g:
            add(f"group:{group}", g[HEADLINE], g.get("ratio"))
    for lang in sorted(rep["languages"]):
        add(lang, rep["per_model"][name][lang]["t2i"][HEADLINE], rep["ratios"][name].get(lang))
    return out


def cost_section(cost: dict[str, dict], memory: dict[str, int]) -> str:
    return "\n".join(cost_table(cost, memory) + [
        "", "PyTorch, measured while the evaluation ran (not a clean benchmark: `python -m benchmarks.speed` is). "
            "Peak RAM: a fresh process that loads the model and encodes 100 queries."])


def deploy_section(name: str, export: dict | None, trust: bool, sentence_transformers: bool = True) -> str:
    """Per target, the one line that loads this model and the parity measured for it: from the
    export's own record where it exists, else the command that makes it. A tower that
    sentence-transformers cannot compute exactly (SigLIP's last-position pooling) is offered
    only where it runs exactly: LinguaLens, its ONNX runtime, the browser page."""
    flag = ", trust_remote_code=True" if trust else ""
    rows = ([f"| sentence-transformers (PyTorch) | `SentenceTransformer(dir{flag})` | same text embeddings (checked on save) |"]
            if sentence_transformers else [])
    if export:
        diff = export.get("parity_fp32", {}).get("text_max_abs_diff")
        rows.append("| ONNX, torch-free (`export.runtime`) | `OnnxEncoder(export_dir)` | "
                    + (f"largest difference {diff:.1e} |" if diff is not None else "checked ≤ 1e-4 |"))
        st = export.get("sentence_transformers")
        if st:
            d = st["parity_fp32"]["sentence_embedding_max_abs_diff"]
            rows.append(f"| sentence-transformers, ONNX backend | `SentenceTransformer(export_dir + \"/{st['folder']}\", "
                        f"backend=\"onnx\"{flag})` | largest difference {d:.1e} |")
            rows.append(f"| fastembed | `TextEmbedding.add_custom_model(..., model_file=\"{st['files']['fp32']}\", "
                        f"output_name=\"sentence_embedding\")` (see the export's card) | the same graph ({d:.1e}) |")
    lines = ["| target | load | parity with LinguaLens |", "| --- | --- | --- |", *rows, ""]
    if not sentence_transformers:
        lines.append("sentence-transformers has no pooling for the last position of a padded text (this tower's, "
                     "inherited from SigLIP), so this folder ships no sentence-transformers modules; load it with "
                     "LinguaLens or run its ONNX export.")
    elif not (export or {}).get("sentence_transformers"):
        lines.append(f"`python -m export.onnx --model {name} --int8 --sentence-transformers` writes the ONNX files and the "
                     "sentence-transformers / fastembed folder, each checked against PyTorch before it is written.")
    lines.append(f"`python -m export.web --model {name} --out site` writes a page that searches in the browser (its top "
                 "8 equal Python's on the fp32 graph; with int8, near-equal images can trade places).")
    return "\n".join(lines)


def peak_memory_mb(ref: str) -> int | None:
    """VmHWM of a fresh process that loads `ref` and encodes 100 short queries (Linux; else None)."""
    code = ("import sys\nfrom pathlib import Path\nfrom zoo import load_model\nm = load_model(sys.argv[1])\n"
            "for i in range(100):\n    m.encode_text([f'query {i}'])\n"
            "f = dict(l.split(':', 1) for l in Path('/proc/self/status').read_text().splitlines() if ':' in l)\n"
            "print(int(f['VmHWM'].split()[0]) // 1024)")
    try:
        run = subprocess.run([sys.executable, "-c", code, ref], capture_output=True, text=True, timeout=600,
                             cwd=Path(__file__).resolve().parents[1])
        return int(run.stdout.strip().splitlines()[-1]) if run.returncode == 0 else None
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return None


def student_card(name: str, cfg: dict, languages: list[str], parameters: dict[str, int], test_student: dict,
                 test_teacher: dict, build: dict, command: str, multilingual: dict | None = None,
                 export: dict | None = None, cost: dict | None = None, memory: dict | None = None,
                 agreement: dict | None = None) -> str:
    teacher = cfg["teacher"]
    s, t = test_student["summary"], test_teacher["summary"]

    def ratio(key: str) -> str:
        a, b = s.get(key), t.get(key)
        return f"{a / b:.2f}" if a is not None and b and not math.isnan(a) and not math.isnan(b) else "–"

    summary = (
        f"A distilled multilingual text tower for `{teacher}`: recipe `{cfg['recipe']}` "
        f"({len(build['layers_kept'])} of the teacher's {build.get('layers_teacher', '?')} layers — kept: {build['layers_kept']}; "
        f"{build['vocab_kept']:,} of {build['vocab_teacher']:,} vocabulary pieces"
        + (f", {build['full_rows']:,} as full rows and the rest as a rank-{build['tail_rank']} reconstruction of the "
           "teacher's rows, so every text is cut into the teacher's pieces" if build.get("tail_rank") else "")
        + f"), trained with loss `{cfg['loss']}` against the teacher's cached embeddings. It shares the teacher's image tower.\n\n"
        f"Text parameters: **{build['text_params_student']:,}** = {build['text_fraction']:.1%} of the teacher's "
        f"{build['text_params_teacher']:,}. Test-split emoji text→image R@10, mean over the {s.get('emoji_languages', '?')} "
        f"validation languages: "
        f"{s.get(HEADLINE_KEY, float('nan')):.3f} vs teacher {t.get(HEADLINE_KEY, float('nan')):.3f} "
        f"(ratio {ratio(HEADLINE_KEY)}).")
    sections: dict[str, str] = {}
    if multilingual:
        me, ref = evaluated(multilingual)
        groups = multilingual["groups"][me]
        lines = [f"Test split, text→image R@10 in every language of the corpus ({len(multilingual['languages'])}), "
                 f"the teacher `{teacher}` beside it; 95% bootstrap intervals over test concepts, paired, so a ratio "
                 "whose interval contains 1 is a tie. *Held-out* languages were never in any training input.", "",
                 "| group | languages | teacher | student | student ÷ teacher |", "| --- | ---: | ---: | ---: | ---: |"]
        for group in (*GROUPS, "all"):
            if groups.get(group):
                tg = multilingual["groups"][ref][group]
                lines.append(f"| {group} | {groups[group]['languages']} | {fmt_ci(tg[HEADLINE])} | {fmt_ci(groups[group][HEADLINE])} | "
                             f"{fmt_ci(groups[group].get('ratio'), 2)} {verdict(groups[group].get('ratio'))} |")
        per_language = multilingual_markdown(multilingual, "").split("## Per language", 1)[1]
        sections["Every language"] = "\n".join(lines) + "\n\n### Per language" + per_language
    else:
        sections["Every language"] = (f"Not measured yet. `python -m training.student_card {name} --evaluate` measures every "
                                      "language of the corpus with intervals and rewrites this card.")
    if agreement and agreement.get("models"):
        student_key = next(n for n in agreement["models"] if n != agreement.get("reference"))
        sections["What people type, on the app's gallery"] = "\n".join(agreement_markdown(agreement, student_key, level=3))
    sections["Student vs teacher, validation languages (test split)"] = markdown(
        {teacher: test_teacher, name: test_student}, "per language").split("\n", 2)[2]
    if export:
        sections["ONNX export: sizes, int8 vs fp32"] = "\n".join(onnx_tables(export))
    if cost:
        sections["Speed and memory"] = cost_section(cost, memory or {})
    st_exact = build.get("sentence_transformers", True)
    sections["Deploy"] = deploy_section(name, export, trust=bool(build.get("tail_rank")) and st_exact,
                                        sentence_transformers=st_exact)
    sections["Losses"] = ("FD, ED, SD, MCL and DR follow LinguaLens's definitions (see its README); where the "
                          "paper's exact form is unknown, these are ours.")
    sections["Limits"] = ("Trained on ~1,500 emoji and flag concepts; short labels, not sentences. The word "
                          "embeddings are inherited from the teacher and kept frozen by default.")
    loading = ("LinguaLens: `from zoo import load_model; load_model(dir)`. With transformers or sentence-transformers pass "
               "`trust_remote_code=True` (`SentenceTransformer(dir, trust_remote_code=True)`, "
               "`AutoModel.from_pretrained(dir, trust_remote_code=True)`): the factorized word embedding is defined in the "
               "shipped `modeling_lingualens.py`; without the flag transformers refuses and says so. LinguaLens itself "
               "builds the model from its own code." if build.get("tail_rank") and st_exact
               else "LinguaLens: `from zoo import load_model; load_model(dir)` (or its ONNX export); sentence-transformers "
               "cannot pool this tower exactly, so the folder has no sentence-transformers modules." if not st_exact else None)
    return model_card(
        name, summary=summary, languages=languages, base_models=[teacher], parameters=parameters, command=command,
        metrics={k: v for k, v in s.items() if isinstance(v, float)}, sections=sections,
        tags=["distillation", "student", cfg["loss"].split("=")[0]],
        eval_results=eval_results(multilingual) if multilingual else None, loading=loading,
        library_name="sentence-transformers" if st_exact else "transformers")


def _read_json(path: Path) -> dict | None:
    """A report's JSON object, or None where there is none (yet) or it is unreadable."""
    try:
        return read_json_object(path, ValueError, "report folder")
    except (OSError, ValueError):
        return None


def measured(name: str) -> bool:
    """Whether NAME's every-language report exists and is newer than its weights."""
    path = zoo_checkpoint(name)
    try:
        teacher = read_config(path)["meta"]["distillation"]["config"]["teacher"]
        report = default_out(name, "test", teacher) / "multilingual.json"
        return report.stat().st_mtime >= (path / "model.safetensors").stat().st_mtime
    except (OSError, KeyError, TypeError, ValueError):
        return False


def refresh_card(name: str, evaluate: bool = False, corpus: Path | None = None, progress: bool = True) -> Path:
    """Rewrite NAME's README.md from what is on disk (after running the full evaluation if asked)."""
    path = zoo_checkpoint(name)
    if not is_checkpoint(path):
        raise FileNotFoundError(f"{name!r} is not a checkpoint in the zoo ({path})")
    config = read_config(path)
    meta = config.get("meta") or {}
    distillation = meta.get("distillation") or {}
    if meta.get("role") != "student" or "config" not in distillation:
        raise ValueError(f"{name} is not a distilled student (only students get this card)")
    cfg, teacher = distillation["config"], distillation["config"]["teacher"]
    out = default_out(name, "test", teacher)  # where `python -m evaluation --model NAME --compare TEACHER` writes
    if evaluate:
        run_evaluation([name, teacher], "test", corpus, None, True, out, progress=progress)
    quick = _read_json(path / "reports" / "test" / "report.json") or {}
    if name not in quick or teacher not in quick:
        raise FileNotFoundError(f"{path / 'reports' / 'test' / 'report.json'} is missing or lacks {name} and {teacher}")
    multilingual = _read_json(out / "multilingual.json")
    full = _read_json(out / "report.json") or {}
    cost = {n: rep["cost"] for n, rep in full.items() if "cost" in rep}
    refs = dict(zip(evaluated(multilingual), (name, teacher))) if multilingual else {}
    memory = {n: m for n in cost if (m := peak_memory_mb(refs.get(n, n))) is not None} if evaluate else {}
    try:
        export = _read_json(export_path(name) / "lingualens_onnx.json")
    except ValueError:
        export = None
    card = student_card(name, cfg, meta.get("languages") or [], config.get("parameters") or {}, quick[name], quick[teacher],
                        distillation.get("student") or {}, distillation.get("command") or distill_command(teacher, cfg["recipe"], cfg["loss"]),
                        multilingual=multilingual, export=export, cost=cost or None, memory=memory,
                        agreement=_read_json(out / "agreement.json"))
    atomic_write_text(path / "README.md", card)
    return path / "README.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.student_card", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="a distilled student in the zoo")
    parser.add_argument("--evaluate", action="store_true", help="run the every-language evaluation first (minutes)")
    parser.add_argument("--corpus", type=Path, default=None, help="the corpus to evaluate on (default: the embedded one)")
    args = parser.parse_args(argv)
    try:
        card = refresh_card(args.name, evaluate=args.evaluate, corpus=args.corpus)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"card written: {card}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

