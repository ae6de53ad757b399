"""python -m benchmarks.reliability — kill, tamper and load the real code paths; report what held.

Runs in a fresh temporary home on the tiny models the tests use (a 2-layer text tower, a small
timm image tower and a 40-concept corpus), so every case takes seconds and a report is minutes:

- **kills** (SIGKILL, no cleanup): distillation at random steps with default settings (resume
  must end exactly like an uninterrupted run and lose at most `checkpoint_every` steps), an ONNX
  export, a zoo zip and a batch of uploads at random moments (no half-written file may sit under
  a final name), then the app restarted on that home must answer;
- **tampering**: a flipped bit in each weight file, a swapped tokenizer, a config that points
  outside its directory, for checkpoints and ONNX exports — each refused with the file named;
- **load**: 50 concurrent users × 100 queries on loopback (Gradio's per-call HTTP API) — errors and latency
  percentiles.

Writes results/reliability.md and .json. `--quick` runs fewer kills and a lighter load.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from core.paths import downloads_dir, export_dir, zoo_dir
from export.runtime import OnnxEncoder, OnnxModelError
from tests.app_server import running_app
from tests.tiny import tiny_dual_encoder
from training.data.corpus import CorpusConfig, build_corpus
from training.trainer import TrainConfig
from zoo.checkpoint import CheckpointError
from zoo.factory import load_checkpoint

from .common import machine, table, write_results
from .gradio_http import NO_SESSION, call, load

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["a cat", "un perro", "猫", "flag"]
DISTILL_ARGS = ["--teacher", "tiny-teacher", "--recipe", "custom", "--layers", "1", "--vocab-words", "50",
                "--languages", "en", "es", "ja", "--eval-languages", "en", "es", "ja", "--epochs", "2",
                "--batch-size", "8", "--passes-per-epoch", "2", "--loss", "mcl", "--no-progress"]


class Report:
    def __init__(self):
        self.rows: list[dict] = []

    def case(self, group: str, name: str, fn) -> None:
        """Run one case; it holds if `fn` returns without raising (its return value is the detail)."""
        start = time.perf_counter()
        try:
            detail, held = fn(), True
        except Exception as exc:  # a case that does not hold is reported, with why
            detail, held = f"{type(exc).__name__}: {exc}"[:300], False
        self.rows.append({"group": group, "case": name, "held": held, "detail": str(detail or ""),
                          "seconds": round(time.perf_counter() - start, 1)})
        print(f"[{'held' if held else 'LOST'}] {group}: {name} — {detail}", flush=True)


def _env(home: Path, **extra: str) -> dict:
    return {**os.environ, "LINGUALENS_HOME": str(home), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", **extra}


def _python(home: Path, code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=_env(home),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill_after(proc: subprocess.Popen, seconds: float) -> bool:
    """SIGKILL `proc` after `seconds` unless it finished first; True if it was killed."""
    try:
        if proc.wait(timeout=seconds) != 0:
            raise AssertionError(f"the job itself failed (exit {proc.returncode}) before it could be killed")
        return False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True


def _distill(home: Path, name: str, fault_step: int | None = None) -> subprocess.CompletedProcess:
    env = _env(home, **({"LINGUALENS_FAULT_SIGKILL_AT_STEP": str(fault_step)} if fault_step else {}))
    return subprocess.run([sys.executable, "-m", "training.distill", *DISTILL_ARGS, "--corpus",
                           str(home / "corpus" / "small"), "--name", name], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)


def _resumed_at(home: Path, name: str, steps_per_epoch: int) -> int:
    """The global step a rerun resumed from, read from the run's own log."""
    (log,) = (home / "cache" / "runs").glob(f"{name}-*/log.jsonl")
    resumed = [e for e in map(json.loads, log.read_text().splitlines()) if e.get("event") == "resumed"]
    if not resumed:
        return 0  # killed before the first checkpoint: the rerun starts over
    return int(resumed[-1]["epoch"]) * steps_per_epoch + int(resumed[-1]["step_in_epoch"])


