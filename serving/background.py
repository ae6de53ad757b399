"""python -m serving.background — the app's background build of the default zoo, in a child process.

`python app.py` serves as soon as the corpus and the CLIP-style teacher exist, then starts this
module as a child at lower priority on one thread: it distills the default student (the student
panel fills in by itself), the rest of the default zoo, the ONNX exports and the students'
every-language cards. Run as a thread of the app, it shared torch's pool and the cores with every
query (on 2 cores the first query after the page appeared waited > 8 s).

The child talks to the app through lines on stdout that start with STATUS_LINE; the app shows the
latest one on every open page: which model is being built, its epoch and step, an estimate of the
time left, and what comes next. Start-up times go to $LINGUALENS_HOME/app_startup.json (the app
writes nothing into its source tree); `python -m benchmarks.app_startup` publishes them.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time

from core.constants import DEFAULT_LOSSES, FAMILIES, student_name, teacher_name
from core.io import atomic_write_json
from core.paths import export_path, lingualens_home
from export.onnx import export_model
from export.runtime import is_export
from training.build_zoo import build_default_zoo
from training.student_card import measured, refresh_card

BUILD_NICENESS = 10  # the background build yields the cores to people's queries
BUILD_THREADS = 1  # and never takes more than one of them for its own math
STATUS_LINE = "lingualens-status: "
STARTUP_FILE = "app_startup.json"
STATUS = {"background": "idle"}  # in the app: the child's latest status line
FIRST_STUDENT = student_name("clip")


def startup_path():
    return lingualens_home() / STARTUP_FILE


def record_startup(seconds: float, built: list[str], key: str | None = None) -> None:
    """How long a start took to a usable page (or to the first student), under $LINGUALENS_HOME."""
    path = startup_path()
    try:
        data = json.loads(path.read_text()) if path.is_file() else {}
        key = key or ("first_run" if built else "later_start")
        data[key] = {"seconds_to_ready": round(seconds, 1), "built": built, "when": time.strftime("%Y-%m-%d %H:%M:%S")}
        atomic_write_json(path, data)
    except (OSError, ValueError):
        pass  # a timing record is never worth failing a start for


def _minutes(seconds: float) -> str:
    return "under a minute" if seconds < 60 else f"about {round(seconds / 60)} min"


def describe_progress(name: str, p: dict, next_up: str) -> str:
    """The status line for a model in training, from the trainer's progress report."""
    eta = f", {_minutes(p['eta_s'])} left" if p.get("eta_s") is not None else ""
    return (f"distilling {name}: epoch {p['epoch']}/{p['epochs']}, step {p['step']}/{p['steps']}{eta}"
            f" · next: {next_up}")


def default_plan() -> list[str]:
    """What the background build makes, in order (each skipped when already current)."""
    students = [student_name(family, loss=loss) for loss in DEFAULT_LOSSES for family in FAMILIES]
    rest = [teacher_name(f) for f in FAMILIES if f != "clip"] + [s for s in students if s != FIRST_STUDENT]
    return [FIRST_STUDENT, *rest, "ONNX exports", "every-language model cards"]


def _next_after(plan: list[str], name: str) -> str:
    return plan[plan.index(name) + 1] if name in plan and plan.index(name) + 1 < len(plan) else "nothing"


def background_build(app_age_s: float | None = None, build=build_default_zoo) -> int:
    """The rest of the default zoo and its ONNX exports, in this (child) process. `app_age_s`: how
    long the app had run when it started this child; given, the first student's time since the
    app's start is recorded."""
    import torch

    started = time.perf_counter()
    _die_with_parent()
    torch.set_num_threads(BUILD_THREADS)
    plan = default_plan()

    def status(message: str) -> None:
        print(STATUS_LINE + message.strip(), flush=True)

    def progress(name: str, p: dict) -> None:
        status(describe_progress(name, p, _next_after(plan, name)))

    try:
        status(f"distilling the default student {FIRST_STUDENT} (it appears in the student panel when ready) · "
               f"next: {plan[1]}")
        built = build(families=("clip",), losses=("dr",), progress=False, log=status, on_progress=progress)
        if app_age_s is not None and built:
            record_startup(app_age_s + time.perf_counter() - started, built, key="first_run_student")
        status(f"building the rest of the default zoo ({', '.join(plan[1:-2])}) …")
        build(progress=False, log=status, on_progress=progress)
        # students first (the student panel's default); then teachers, so both panels can run ONNX
        exports = [student_name(family, loss=loss) for loss in DEFAULT_LOSSES for family in FAMILIES]
        for name in exports + [teacher_name(family) for family in FAMILIES]:
            if not is_export(export_path(name)):
                status(f"exporting {name} to ONNX (fp32 + gated int8) · next: every-language model cards")
                export_model(name, int8=True)
        for name in exports:  # the cards' every-language tables, and the app's "keeps 0.93 in Thai"
            if not measured(name):
                status(f"measuring {name} in every language for its card …")
                refresh_card(name, evaluate=True, progress=False)
        status("default zoo, ONNX exports and model cards complete")
        return 0
    except Exception as exc:  # the app keeps serving what exists
        status(f"background build stopped: {type(exc).__name__}: {exc}")
        return 1


def _die_with_parent() -> None:
    """The child's first act: lower its own priority and (Linux) ask for SIGTERM when the app ends.
    Done here rather than in a `preexec_fn`, which is unsafe in a process that runs threads."""
    parent = os.getppid()
    os.nice(BUILD_NICENESS)
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        return
    if os.getppid() != parent:  # the app ended before the request took hold
        sys.exit(0)


def start_background_build(app_age_s: float | None = None) -> subprocess.Popen:
    """Start the child; its status lines go to STATUS["background"], which every page shows."""
    env = {**os.environ, "OMP_NUM_THREADS": str(BUILD_THREADS), "MKL_NUM_THREADS": str(BUILD_THREADS)}
    age = ["--record", f"{app_age_s:.1f}"] if app_age_s is not None else []
    proc = subprocess.Popen([sys.executable, "-m", "serving.background", *age], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)

    def relay() -> None:
        for line in proc.stdout:
            if line.startswith(STATUS_LINE):
                STATUS["background"] = line[len(STATUS_LINE):].strip()
        if proc.wait() != 0 and "stopped" not in STATUS["background"]:
            STATUS["background"] = f"background build stopped (exit code {proc.returncode})"

    threading.Thread(target=relay, name="zoo-builder-status", daemon=True).start()
    return proc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m serving.background", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--record", type=float, default=None, metavar="APP_AGE_S",
                        help="the app's age when it started this build: record the first student's time from the app's start")
    args = parser.parse_args(argv)
    return background_build(app_age_s=args.record)


if __name__ == "__main__":
    sys.exit(main())
