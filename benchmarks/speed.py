"""python -m benchmarks.speed — what each factor buys: depth, runtime and int8, one at a time.

Six variants — teacher and student, each in PyTorch, ONNX fp32 and ONNX int8 — are timed in one
process, interleaved (round r times every variant once, in an order rotated by r), so a slow
moment of the machine hits all of them alike. Thread counts are fixed and recorded (torch
`set_num_threads`, onnxruntime intra-op threads), once with 1 and once with 2. Batch-1 queries
cycle through QUERIES (short texts in 16 scripts); batch-32 encodes all of them at once. Every
cell is min / median / max over exactly the runs counted, after the stated warm-up.

Memory and recall follow the protocol self-hosted photo apps publish: each variant runs in a fresh
process that loads it, warms up, encodes 100 batch-1 queries and reports its peak resident set;
recall is text->image R@10 over every test language (`evaluation.multilingual`), measured
for each of the six variants. Students share the teacher's image tower
by reference, so image speed is the teacher's and is shown once per backend.

Writes results/speed.{md,json}. Reproduce: `python -m benchmarks.speed` (after `python app.py` or
`python -m training.build_zoo` has built the default models; missing exports are made here).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from core.constants import student_name, teacher_name
from core.paths import export_dir
from corpus.corpus import default_corpus_path, load_corpus
from corpus.photos import PHOTOS
from evaluation.multilingual import HEADLINE, evaluate_multilingual
from export.onnx import export_model
from export.runtime import OnnxEncoder, is_export, read_export_config
from zoo import load_model

from .common import machine, process_memory_mb, table, write_results

# short queries in 16 scripts: Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari, Bengali, Thai,
# Georgian, Armenian, Ethiopic, Hangul, Han, Kana, Tamil, Khmer
QUERIES = ["a red bicycle", "un perro en la playa", "кошка спит на диване", "ένα σπίτι", "قطة سوداء", "כלב קטן",
           "लाल फूल", "একটি গাড়ি", "แมวนอนหลับ", "წითელი ვაშლი", "կատու", "ድመት", "고양이 사진", "下雨的城市",
           "さくらの花", "பூனை", "ឆ្មា"]
BACKENDS = ("PyTorch", "ONNX fp32", "ONNX int8")
RSS_PASSES = 100


def ensure_export(name: str) -> Path:
    """The model's export with a gated int8 variant, made here if missing or made without int8."""
    path = export_dir() / name
    if not is_export(path) or read_export_config(path)["int8"].get("reason") == "not requested":
        export_model(name, int8=True)
    return path


def variants(teacher: str, student: str, published: dict[str, bool]) -> list[tuple[str, str, str]]:
    """(role, model, backend) for every variant that exists: an int8 graph the gate did not
    publish is not timed, and its cells stay blank with the gate's reason."""
    return [(role, name, backend) for role, name in (("teacher", teacher), ("student", student))
            for backend in BACKENDS if backend != "ONNX int8" or published[role]]


def open_variant(name: str, backend: str, threads: int):
    if backend == "PyTorch":
        torch.set_num_threads(threads)
        return load_model(name).eval()
    return OnnxEncoder(export_dir() / name, "int8" if backend == "ONNX int8" else "fp32", threads=threads)


def spread(seconds: list[float]) -> dict:
    ms = [1000 * s for s in seconds]
    return {"runs": len(ms), "min": min(ms), "median": statistics.median(ms), "max": max(ms)}


def interleaved(calls: dict[str, callable], runs: int, warmup: int) -> dict[str, dict]:
    """Each call timed `runs` times after `warmup` untimed ones, the variants interleaved round by round."""
    names = list(calls)
    for _ in range(warmup):
        for n in names:
            calls[n](0)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(runs):
        shift = r % len(names)
        for n in names[shift:] + names[:shift]:
            start = time.perf_counter()
            calls[n](r)
            times[n].append(time.perf_counter() - start)
    return {n: spread(t) for n, t in times.items()}