# -- kills -------------------------------------------------------------------------------
def kill_distillation(home: Path, reference: np.ndarray, step: int, steps_per_epoch: int) -> str:
    name = f"killed-at-{step}"
    first = _distill(home, name, fault_step=step)
    if first.returncode != -signal.SIGKILL:
        raise AssertionError(f"the run was not killed (exit {first.returncode})")
    if (zoo_dir() / name).exists():
        raise AssertionError("a student appeared in the zoo from a killed run")
    again = _distill(home, name)
    if again.returncode != 0:
        raise AssertionError(f"rerun failed: {again.stderr[-300:]}")
    lost = step - _resumed_at(home, name, steps_per_epoch)  # steps completed before the kill and not saved
    if lost > TrainConfig().checkpoint_every:
        raise AssertionError(f"lost {lost} steps, more than checkpoint_every")
    diff = float(np.abs(load_checkpoint(zoo_dir() / name).encode_text(TEXTS) - reference).max())
    if diff > 1e-5:
        raise AssertionError(f"resumed student differs from an uninterrupted run by {diff:.1e}")
    return f"lost {lost} steps; the rerun ends like an uninterrupted run (max diff {diff:.1e})"


def _duration(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def kill_export(home: Path, seconds: float) -> str:
    target = export_dir() / "tiny-teacher"
    shutil.rmtree(target, ignore_errors=True)
    code = f"from export.onnx import export_model; export_model('tiny-teacher', {str(target)!r}, int8=False)"
    killed = _kill_after(_python(home, code), seconds)
    if not killed and not target.exists():
        raise AssertionError("the export finished but nothing is under its name")
    if target.exists():
        OnnxEncoder(target)  # whatever sits under the final name must be complete and verified
        state = "complete export under its name"
    else:
        state = "nothing under its name"
    leftovers = [p.name for p in export_dir().iterdir() if p.name.startswith(".")] if export_dir().is_dir() else []
    return f"{'killed' if killed else 'finished'} after {seconds:.1f} s: {state}; hidden temp dirs left: {len(leftovers)}"


ZIP_NAME = "tiny-teacher-checkpoint"  # the name app.py gives the zoo zip of tiny-teacher


def kill_zip(home: Path, seconds: float) -> str:
    """The zip the app's /download_checkpoint hands out, killed while it is written where the app looks."""
    work = downloads_dir()
    shutil.rmtree(work, ignore_errors=True)
    code = ("from search.service import SearchService; from core.paths import downloads_dir, zoo_dir; "
            f"SearchService.zip_dir(zoo_dir() / 'tiny-teacher', {ZIP_NAME!r}, downloads_dir())")
    killed = _kill_after(_python(home, code), seconds)
    target = work / f"{ZIP_NAME}.zip"
    if target.exists():
        with zipfile.ZipFile(target) as zf:
            bad = zf.testzip()
        if bad is not None:
            raise AssertionError(f"{target} is served but {bad} inside it is damaged")
    return f"{'killed' if killed else 'finished'} after {seconds:.1f} s: zip {'complete' if target.exists() else 'absent'}"


def kill_uploads(home: Path, images: list[Path], seconds: float) -> str:
    store = home / "uploads" / f"session-{seconds:.3f}"
    code = ("from pathlib import Path; from search.service import SearchService; "
            f"SearchService.add_uploads([], {[str(p) for p in images]!r}, Path({str(store)!r}))")
    killed = _kill_after(_python(home, code), seconds)
    shown = sorted(p for p in store.glob("*.png")) if store.is_dir() else []
    for p in shown:
        with Image.open(p) as im:
            im.load()  # every upload under its name is a whole image
    return f"{'killed' if killed else 'finished'} after {seconds:.1f} s: {len(shown)} complete uploads, no partial one"


def app_answers(home: Path, corpus: Path, after: str, student: str = "killed-at-3", backend: str = "PyTorch") -> str:
    """Restart the app on the home a kill left behind; both panels must answer, and a checkpoint zip must be whole."""
    with running_app(home, "--teacher", "tiny-teacher", "--student", student, "--corpus", str(corpus)) as url, \
            httpx.Client() as http:
        message, teacher, student_results, *_ = call(http, url, "search", "perro", "tiny-teacher", student, backend,
                                                      3, False, NO_SESSION)
        download, download_message = call(http, url, "download_checkpoint", "tiny-teacher")
    if message or len(teacher) != 3 or len(student_results) != 3:
        raise AssertionError(f"restarted app answered {message!r} with {len(teacher)}/{len(student_results)} results")
    zipped = Path(download["path"]) if download else None
    if download_message or zipped is None or not zipped.is_file():
        raise AssertionError(f"/download_checkpoint gave {download!r} ({download_message!r})")
    with zipfile.ZipFile(zipped) as zf:
        if zf.testzip() is not None or "lingualens.json" not in zf.namelist():
            raise AssertionError(f"/download_checkpoint served a damaged or incomplete {zipped.name}")
    return f"restarted after {after}; teacher and {student} ({backend}) answered; the checkpoint zip is whole"


def _onnx_if_exported() -> dict:
    """Serve the killed export in the student panel when a whole one was left under its name."""
    return {"student": "tiny-teacher", "backend": "ONNX"} if (export_dir() / "tiny-teacher").is_dir() else {}


# -- tampering ---------------------------------------------------------------------------
def _flip_bit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _refused(kind: str, src: Path, work: Path, how: str, load, error: type[Exception], config_edits: dict) -> str:
    """Copy `src`, damage it as `how` says (a weight or graph file name: flip one bit; "swapped
    tokenizer"; or a config edit), and require `load` to refuse it with `error` naming the file."""
    d = work / f"{kind}-{how.replace(' ', '-').replace('/', '-')}"
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(src, d)
    if how == "swapped tokenizer":
        _edit_json(d / "tokenizer.json", lambda tok: tok.update(added_tokens=tok["added_tokens"][:1]))
    elif how in config_edits:
        config_name, change = config_edits[how]
        _edit_json(d / config_name, change)
    else:
        _flip_bit(d / how)
    try:
        load(d)
    except error as exc:
        if str(d) not in str(exc):
            raise AssertionError(f"refused without naming the file: {exc}") from exc
        return f"refused: {str(exc).replace(str(d) + '/', '').replace(str(d), f'<{kind}>')[:110]}"
    raise AssertionError(f"loaded a tampered {kind}")


def tamper_checkpoint(src: Path, work: Path, how: str) -> str:
    outside = ("lingualens.json", lambda cfg: cfg.update(image={"type": "reference", "model": "/etc"}))
    return _refused("checkpoint", src, work, how, load_checkpoint, CheckpointError, {"image reference outside": outside})


def tamper_export(src: Path, work: Path, how: str) -> str:
    outside = ("lingualens_onnx.json", lambda cfg: cfg["text"]["files"].update(fp32="../../etc/passwd"))
    return _refused("export", src, work, how, OnnxEncoder, OnnxModelError, {"file name outside": outside})


# -- load --------------------------------------------------------------------------------
LOAD_WORDS = ["perro", "犬", "собака", "chat", "Katze", "قطة", "고양이", "แมว", "bandera", "🍕"]


def load_test(home: Path, corpus: Path, clients: int, queries: int) -> dict:
    """`clients` users, each sending `queries` text queries back to back; the server's log is read afterwards."""
    def ask(http, url: str, i: int, j: int) -> str | None:
        message, teacher, *_ = call(http, url, "search", LOAD_WORDS[(i + j) % len(LOAD_WORDS)], "tiny-teacher",
                                    "killed-at-3", "PyTorch", 8, False, NO_SESSION)
        return None if message == "" and len(teacher) == 8 else f"answered {message!r} with {len(teacher)} results"

    log = home / "load-app.log"
    with running_app(home, "--teacher", "tiny-teacher", "--student", "killed-at-3", "--corpus", str(corpus),
                     log_to=log) as url:
        result = load(url, clients, queries, ask)
    return {**result, "server_tracebacks": log.read_text(errors="replace").count("Traceback (most recent call last)")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reliability", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 distillation kills and 10 users × 20 queries")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    report = Report()
    with tempfile.TemporaryDirectory(prefix="lingualens-reliability-") as tmp:
        home = Path(tmp)
        os.environ["LINGUALENS_HOME"] = str(home)
        corpus = build_corpus(home / "corpus" / "small", CorpusConfig(limit=40), progress=False)
        tiny_dual_encoder("clip").save_pretrained(zoo_dir() / "tiny-teacher")
        clean = _distill(home, "uninterrupted")
        if clean.returncode != 0:
            raise SystemExit(f"the uninterrupted reference run failed: {clean.stderr[-500:]}")
        reference = load_checkpoint(zoo_dir() / "uninterrupted").encode_text(TEXTS)
        (log,) = (home / "cache" / "runs").glob("uninterrupted-*/log.jsonl")
        epochs = [e for e in map(json.loads, log.read_text().splitlines()) if e.get("event") == "epoch"]
        per_epoch, total = int(epochs[0]["step"]), int(epochs[-1]["step"])
        # step 3 always (the app cases below serve that student), then random steps in either epoch
        steps = [3] + sorted(rng.sample(range(4, total), 1 if args.quick else 3))
        for step in steps:
            report.case("kill", f"distillation, SIGKILL at step {step} of {total} (default settings)",
                        lambda s=step: kill_distillation(home, reference, s, per_epoch))
        report.case("kill", "app restarted after the distillation kills",
                    lambda: app_answers(home, corpus, "the distillation kills"))
        # each job is timed once uninterrupted, then killed late in its run, where it writes
        fractions = (0.7, 0.9) if args.quick else (0.6, 0.75, 0.9, 0.97)
        export_s = _duration(lambda: kill_export(home, 600.0))
        for f in fractions:
            report.case("kill", f"ONNX export, SIGKILL at {f:.0%} of its {export_s:.1f} s",
                        lambda s=f * export_s: kill_export(home, s))
        report.case("kill", "app restarted after the export kills",
                    lambda: app_answers(home, corpus, "the export kills", **_onnx_if_exported()))
        zip_s = _duration(lambda: kill_zip(home, 600.0))
        for f in fractions:
            report.case("kill", f"zoo zip, SIGKILL at {f:.0%} of its {zip_s:.1f} s", lambda s=f * zip_s: kill_zip(home, s))
        report.case("kill", "app restarted after the zip kills", lambda: app_answers(home, corpus, "the zip kills"))
        images = []
        for i in range(20):
            images.append(home / f"in-{i}.png")
            Image.fromarray(np.random.default_rng(i).integers(0, 255, (600, 600, 3), dtype=np.uint8)).save(images[-1])
        uploads_s = _duration(lambda: kill_uploads(home, images, 600.0))
        for f in fractions:
            report.case("kill", f"20 uploads, SIGKILL at {f:.0%} of their {uploads_s:.1f} s",
                        lambda s=f * uploads_s: kill_uploads(home, images, s))
        report.case("kill", "app restarted after the upload kills", lambda: app_answers(home, corpus, "the upload kills"))
        ckpt = zoo_dir() / "tiny-teacher"
        for how in ("model.safetensors", "image.safetensors", "2_Dense/model.safetensors", "swapped tokenizer",
                    "image reference outside"):
            report.case("tamper", f"checkpoint: {how}", lambda h=how: tamper_checkpoint(ckpt, home / "tampered", h))
        from export.onnx import export_model

        exported = export_model("tiny-teacher", home / "clean-export")
        for how in ("text.onnx", "image.onnx", "swapped tokenizer", "file name outside"):
            report.case("tamper", f"ONNX export: {how}", lambda h=how: tamper_export(exported, home / "tampered", h))
        users, queries = (10, 20) if args.quick else (50, 100)
        under_load = load_test(home, corpus, users, queries)

        def no_errors() -> str:
            if under_load["errors"] or under_load["server_tracebacks"]:
                raise AssertionError(f"{under_load['errors']} errors: {under_load['first_errors']}; "
                                     f"{under_load['server_tracebacks']} tracebacks in the server's log")
            return f"0 errors; p50 {under_load['p50']} ms, p95 {under_load['p95']} ms, {under_load['queries_per_s']} queries/s"

        report.case("load", f"{users} concurrent users × {queries} queries", no_errors)
    held = sum(r["held"] for r in report.rows)
    m = machine()
    md = ["# Reliability: kills, tampering, load", "",
          f"{held} of {len(report.rows)} cases held. Tiny models (the tests' own), a 40-concept corpus, "
          f"{m['cores']} cores. Resume checkpoints every {TrainConfig().checkpoint_every} steps by default; "
          f"the uninterrupted reference run took {total} steps in {len(epochs)} epochs.", ""]
    md += table(["group", "case", "held", "what happened", "s"],
                [[r["group"], r["case"], "held" if r["held"] else "**LOST**", r["detail"].replace("|", "/"), r["seconds"]]
                 for r in report.rows])
    md += ["", f"Load on loopback: {under_load['clients']} users × {under_load['queries_each']} text queries (k = 8): "
               f"{under_load['answered']} answered, {under_load['errors']} errors, {under_load['queries_per_s']} queries/s, "
               f"latency mean {under_load['mean_ms']} ms, p50 {under_load['p50']}, p95 {under_load['p95']}, p99 {under_load['p99']} ms "
               "(tiny models: this measures the serving path, not the encoders). Each call is one POST and its own SSE "
               "stream (`benchmarks/gradio_http.py`, which says why not gradio_client).", "",
           f"Reproduce: `python -m benchmarks.reliability{' --quick' if args.quick else ''}`."]
    path = write_results("reliability", {"machine": m, "cases": report.rows, "load": under_load}, "\n".join(md) + "\n")
    print(path.read_text())
    return 0 if held == len(report.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
