"""The app's background build: a child process at lower priority whose status lines reach the page."""
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from serving import background

ROOT = Path(__file__).resolve().parents[1]


def test_the_child_runs_niced_and_ends_with_its_parent():
    code = ("import os; from serving import background; before = os.nice(0); background._die_with_parent(); "
            "import ctypes; sig = ctypes.c_int(); ctypes.CDLL('libc.so.6').prctl(2, ctypes.byref(sig)); "  # PR_GET_PDEATHSIG
            "print(os.nice(0) - before, sig.value)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    niced, death_signal = map(int, out.stdout.split())
    assert niced == background.BUILD_NICENESS
    assert death_signal == 15  # SIGTERM when the app goes away


class FakeChild:
    def __init__(self, lines: list[str], code: int):
        self.stdout, self.returncode = io.StringIO("".join(lines)), code

    def wait(self):
        return self.returncode

    def poll(self):
        return self.returncode


def _spawn(monkeypatch, lines, code):
    seen = {}

    def popen(cmd, **kwargs):
        seen.update(cmd=cmd, **kwargs)
        return FakeChild(lines, code)

    monkeypatch.setattr(background.subprocess, "Popen", popen)
    monkeypatch.setitem(background.STATUS, "background", "idle")
    background.start_background_build()
    return seen


def _status_becomes(expected: str) -> str:
    """The relay thread reads the child's output: wait (bounded) for it to get there."""
    deadline = time.time() + 5
    while background.STATUS["background"] != expected and time.time() < deadline:
        time.sleep(0.01)
    return background.STATUS["background"]


def test_status_lines_reach_the_page_and_other_output_does_not(monkeypatch):
    seen = _spawn(monkeypatch, ["loading weights …\n", background.STATUS_LINE + "distilling the default student …\n",
                                "12%|███ progress\n", background.STATUS_LINE + "default zoo and ONNX exports complete\n"], 0)
    assert _status_becomes("default zoo and ONNX exports complete") == "default zoo and ONNX exports complete"
    assert seen["cmd"][1:] == ["-m", "serving.background"]
    assert seen["env"]["OMP_NUM_THREADS"] == str(background.BUILD_THREADS)


def test_a_child_that_dies_says_so(monkeypatch):
    _spawn(monkeypatch, [background.STATUS_LINE + "distilling the default student …\n"], -9)
    assert _status_becomes("background build stopped (exit code -9)") == "background build stopped (exit code -9)"


def test_the_real_child_reports_status_lines_and_a_failure_it_cannot_get_past():
    env = {**os.environ, "LINGUALENS_HOME": "/proc/no-such-home", "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-m", "serving.background"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    lines = [line[len(background.STATUS_LINE):] for line in out.stdout.splitlines() if line.startswith(background.STATUS_LINE)]
    assert out.returncode == 1
    assert lines[0].startswith("distilling the default student")
    assert lines[-1].startswith("background build stopped: PermissionError") and "not writable" in lines[-1]


def test_the_status_line_names_epoch_step_time_left_and_what_comes_next():
    line = background.describe_progress("lit-e5s-effl0-clip-half-dr",
                                        {"epoch": 2, "epochs": 4, "step": 30, "steps": 144, "eta_s": 400.0},
                                        "lit-e5s-effl0-siglip")
    assert line == ("distilling lit-e5s-effl0-clip-half-dr: epoch 2/4, step 30/144, about 7 min left"
                    " · next: lit-e5s-effl0-siglip")
    assert "under a minute left" in background.describe_progress("x", {"epoch": 4, "epochs": 4, "step": 143,
                                                                       "steps": 144, "eta_s": 20.0}, "y")
    plan = background.default_plan()
    assert plan[0] == background.FIRST_STUDENT and plan[-2:] == ["ONNX exports", "every-language model cards"]


def test_the_child_reports_each_students_progress(monkeypatch, capsys, tmp_path):
    """The build's progress reports become status lines; the first student's time is recorded
    under $LINGUALENS_HOME, never in the source tree."""
    monkeypatch.setenv("LINGUALENS_HOME", str(tmp_path))
    monkeypatch.setattr(background, "_die_with_parent", lambda: None)
    monkeypatch.setattr(background, "is_export", lambda path: True)
    monkeypatch.setattr(background, "measured", lambda name: True)
    calls = []

    def build(families=("clip", "siglip"), losses=("dr", "ed"), progress=True, log=print, on_progress=None):
        calls.append((families, losses))
        if len(calls) == 1:
            on_progress(background.FIRST_STUDENT, {"epoch": 1, "epochs": 4, "step": 10, "steps": 144, "eta_s": 90.0})
            return [background.FIRST_STUDENT]
        return []

    assert background.background_build(app_age_s=12.0, build=build) == 0
    lines = [line[len(background.STATUS_LINE):] for line in capsys.readouterr().out.splitlines()]
    assert f"distilling {background.FIRST_STUDENT}: epoch 1/4, step 10/144, about 2 min left · next: " in lines[1]
    assert lines[-1] == "default zoo, ONNX exports and model cards complete"
    assert calls[0] == (("clip",), ("dr",))
    recorded = json.loads((tmp_path / background.STARTUP_FILE).read_text())
    assert recorded["first_run_student"]["built"] == [background.FIRST_STUDENT]
    assert recorded["first_run_student"]["seconds_to_ready"] >= 12.0
