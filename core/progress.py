"""Progress bars that stay readable in logs: redrawn often on a terminal, rarely in CI."""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from tqdm.auto import tqdm


def progress(iterable: Any = None, **kwargs: Any) -> tqdm:
    kwargs.setdefault("mininterval", 0.2 if sys.stderr.isatty() else 20.0)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, **kwargs)


PROGRESS_FILE_ENV = "LINGUALENS_PROGRESS_FILE"


def mark(job: str, done: int, total: int) -> None:
    """Append how far `job` has come to $LINGUALENS_PROGRESS_FILE, when it is set. The reliability
    benchmark reads it to send SIGKILL *inside* a job's work (at unit `done` of `total`) and to prove
    the job was still working when the signal landed; a share of wall time cannot show that."""
    path = os.environ.get(PROGRESS_FILE_ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps({"job": job, "done": done, "total": total, "t": time.time()}) + "\n")


def read_marks(path) -> list[dict]:
    """The marks a job wrote so far (a line cut short by a kill is ignored)."""
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out
