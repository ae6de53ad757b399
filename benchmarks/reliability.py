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

from core.io import sha256_file
from core.paths import downloads_dir, export_dir, zoo_dir
from core.progress import PROGRESS_FILE_ENV, read_marks
from corpus.corpus import CorpusConfig, build_corpus
from export.runtime import OnnxEncoder, OnnxModelError
from tests.app_server import running_app
from tests.tiny import tiny_dual_encoder
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
        except NotAKill as exc:  # reported, never counted as held
            detail, held = f"not a kill: {exc}", None
        except Exception as exc:  # a case that does not hold is reported, with why
            detail, held = f"{type(exc).__name__}: {exc}"[:300], False
        self.rows.append({"group": group, "case": name, "held": held, "detail": str(detail or ""),
                          "seconds": round(time.perf_counter() - start, 1)})
        print(f"[{ {True: 'held', False: 'LOST', None: 'not a kill'}[held]}] {group}: {name} — {detail}", flush=True)


def _env(home: Path, **extra: str) -> dict:
    return {**os.environ, "LINGUALENS_HOME": str(home), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", **extra}


def _python(home: Path, code: str, marks: Path | None = None) -> subprocess.Popen:
    env = _env(home, **({PROGRESS_FILE_ENV: str(marks)} if marks else {}))
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class NotAKill(Exception):
    """The job had finished before the signal: the case proves nothing and is not counted."""


def timeline(home: Path, code: str, marks: Path) -> list[float]:
    """Run the job uninterrupted; the time each of its progress marks was written."""
    marks.unlink(missing_ok=True)
    if _python(home, code, marks).wait() != 0:
        raise SystemExit(f"the uninterrupted job failed: {code}")
    return [m["t"] for m in read_marks(marks)]


def kill_inside(home: Path, code: str, marks: Path, unit: int, times: list[float], rng: random.Random) -> str:
    """SIGKILL the job while it works on unit `unit` (1-based) of its total: the signal goes out
    once mark `unit - 1` is written plus a random share of that unit's duration in the uninterrupted
    run, and only if the job is still running and short of its total at that moment."""
    marks.unlink(missing_ok=True)
    proc = _python(home, code, marks)
    delay = rng.uniform(0.1, 0.9) * (times[unit] - times[unit - 1])
    while True:
        seen = read_marks(marks)
        if len(seen) >= unit or proc.poll() is not None:
            break
        time.sleep(0.002)
    time.sleep(delay)
    seen = read_marks(marks)
    if proc.poll() is not None or not seen or seen[-1]["done"] >= seen[-1]["total"]:
        proc.wait()
        if proc.returncode != 0:
            raise AssertionError(f"the job itself failed (exit {proc.returncode}) before it could be killed")
        raise NotAKill(f"the job had finished ({seen[-1]['done'] if seen else '?'} of "
                       f"{seen[-1]['total'] if seen else '?'}) before the signal")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return f"killed inside unit {seen[-1]['done'] + 1} of {seen[-1]['total']} ({seen[-1]['done']} done)"


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


def export_job(target: Path) -> str:
    return f"from export.onnx import export_model; export_model('tiny-teacher', {str(target)!r}, int8=False)"


def after_export_kill(target: Path) -> str:
    if target.exists():
        OnnxEncoder(target)  # whatever sits under the final name must be complete and verified
        state = "a complete, verified export under its name"
    else:
        state = "nothing under its name"
    leftovers = [p.name for p in export_dir().iterdir() if p.name.startswith(".")] if export_dir().is_dir() else []
    return f"{state}; hidden temp dirs left: {len(leftovers)}"


ZIP_NAME = "tiny-teacher-checkpoint"  # the name app.py gives the zoo zip of tiny-teacher


def zip_job() -> str:
    """The zip the app's /download_checkpoint hands out, written where the app looks."""
    return ("from search.service import SearchService; from core.paths import downloads_dir, zoo_dir; "
            f"SearchService.zip_dir(zoo_dir() / 'tiny-teacher', {ZIP_NAME!r}, downloads_dir())")


def after_zip_kill() -> str:
    target = downloads_dir() / f"{ZIP_NAME}.zip"
    if target.exists():
        with zipfile.ZipFile(target) as zf:
            bad = zf.testzip()
        if bad is not None:
            raise AssertionError(f"{target} is served but {bad} inside it is damaged")
    return f"zip {'complete' if target.exists() else 'absent'} under its name"


def uploads_job(images: list[Path], store: Path) -> str:
    return ("from pathlib import Path; from search.service import SearchService; "
            f"SearchService.add_uploads([], {[str(p) for p in images]!r}, Path({str(store)!r}))")


def after_uploads_kill(store: Path) -> str:
    shown = sorted(p for p in store.glob("*.png")) if store.is_dir() else []
    for p in shown:
        with Image.open(p) as im:
            im.load()  # every upload under its name is a whole image
    return f"{len(shown)} complete uploads, no partial one"


def index_job(images: Path, out: Path) -> str:
    return ("from pathlib import Path; from search.build_index import build; "
            f"build(Path({str(images)!r}), Path({str(out)!r}), 'tiny-teacher', shard_size=2, show_progress=False)")


def index_signature(out: Path) -> tuple:
    meta = json.loads((out / "index.json").read_text())
    return meta["images"], sha256_file(out / "index.faiss")


def after_index_kill(home: Path, images: Path, out: Path, reference: tuple) -> str:
    partial = [p.name for p in (out / "shards").glob("*.safetensors") if not _whole_safetensors(p)]
    if partial:
        raise AssertionError(f"half-written shards under their final names: {partial}")
    kept = len(list((out / "shards").glob("*.safetensors")))
    if _python(home, index_job(images, out)).wait() != 0:
        raise AssertionError("the rerun of the same command failed")
    if index_signature(out) != reference:
        raise AssertionError("the resumed index differs from an uninterrupted build")
    return f"{kept} whole shards kept; the rerun finished an index identical to an uninterrupted build"


def _whole_safetensors(path: Path) -> bool:
    from safetensors.numpy import load_file

    try:
        load_file(str(path))
        return True
    except Exception:  # a truncated or damaged file, whatever safetensors raises for it
        return False


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
        per_epoch, total_steps = int(epochs[0]["step"]), int(epochs[-1]["step"])
        # step 3 always (the app cases below serve that student), then random steps in either epoch
        steps = [3] + sorted(rng.sample(range(4, total_steps), 1 if args.quick else 3))
        for step in steps:
            report.case("kill", f"distillation, SIGKILL at step {step} of {total_steps} (default settings)",
                        lambda s=step: kill_distillation(home, reference, s, per_epoch))
        report.case("kill", "app restarted after the distillation kills",
                    lambda: app_answers(home, corpus, "the distillation kills"))
        # Every other job runs once uninterrupted to learn its units (progress marks), then is killed
        # inside chosen units: the first, the last, and random ones between (a unit is the job's own
        # step: an export stage, a zipped file, an upload, an index shard).
        marks = home / "marks.jsonl"
        n_kills = 2 if args.quick else 4

        def kill_cases(label: str, job, after) -> None:
            """`job()` clears what the last run left and returns the job's code; `after()` checks what a kill left."""
            times = timeline(home, job(), marks)
            total = len(times) - 1
            units = sorted({1, total} | set(rng.sample(range(2, total), max(0, min(n_kills, total) - 2))))
            for unit in units:
                report.case("kill", f"{label}, SIGKILL inside unit {unit} of {total}",
                            lambda u=unit: f"{kill_inside(home, job(), marks, u, times, rng)}: {after()}")

        target = export_dir() / "tiny-teacher"

        def export_fresh() -> str:
            shutil.rmtree(target, ignore_errors=True)
            return export_job(target)

        kill_cases("ONNX export (stages)", export_fresh, lambda: after_export_kill(target))
        report.case("kill", "app restarted after the export kills",
                    lambda: app_answers(home, corpus, "the export kills", **_onnx_if_exported()))
        kill_cases("zoo zip (files)", lambda: shutil.rmtree(downloads_dir(), ignore_errors=True) or zip_job(),
                   after_zip_kill)
        report.case("kill", "app restarted after the zip kills", lambda: app_answers(home, corpus, "the zip kills"))
        images = []
        for i in range(20):
            images.append(home / "photos" / f"in-{i}.png")
            images[-1].parent.mkdir(exist_ok=True)
            Image.fromarray(np.random.default_rng(i).integers(0, 255, (600, 600, 3), dtype=np.uint8)).save(images[-1])
        store = home / "uploads" / "session"
        kill_cases("20 uploads (images)", lambda: shutil.rmtree(store, ignore_errors=True) or uploads_job(images, store),
                   lambda: after_uploads_kill(store))
        report.case("kill", "app restarted after the upload kills", lambda: app_answers(home, corpus, "the upload kills"))
        reference_index = home / "index-uninterrupted"
        if _python(home, index_job(home / "photos", reference_index)).wait() != 0:
            raise SystemExit("the uninterrupted index build failed")
        index_reference = index_signature(reference_index)
        index_out = home / "index-killed"

        def fresh_index_job() -> str:
            shutil.rmtree(index_out, ignore_errors=True)
            return index_job(home / "photos", index_out)

        kill_cases("search.build_index (shards of 2 images)", fresh_index_job,
                   lambda: after_index_kill(home, home / "photos", index_out, index_reference))
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
    counted = [r for r in report.rows if r["held"] is not None]
    held = sum(r["held"] for r in counted)
    not_kills = len(report.rows) - len(counted)
    m = machine()
    md = ["# Reliability: kills, tampering, load", "",
          f"{held} of {len(counted)} cases held"
          + (f"; {not_kills} planned kills landed after the job had finished and are not counted" if not_kills else "")
          + f". Tiny models (the tests' own), a 40-concept corpus, {m['cores']} cores. Resume checkpoints every "
          f"{TrainConfig().checkpoint_every} steps by default; the uninterrupted reference run took {total_steps} steps "
          f"in {len(epochs)} epochs. A kill counts only when the job was still running and short of its last unit when "
          "the signal went out; each row says which unit it was in.", ""]
    md += table(["group", "case", "held", "what happened", "s"],
                [[r["group"], r["case"], {True: "held", False: "**LOST**", None: "not a kill"}[r["held"]], r["detail"].replace("|", "/"), r["seconds"]]
                 for r in report.rows])
    md += ["", f"Load on loopback: {under_load['clients']} users × {under_load['queries_each']} text queries (k = 8): "
               f"{under_load['answered']} answered, {under_load['errors']} errors, {under_load['queries_per_s']} queries/s, "
               f"latency mean {under_load['mean_ms']} ms, p50 {under_load['p50']}, p95 {under_load['p95']}, p99 {under_load['p99']} ms "
               "(tiny models: this measures the serving path, not the encoders). Each call is one POST and its own SSE "
               "stream (`benchmarks/gradio_http.py`, which says why not gradio_client).", "",
           f"Reproduce: `python -m benchmarks.reliability{' --quick' if args.quick else ''}`."]
    path = write_results("reliability", {"machine": m, "cases": report.rows, "load": under_load}, "\n".join(md) + "\n")
    print(path.read_text())
    return 0 if held == len(counted) else 1


if __name__ == "__main__":
    sys.exit(main())
