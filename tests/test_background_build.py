"""The app's background build: a child process at lower priority whose status lines reach the page."""
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import app

ROOT = Path(__file__).resolve().parents[1]


def test_the_child_runs_niced_and_ends_with_its_parent():
    code = ("import os, app; before = os.nice(0); app._die_with_parent(); "
            "import ctypes; sig = ctypes.c_int(); ctypes.CDLL('libc.so.6').prctl(2, ctypes.byref(sig)); "  # PR_GET_PDEATHSIG
            "print(os.nice(0) - before, sig.value)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    niced, death_signal = map(int, out.stdout.split())
    assert niced == app.BUILD_NICENESS
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

    monkeypatch.setattr(app.subprocess, "Popen", popen)
    monkeypatch.setitem(app.STATUS, "background", "idle")
    app.build_rest_in_background(record=False)
    return seen


def _status_becomes(expected: str) -> str:
    """The relay thread reads the child's output: wait (bounded) for it to get there."""
    deadline = time.time() + 5
    while app.STATUS["background"] != expected and time.time() < deadline:
        time.sleep(0.01)
    return app.STATUS["background"]


def test_status_lines_reach_the_page_and_other_output_does_not(monkeypatch):
    seen = _spawn(monkeypatch, ["loading weights …\n", app.STATUS_LINE + "distilling the default student …\n",
                                "12%|███ progress\n", app.STATUS_LINE + "default zoo and ONNX exports complete\n"], 0)
    assert _status_becomes("default zoo and ONNX exports complete") == "default zoo and ONNX exports complete"
    assert seen["cmd"][1:] == [str(ROOT / "app.py"), "--background-build"]
    assert seen["env"]["OMP_NUM_THREADS"] == str(app.BUILD_THREADS)


def test_a_child_that_dies_says_so(monkeypatch):
    _spawn(monkeypatch, [app.STATUS_LINE + "distilling the default student …\n"], -9)
    assert _status_becomes("background build stopped (exit code -9)") == "background build stopped (exit code -9)"


def test_the_real_child_reports_status_lines_and_a_failure_it_cannot_get_past():
    env = {**os.environ, "LINGUALENS_HOME": "/proc/no-such-home", "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "app.py", "--background-build"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    lines = [line[len(app.STATUS_LINE):] for line in out.stdout.splitlines() if line.startswith(app.STATUS_LINE)]
    assert out.returncode == 1
    assert lines[0].startswith("distilling the default student")
    assert lines[-1].startswith("background build stopped: PermissionError") and "not writable" in lines[-1]


def test_gradio_event_records_are_trimmed_to_the_last_finished_ones():
    from types import SimpleNamespace

    records = {str(i): {"status": "success" if i % 10 else "processing"} for i in range(3000)}
    queue = SimpleNamespace(event_analytics=records)
    removed = app.trim_event_records(queue, keep=1000)
    assert removed == 1800 and len(records) == 1200  # 2000 old ones, of which 200 still running are kept
    assert all(v["status"] == "processing" for k, v in records.items() if int(k) < 2000)
    assert app.trim_event_records(queue, keep=5000) == 0 and app.trim_event_records(None, 10) == 0
    assert os.environ["GRADIO_ANALYTICS_CACHE_FREQUENCY"] == str(10**12)  # set before gradio is imported
