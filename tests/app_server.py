"""`python app.py --no-build` on a free port, for the tests that drive it over HTTP or in a browser."""
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServedApp(str):
    """The app's URL, which also knows the server's process id (benchmarks read its memory)."""

    pid: int


@contextmanager
def running_app(home: Path, *args: str, timeout_s: float = 180, log_to: Path | None = None, build: bool = False):
    """Serve the zoo in `home`; yields the URL (a `ServedApp`), stops the server afterwards.

    The server's output is kept in `log_to` when given (a harness reads it for server-side errors).
    `build`: start as a user does, building what is missing in the background (default: --no-build).
    """
    port = free_port()
    env = {**os.environ, "LINGUALENS_HOME": str(home), "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    # the app's output goes to a file, never an unread pipe: a full pipe buffer would freeze the app
    log = open(log_to, "w+") if log_to else tempfile.NamedTemporaryFile("w+", prefix="lingualens-app-", suffix=".log",
                                                                         delete=False)
    proc = subprocess.Popen([sys.executable, "app.py", *([] if build else ["--no-build"]), "--port", str(port), *args],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    url = ServedApp(f"http://127.0.0.1:{port}/")
    url.pid = proc.pid
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError as exc:
            if proc.poll() is not None:
                raise RuntimeError(f"app exited: {Path(log.name).read_text()[-3000:]}") from exc
            time.sleep(1)
    else:
        proc.kill()
        raise RuntimeError(f"app did not come up in {timeout_s:.0f} s")
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        if log_to is None:
            Path(log.name).unlink(missing_ok=True)
