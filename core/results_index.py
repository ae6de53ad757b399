"""What each file in results/ is, which command makes it, and which code it measures.

It sits in core, a table and a few hashes with no project imports, so that every layer that writes
a results file (the study in training, the benchmarks) records its provenance the same way.

A results file is only as good as the code and models it was made from. Each benchmark records its
provenance when it writes (`provenance`: the command line, the git commit, a fingerprint of the
source files listed here under `measures`); `status` compares that fingerprint with the code as it
is now. A file whose measured code changed since is *stale*, and `python -m benchmarks.publish`
says so wherever it is shown (README, results/README.md). The lists are the code whose change
moves the figures, not every import: editing a docstring of the app does not make a speed table
stale, changing the export or the default student's recipe does.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Code groups, as globs relative to the repository root.
STUDENT_RECIPE = ("training/distill/*.py", "training/students.py", "training/losses/*.py", "training/trainer.py",
                  "training/selection.py", "corpus/keyword_text.py", "corpus/word_lists.py",
                  "training/teacher_cache.py", "zoo/embeddings.py", "zoo/text_tower.py", "core/constants.py")
TEACHER_RECIPE = ("training/teachers.py", "training/photo_gate.py", "zoo/heads.py", "zoo/image_tower.py",
                  "zoo/sources/packaged.py")
CORPUS = ("corpus/corpus.py", "corpus/cldr.py", "core/languages.py")
EVALUATION = ("evaluation/retrieval.py", "evaluation/multilingual.py", "evaluation/bootstrap.py")
EXPORT = ("export/onnx.py", "export/runtime.py")
SERVING = ("search/service.py", "core/index.py", "app.py")


@dataclass(frozen=True)
class ResultsEntry:
    stem: str
    what: str
    command: str
    measures: tuple[str, ...]
    known_stale: str = ""  # set when a file is known to predate a change its fingerprint cannot show

    @property
    def files(self) -> list[str]:
        ext = "log" if self.stem == "gpu_smoke" else "md"
        return [f"{self.stem}.{ext}"] + ([f"{self.stem}.json"] if ext == "md" else [])


ENTRIES: tuple[ResultsEntry, ...] = (
    ResultsEntry("multilingual", "every default student against its teacher in ~100 languages (test split, 372-image "
                 "gallery), paired intervals, plus agreement tables", "python -m benchmarks.multilingual",
                 ("benchmarks/multilingual.py", *EVALUATION, *STUDENT_RECIPE, *CORPUS),
                 "the default students were rebuilt with keyword text and the agreement terms after it was made"),
    ResultsEntry("agreement", "what people type, on the app's gallery: previous vs current default CLIP DR student "
                 "(test split; names, keywords, phrases; top-10 overlap, cosine, R@10 ratio)",
                 "python -m benchmarks.agreement --per-language 100 --pairs "
                 "prev-lit-e5s-effl0-clip-half-dr:lit-e5s-effl0-clip lit-e5s-effl0-clip-half-dr:lit-e5s-effl0-clip",
                 ("benchmarks/agreement.py", "evaluation/agreement*.py", *EVALUATION, *STUDENT_RECIPE, *CORPUS)),
    ResultsEntry("agreement_val", "the agreement recipe chosen on the val split (default vs keyword + feature + gallery "
                 "terms)", "python -m benchmarks.agreement --split val --per-language 100 --stem agreement_val --pairs "
                 "lit-e5s-effl0-clip-half-dr:lit-e5s-effl0-clip exp-kw-drfd:lit-e5s-effl0-clip "
                 "exp-kw-drfdg:lit-e5s-effl0-clip",
                 ("benchmarks/agreement.py", "evaluation/agreement*.py", *EVALUATION, *CORPUS)),
    ResultsEntry("agreement_select", "a longer schedule kept by val agreement (8 epochs, --select agreement, no early "
                 "stop) beside the default student of the time (4 epochs at 2e-4, feature weight 1, kept by recall); val, app "
                 "gallery, same run, paired intervals",
                 "python -m training.distill --name agree-e8 --select agreement --epochs 8 --patience 8 --lr 2e-4 "
                 "--feature-weight 1 && "
                 "python -m benchmarks.agreement --split val --per-language 100 --stem agreement_select --pairs "
                 "agree-e8:lit-e5s-effl0-clip lit-e5s-effl0-clip-half-dr:lit-e5s-effl0-clip",
                 ("benchmarks/agreement.py", "evaluation/agreement*.py", *EVALUATION, *CORPUS)),
    ResultsEntry("agreement_mix", "the feature term's weight (1, 4, 16, 64) at learning rate 6e-4, 4 epochs kept by "
                 "val agreement, beside the default student of the time (4 epochs at 2e-4, feature weight 1, kept by "
                 "recall: today `--epochs 4 --lr 2e-4 --feature-weight 1 --select recall`); val, app gallery, same run, "
                 "paired intervals",
                 "python -m training.distill --name p-lr6 --select agreement --epochs 4 --patience 4 --lr 6e-4 "
                 "--feature-weight 1 && for w in 4 16 64; do python -m training.distill --name p-lr6-fw$w --select "
                 "agreement --epochs 4 --patience 4 --lr 6e-4 --feature-weight $w; done && "
                 "python -m benchmarks.agreement --split val --stem agreement_mix --per-language 100 --pairs "
                 "lit-e5s-effl0-clip-half-dr:lit-e5s-effl0-clip p-lr6:lit-e5s-effl0-clip p-lr6-fw4:lit-e5s-effl0-clip "
                 "p-lr6-fw16:lit-e5s-effl0-clip p-lr6-fw64:lit-e5s-effl0-clip",
                 ("benchmarks/agreement.py", "evaluation/agreement*.py", *EVALUATION, *CORPUS)),
    ResultsEntry("agreement_layers", "the half student's parameter budget spent on 9 layers instead of 6 (fewer "
                 "full-row vocabulary pieces), beside the default; val, app gallery, same run",
                 "python -m training.distill --name size-l9 --layers 9 && python -m benchmarks.agreement --split val "
                 "--stem agreement_layers --per-language 100 --pairs lit-e5s-effl0-clip-half-dr:lit-e5s-effl0-clip "
                 "size-l9:lit-e5s-effl0-clip",
                 ("benchmarks/agreement.py", "evaluation/agreement*.py", *EVALUATION, *CORPUS)),
    ResultsEntry("agreement_text_budget", "the default CLIP half student's keyword text: none, the default 1,000 "
                 "train-split CLDR keywords per language, or every one; val, app gallery, "
                 "same run",
                 "python -m training.distill --name tb-kw0 --train-sources emoji cldr cldr-name && "
                 "python -m training.distill --name tb-kw4000 --keywords-per-language 4000 && "
                 "python -m benchmarks.agreement --split val --stem agreement_text_budget --per-language 100 --pairs "
                 "tb-kw0:lit-e5s-effl0-clip lit-e5s-effl0-clip-half-dr:lit-e5s-effl0-clip tb-kw4000:lit-e5s-effl0-clip",
                 ("benchmarks/agreement.py", "evaluation/agreement*.py", *EVALUATION, *STUDENT_RECIPE, *CORPUS)),
    ResultsEntry("agreement_curve", "the default CLIP half student's overlap, cosine and R@10 ratio with its teacher "
                 "against the distillation budget, 1 to 16 epochs (val, app gallery)",
                 "python -m benchmarks.agreement_curve --epochs 1 2 4 8 16",
                 ("benchmarks/agreement_curve.py", "evaluation/agreement*.py", *EVALUATION, *STUDENT_RECIPE, *CORPUS)),
    ResultsEntry("consistency", "cross-lingual consistency in ~100 languages: translation cosine gap, top-10 overlap "
                 "with the English twin, clustering by concept or language; default CLIP student beside its teacher",
                 "python -m benchmarks.consistency",
                 ("benchmarks/consistency.py", "evaluation/crosslingual.py", "evaluation/consistency.py",
                  "evaluation/agreement.py", *EVALUATION, *STUDENT_RECIPE, *CORPUS)),
    ResultsEntry("speed", "teacher vs student, PyTorch vs ONNX fp32 vs int8, 1 and 2 threads; memory and test recall "
                 "of every variant", "python -m benchmarks.speed",
                 ("benchmarks/speed.py", *EXPORT, *STUDENT_RECIPE, *EVALUATION)),
    ResultsEntry("web", "the browser page (`export.web`) in headless Chromium: bytes downloaded, time to search on a "
                 "first and a later visit, per-query latency in WASM, top-8 parity with Python",
                 "python -m benchmarks.web", ("benchmarks/web.py", "export/web.py", "export/web_page/*", *EXPORT)),
    ResultsEntry("real_scale", "full-size teacher architectures (open_clip XLM-R-base ViT-B/32, SigLIP multilingual base; "
                 "random weights) through teacher cache, distillation, export and serving: memory, time, size",
                 "python -m benchmarks.real_scale",
                 ("benchmarks/real_scale.py", "training/memory.py", "zoo/sources/*.py", *STUDENT_RECIPE, *EXPORT)),
    ResultsEntry("app_load", "a real `python app.py` under 1 and 20 concurrent clients", "python -m benchmarks.app_load",
                 ("benchmarks/app_load.py", *SERVING, *EXPORT)),
    ResultsEntry("app_load_during_build", "the app under load during a first start's background build",
                 "python -m benchmarks.app_load --during-build", ("benchmarks/app_load.py", *SERVING, *EXPORT)),
    ResultsEntry("app_startup", "first start to a usable page, to the default student, and a later start",
                 "python -m benchmarks.app_startup", ("serving/background.py", "app.py", "training/build_zoo.py",
                                                      *STUDENT_RECIPE),
                 "recorded before keyword text and the agreement terms lengthened the default student's build"),
    ResultsEntry("gradio_overheads", "two Gradio costs the app avoids, timed alone", "python -m benchmarks.gradio_overheads",
                 ("benchmarks/gradio_overheads.py", "app.py")),
    ResultsEntry("index_scale", "exact, HNSW, IVF-PQ and IVF-Flat galleries to 1M vectors",
                 "python -m benchmarks.index_scale", ("benchmarks/index_scale.py", "core/index.py")),
    ResultsEntry("reliability", "SIGKILL inside distillation, export, zip, uploads and index builds; tampered files; "
                 "50 concurrent users", "python -m benchmarks.reliability",
                 ("benchmarks/reliability.py", "core/io.py", "core/progress.py", "zoo/checkpoint.py", *EXPORT, *SERVING,
                  "search/build_index.py", "training/trainer.py")),
    ResultsEntry("photos", "photo-aware teacher heads vs the trained heads alone, paired intervals",
                 "python -m benchmarks.photos", ("benchmarks/photos.py", *TEACHER_RECIPE, *EVALUATION)),
    ResultsEntry("teacher_cache", "distillation step time with and without the teacher cache",
                 "python -m benchmarks.teacher_cache", ("benchmarks/teacher_cache.py", *STUDENT_RECIPE),
                 "keyword text lengthened an epoch from 84 to 144 steps after it was made"),
    ResultsEntry("clip_benchmark", "the default models through LAION CLIP_benchmark on ten corpus languages, PyTorch "
                 "and ONNX", "python -m benchmarks.clip_benchmark_table",
                 ("benchmarks/clip_benchmark_table.py", "export/clip_benchmark.py", *EXPORT, *STUDENT_RECIPE),
                 "the default student was rebuilt with keyword text and the agreement terms after it was made"),
    ResultsEntry("embedding_tail", "how a `half` student's vocabulary budget is spent (trimmed vs rank-r tails), val",
                 "python -m benchmarks.embedding_tail", ("benchmarks/embedding_tail.py", "zoo/embeddings.py")),
    ResultsEntry("vocabulary_dev", "which pieces get full rows, chosen on the dev held-out group (val)",
                 "python -m benchmarks.embedding_tail --fills script:1000 script:0 used --split val --out vocabulary_dev",
                 ("benchmarks/embedding_tail.py", "zoo/embeddings.py", "core/languages.py")),
    ResultsEntry("vocabulary", "the earlier vocabulary choice, made with the test held-out group in view (kept as a "
                 "record; superseded by vocabulary_dev)", "python -m benchmarks.student_variants --out vocabulary …",
                 ("benchmarks/student_variants.py",), "superseded by vocabulary_dev.md; ranks predate the tie rule"),
    ResultsEntry("vocabulary_tail", "trimmed vs every-piece vocabulary students (val)",
                 "python -m benchmarks.student_variants --out vocabulary_tail …", ("benchmarks/student_variants.py",),
                 "ranks predate the tie rule"),
    ResultsEntry("recipe_variants", "which teacher layers a `half` student inherits, and schedule variants (val)",
                 "python -m benchmarks.student_variants --out recipe_variants …", ("benchmarks/student_variants.py",),
                 "ranks predate the tie rule; students predate keyword text"),
    ResultsEntry("text_sources", "extra distillation text (display names, wordfreq words, a DR+ED mix) vs the default "
                 "then (val)", "python -m benchmarks.student_variants --out text_sources …",
                 ("benchmarks/student_variants.py",), "ranks predate the tie rule; students predate keyword text"),
    ResultsEntry("study", "the paper's study: 2 families × 7 objectives (the formulations alone, and DR with the "
                 "agreement terms) × 3 seeds at the default budget; retrieval per group, consistency, agreement, VQA "
                 "(partial until every student is built; the file says how many)", "python -m training.study",
                 ("training/study.py", *STUDENT_RECIPE, *EVALUATION)),
    ResultsEntry("gpu_smoke", "a CUDA run against a CPU run of the same distillation", "python -m benchmarks.gpu_smoke",
                 ("benchmarks/gpu_smoke.py", *STUDENT_RECIPE),
                 "predates the distillation rewrite; no GPU was lent since to rerun it"),
)
BY_STEM = {e.stem: e for e in ENTRIES}
# Screenshots and the app's own record are listed with the command that makes them, but carry no provenance.
OTHER_FILES = {
    "app-search-ru.png": "`python -m benchmarks.app_screenshot --query собака` against a running app",
    "app-image-cat.png": "`python -m benchmarks.app_screenshot --image …` against a running app",
    "multilingual.png": "plot written with multilingual.md", "photos.png": "plot written with photos.md",
    "study.png": "plot written with study.md", "agreement_curve.png": "plot written with agreement_curve.md",
    "consistency.png": "plot written with consistency.md",
}


def code_files(globs: tuple[str, ...], root: Path = ROOT) -> list[str]:
    return sorted({str(p.relative_to(root)) for g in globs for p in root.glob(g) if p.is_file()})


def code_fingerprint(globs: tuple[str, ...], root: Path = ROOT) -> dict[str, str]:
    """SHA-256 (first 16 hex) of every file the globs match, by path."""
    return {f: hashlib.sha256((root / f).read_bytes()).hexdigest()[:16] for f in code_files(globs, root)}


def _git_commit(root: Path) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True,
                               text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + ("+changes" if dirty else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def command_line() -> str:
    """How this process was started, as a user would type it (`python -m module args`)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    head = f"python -m {spec.name}" if spec and spec.name else f"python {Path(sys.argv[0]).name}"
    return " ".join([head, *sys.argv[1:]])


def provenance(stem: str, root: Path = ROOT) -> dict:
    entry = BY_STEM.get(stem)
    return {"command": command_line(), "commit": _git_commit(root),
            "written": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "code": code_fingerprint(entry.measures, root) if entry else {}}


def status(entry: ResultsEntry, root: Path = ROOT) -> tuple[str, str]:
    """("current" | "stale" | "unrecorded", why) for one results file, from its JSON's provenance."""
    path = root / "results" / f"{entry.stem}.json"
    recorded = json.loads(path.read_text()).get("provenance") if path.is_file() else None
    if not recorded:
        return ("stale", entry.known_stale) if entry.known_stale else \
            ("unrecorded", "made before results recorded their code version")
    now = code_fingerprint(entry.measures, root)
    changed = sorted(f for f in set(now) | set(recorded["code"]) if now.get(f) != recorded["code"].get(f))
    if changed:
        shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
        return "stale", f"code it measures changed since {recorded['commit']}: {shown}"
    return "current", f"made at {recorded['commit']} on {recorded['written']}"
