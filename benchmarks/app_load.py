"""python -m benchmarks.app_load — a real `python app.py` under load, measured from outside.

Starts the app on 127.0.0.1 on the current home's default models, then, per student backend:
one client sending queries back to back (end-to-end latency, and the models' own time from the
panels' labels), then CLIENTS concurrent clients (throughput, p50/p95/p99, errors). Each phase is
bounded by a query count and a deadline, so the run stops by itself. The server's resident memory
(now and peak, from /proc) is read after each phase. With --during-build the app instead starts
on a home that has the corpus and teacher but no student, as a first start does, and the load
runs while its background build distils the student.

Calls go through Gradio's per-call HTTP API (`benchmarks.gradio_http`, which says why not
gradio_client). Writes results/app_load.{md,json}.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

from core.constants import student_name, teacher_name
from core.paths import cache_dir, corpus_dir, lingualens_home, zoo_dir
from tests.app_server import running_app

from .common import machine, process_memory_mb, table, write_results
from .gradio_http import NO_SESSION, call, load, percentiles

QUERIES = ["perro", "犬", "собака", "un chat qui dort", "Kaffee", "القمر", "로켓", "bandera de Japón", "हवाई जहाज़",
           "แมว", "pizza", "ελέφαντας", "ბავშვი", "מטוס", "mèo", "taa"]
MODEL_MS = re.compile(r"· (\d+) ms ·")


def children_running(pid: int) -> bool:
    """Whether the app still has a child (its background build)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().split()[3] == str(pid):
                return True
        except OSError:  # a process that ended while we looked
            continue
    return False


def asker(teacher: str, student: str, backend: str, k: int, model_ms: list | None = None):
    def ask(http: httpx.Client, url: str, i: int, j: int) -> str | None:
        message, t_hits, s_hits, t_label, s_label, *_ = call(http, url, "search", QUERIES[(i * 7 + j) % len(QUERIES)],
                                                             teacher, student, backend, k, False, NO_SESSION)
        if model_ms is not None:
            model_ms.append(sum(int(m) for m in MODEL_MS.findall(t_label + s_label)))
        return None if not message and len(t_hits) == k and len(s_hits) == k else \
            f"answered {message!r} with {len(t_hits)}/{len(s_hits)} results"
    return ask


def phases(url, pid: int, teacher: str, student: str, backend: str, args) -> dict:
    with httpx.Client() as http:  # the first query loads the models and their gallery index: not timed
        call(http, url, "search", "warm", teacher, student, backend, args.k, False, NO_SESSION)
    model_ms: list[int] = []
    one = load(url, 1, args.single, asker(teacher, student, backend, args.k, model_ms), args.deadline)
    one["models_ms"] = percentiles([m / 1000 for m in model_ms])
    memory_one = process_memory_mb(pid)
    many = load(url, args.clients, args.queries, asker(teacher, student, backend, args.k), args.deadline)
    return {"backend": backend, "one": one, "many": many, "memory_after_one": memory_one,
            "memory_after_many": process_memory_mb(pid)}


def first_start_home(tmp: Path) -> Path:
    """A home with this home's corpus and feature cache (linked) and teacher (copied) but no
    student: what a first start has once its page is up, so the app distils one in the background."""
    home = tmp / "home"
    (home / "zoo").mkdir(parents=True)
    (home / "cache").mkdir()
    os.symlink(corpus_dir(), home / "corpus")
    os.symlink(cache_dir() / "features", home / "cache" / "features")  # content-keyed: sharing it is safe
    # copied: the zoo refuses a checkpoint whose real path lies outside it (a link would be one)
    shutil.copytree(zoo_dir() / teacher_name("clip"), home / "zoo" / teacher_name("clip"))
    return home


def wait_for_student(home: Path, student: str, launched: float, limit_s: float) -> float | None:
    """Seconds from the app's launch until the background build put `student` in the zoo (None: not within limit_s)."""
    marker = home / "zoo" / student / "lingualens.json"
    while not marker.is_file():
        if time.perf_counter() - launched > limit_s:
            return None
        time.sleep(2)
    return time.perf_counter() - launched