def time_threads(which: list[tuple[str, str, str]], threads: int, runs: int, warmup: int, images: list) -> dict:
    models = {(role, backend): open_variant(name, backend, threads) for role, name, backend in which}
    torch.set_num_threads(threads)
    label = {key: f"{key[0]} {key[1]}" for key in models}
    b1 = interleaved({label[k]: (lambda r, m=m: m.encode_text([QUERIES[r % len(QUERIES)]])) for k, m in models.items()},
                     runs, warmup)
    b32 = interleaved({label[k]: (lambda r, m=m: m.encode_text((QUERIES * 2)[:32], batch_size=32))
                       for k, m in models.items()}, max(5, runs // 5), max(1, warmup // 5))
    # the image tower is the teacher's in every variant (students share it; int8 leaves it fp32)
    image_models = {b: models[("teacher", b)] for b in ("PyTorch", "ONNX fp32")}
    i1 = interleaved({b: (lambda r, m=m: m.encode_image([images[r % len(images)]])) for b, m in image_models.items()},
                     max(5, runs // 3), max(1, warmup // 3))
    return {"threads": threads, "text_b1": b1, "text_b32": b32, "image_b1": i1}


def rss_probe(name: str, backend: str, threads: int) -> dict:
    """Run in a fresh process: peak resident memory and mean latency of RSS_PASSES batch-1 queries."""
    before = process_memory_mb()["rss_mb"]
    model = open_variant(name, backend, threads)
    for q in QUERIES[:5]:
        model.encode_text([q])
    start = time.perf_counter()
    for i in range(RSS_PASSES):
        model.encode_text([QUERIES[i % len(QUERIES)]])
    mean_ms = 1000 * (time.perf_counter() - start) / RSS_PASSES
    peak = process_memory_mb()["peak_rss_mb"]
    return {"peak_rss_mb": peak, "rss_before_load_mb": before, "mean_ms": round(mean_ms, 2),
            "passes": RSS_PASSES}


def measure_rss(name: str, backend: str, threads: int) -> dict:
    out = subprocess.run([sys.executable, "-m", "benchmarks.speed", "--rss-probe", name, backend, "--threads", str(threads)],
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def recalls(which: list[tuple[str, str, str]]) -> dict[str, float]:
    """Test text->image R@10 over every language, measured for every variant (ONNX fp32 included:
    export parity bounds the embeddings, not the ranks)."""
    root = default_corpus_path()
    records = load_corpus(root)
    models = {f"{role} {backend}": open_variant(name, backend, torch.get_num_threads()) for role, name, backend in which}
    rep = evaluate_multilingual(models, records, root, split="test", n_boot=200, progress=True)
    return {n: rep["groups"][n]["all"][HEADLINE]["value"] for n in models}


def cell(s: dict) -> str:
    return f"{s['min']:.1f} / {s['median']:.1f} / {s['max']:.1f}"


def factor_lines(med: dict[str, float]) -> list[str]:
    """Each factor's speed-up; a factor whose variant was not published (an int8 graph the gate
    rejected) is named, not computed."""
    def x(a: str, b: str) -> str:
        return f"{med[a] / med[b]:.2f}x" if a in med and b in med else "— (int8 not published)"

    return [f"- depth (teacher → student, both PyTorch): {x('teacher PyTorch', 'student PyTorch')}",
            f"- runtime (PyTorch → ONNX fp32): teacher {x('teacher PyTorch', 'teacher ONNX fp32')}, "
            f"student {x('student PyTorch', 'student ONNX fp32')}",
            f"- int8 (ONNX fp32 → int8): teacher {x('teacher ONNX fp32', 'teacher ONNX int8')}, "
            f"student {x('student ONNX fp32', 'student ONNX int8')}",
            f"- **headline, like with like**: student ONNX int8 vs teacher ONNX int8 "
            f"{x('teacher ONNX int8', 'student ONNX int8')}; student ONNX (best published) vs teacher PyTorch "
            f"{x('teacher PyTorch', 'student ONNX int8' if 'student ONNX int8' in med else 'student ONNX fp32')}"]


def render(report: dict) -> str:
    m, teacher, student = report["machine"], report["teacher"], report["student"]
    md = ["# Encode speed: depth, runtime and int8, one at a time", "",
          f"Teacher `{teacher}`, student `{student}`. Machine: {m['cores']} cores ({m['cpu']}), torch {m['torch']}, "
          f"onnxruntime {report['onnxruntime']}, Python {m['python']}. Times in ms as min / median / max over the runs "
          f"counted in each column header, after {report['warmup']} warm-up rounds; variants interleaved round by round. "
          f"Batch-1 queries cycle through {len(QUERIES)} short texts in 16 scripts.", ""]
    for t in report["timings"]:
        b1, b32 = t["text_b1"], t["text_b32"]
        runs1, runs32 = next(iter(b1.values()))["runs"], next(iter(b32.values()))["runs"]
        base = b1["teacher PyTorch"]["median"]
        md += [f"## {t['threads']} thread{'s' if t['threads'] > 1 else ''} (torch and onnxruntime)", ""]
        md += table(["variant", f"text b1 ({runs1} runs)", "speed-up vs teacher PyTorch", f"text b32 ({runs32} runs)",
                     "texts/s (b32)"],
                    [[n, cell(s), f"{base / s['median']:.1f}x", cell(b32[n]), f"{32000 / b32[n]['median']:.0f}"]
                     for n, s in b1.items()])
        med = {n: s["median"] for n, s in b1.items()}
        md += ["", "Each factor alone (batch-1 median ratio):", ""] + factor_lines(med) + [""]
        img = t["image_b1"]
        md += [f"Image, batch 1 ({next(iter(img.values()))['runs']} runs): PyTorch {cell(img['PyTorch'])}, ONNX fp32 "
               f"{cell(img['ONNX fp32'])}. Students share the teacher's image tower, and the int8 variant keeps it fp32, "
               "so these are every variant's image times.", ""]
    md += [f"## Memory and recall ({report['rss_threads']} threads, one fresh process per variant)", ""]
    rows = []
    for name, r in report["rss"].items():
        rows.append([name, f"{r['peak_rss_mb']:.0f}", f"{r['peak_rss_mb'] - r['rss_before_load_mb']:.0f}",
                     f"{r['mean_ms']:.1f}", f"{report['recall'][name]:.3f}" if name in report["recall"] else "—"])
    md += table(["variant", "peak RSS MB", "above the process before loading MB", f"mean ms ({RSS_PASSES} b1 passes)",
                 "test R@10 (all languages)"], rows)
    md += ["", "Files: " + "; ".join(f"{role} " + ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in sorted(sizes.items()))
                                      for role, sizes in report["sizes"].items()) + ".",
           "", "int8 gate (val, worst language group): " + "; ".join(f"{role}: {g}" for role, g in report["int8"].items()),
           "", "Reproduce: `python -m benchmarks.speed`."]
    return "\n".join(md) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", default=teacher_name("clip"))
    parser.add_argument("--student", default=student_name("clip"))
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=100, help="timed batch-1 rounds (b32: a fifth, images: a third)")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--no-recall", action="store_true", help="skip the test-set recall column (saves minutes)")
    parser.add_argument("--rss-probe", nargs=2, metavar=("NAME", "BACKEND"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_probe:
        print(json.dumps(rss_probe(*args.rss_probe, args.threads[0])))
        return 0

    import onnxruntime

    configs = {role: read_export_config(ensure_export(name)) for role, name in (("teacher", args.teacher),
                                                                              ("student", args.student))}
    rss_threads = max(args.threads)  # probes first, while this process holds no model
    which = variants(args.teacher, args.student, {role: bool(c["int8"].get("published")) for role, c in configs.items()})
    rss = {f"{role} {backend}": measure_rss(name, backend, rss_threads) for role, name, backend in which}
    images = [p.load() for p in PHOTOS[:4]]
    timings = [time_threads(which, t, args.runs, args.warmup, images) for t in args.threads]
    report = {"machine": machine(), "onnxruntime": onnxruntime.__version__, "teacher": args.teacher,
              "student": args.student, "warmup": args.warmup, "timings": timings, "rss": rss, "rss_threads": rss_threads,
              "recall": {} if args.no_recall else recalls(which),
              "sizes": {role: c.get("sizes_bytes", {}) for role, c in configs.items()},
              "int8": {role: c["int8"].get("reason", "") for role, c in configs.items()}}
    path = write_results("speed", json.loads(json.dumps(report, default=float)), render(report))
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