def render(report: dict) -> str:
    m = report["machine"]
    md = ["# The app under load", "",
          f"`python app.py` on 127.0.0.1, {m['cores']} cores ({m['cpu']}); teacher `{report['teacher']}`, student "
          f"`{report['student']}`, k = {report['k']} results per panel; queries in {len(QUERIES)} languages. "
          f"{report['mode']}", ""]
    rows = []
    for r in report["runs"]:
        one, many = r["one"], r["many"]
        rows.append([r["backend"], f"{one['p50']} / {one['p95']}", f"{one['models_ms'].get('p50', '—')}",
                     f"{many['clients']} × {many['queries_each']} ({many['sent']} sent)", many["queries_per_s"],
                     f"{many['p50']} / {many['p95']} / {many['p99']}", many["errors"],
                     f"{r['memory_after_many']['rss_mb']} (peak {r['memory_after_many']['peak_rss_mb']})"])
    md += table(["backend (both panels)", "1 client p50 / p95 ms", "models' own ms (p50)", "concurrent clients",
                 "queries/s", "p50 / p95 / p99 ms", "errors", "server RSS MB"], rows)
    md += ["", "Server RSS is the process's after each phase, cumulative: a later row also holds the models of the rows "
               "before it.", "", f"Memory right after start (teacher loaded): {report['memory_at_start']['rss_mb']} MB.",
           "", f"Reproduce: `python -m benchmarks.app_load{' --during-build' if report['during_build'] else ''}`."]
    return "\n".join(md) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.app_load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", default=teacher_name("clip"))
    parser.add_argument("--student", default=student_name("clip"))
    # the app's default first: memory after its phase is what a default app holds
    parser.add_argument("--backends", nargs="+", default=["ONNX int8", "PyTorch"])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--queries", type=int, default=25, help="per concurrent client")
    parser.add_argument("--single", type=int, default=50, help="queries of the lone client")
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--deadline", type=float, default=240.0, help="seconds a phase may take")
    parser.add_argument("--workers", type=int, default=None, help="passed to python app.py --workers")
    parser.add_argument("--during-build", action="store_true")
    parser.add_argument("--student-wait", type=float, default=1500.0,
                        help="with --during-build: how long to wait for the student after the load")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lingualens-app-load-") as tmp:
        home = first_start_home(Path(tmp)) if args.during_build else lingualens_home()
        extra = ["--teacher", args.teacher] + ([] if args.during_build else ["--student", args.student])
        extra += ["--workers", str(args.workers)] if args.workers else []
        launched = time.perf_counter()
        with running_app(home, *extra, build=args.during_build, timeout_s=900) as url:
            at_start = process_memory_mb(url.pid)
            runs = []
            if args.during_build:
                # the student panel says "no model yet" while it is distilled: time the teacher's answers
                started = time.perf_counter()
                runs.append(phases(url, url.pid, args.teacher, args.teacher, "PyTorch", args))
                building = children_running(url.pid)
                load_s = time.perf_counter() - started
                student_s = wait_for_student(home, args.student, launched, args.student_wait)
                mode = (f"During the first start's background build (a child process at niceness 10 with one thread): "
                        f"the build {'was still running' if building else 'had ENDED'} when the load ended "
                        f"({load_s:.0f} s of load); both panels served by the teacher. The student "
                        + (f"was in the zoo {student_s:.0f} s after the app was launched (teacher already built)."
                           if student_s is not None else f"was not built within {args.student_wait:.0f} s."))
            else:
                runs = [phases(url, url.pid, args.teacher, args.student, b, args) for b in args.backends]
                mode = "After every model was built (--no-build start)."
    report = {"machine": machine(), "teacher": args.teacher, "student": args.student, "k": args.k, "mode": mode,
              "workers": args.workers,
              "during_build": args.during_build, "memory_at_start": at_start, "runs": runs}
    stem = "app_load_during_build" if args.during_build else "app_load"
    path = write_results(stem, report, render(report))
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
