"""The zoo as the app lists it: checkpoints by role, a model's card and files, and zips to download."""
from __future__ import annotations

import threading
import time
import zipfile
from pathlib import Path
from typing import Callable

from core.paths import export_path, zoo_checkpoint
from core.progress import mark
from export.runtime import is_export, read_export_config
from zoo.checkpoint import read_config, read_info
from zoo.factory import local_zoo_names

LISTING_S = 5.0  # how long one scan of the zoo serves every page that asks


class ZooListing:
    def __init__(self, require_offered: Callable[..., str]):
        self.require_offered = require_offered
        self._listing: tuple[float, dict[str, list[str]]] | None = None  # (when, models)
        self._lock = threading.Lock()

    def models(self, fresh: bool = False) -> dict[str, list[str]]:
        """The zoo's checkpoints by role. Every open page asks every 5 s (new models appear by
        themselves), so one scan of the zoo — a config read per checkpoint — serves them all for
        LISTING_S; `fresh` scans now (a page that just opened must see the zoo as it is)."""
        now = time.monotonic()
        with self._lock:
            if not fresh and self._listing is not None and now - self._listing[0] < LISTING_S:
                return {role: list(names) for role, names in self._listing[1].items()}
        out: dict[str, list[str]] = {"teacher": [], "student": [], "baseline": []}
        for name in local_zoo_names():
            out.setdefault(read_info(zoo_checkpoint(name)).role or "student", []).append(name)
        with self._lock:
            self._listing = (now, out)
        return {role: list(names) for role, names in out.items()}

    def entry(self, name: str) -> dict:
        path = zoo_checkpoint(self.require_offered(name, zoo_only=True))
        cfg = read_config(path)
        card = (path / "README.md").read_text()
        body = card.split("---", 2)[2] if card.startswith("---") else card
        # the build's quick comparison (reports/test) and the every-language report beside it
        plots = sorted(str(p) for p in (path / "reports").glob("*/*.png"))
        export = export_path(name)
        onnx = read_export_config(export) if is_export(export) else None
        return {"card": body, "plots": plots, "parameters": cfg.get("parameters", {}), "onnx": onnx,
                "checkpoint": path, "export": export if onnx else None}


def zip_dir(path: Path, name: str, workdir: Path) -> str:
    """A zip of `path`, rebuilt only when something in it is newer than the last zip; written to a
    hidden name one file at a time (the reliability benchmark kills it inside those units), then
    renamed into place."""
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / f"{name}.zip"
    newest = max((p.stat().st_mtime for p in Path(path).rglob("*") if p.is_file()), default=0)
    if target.is_file() and target.stat().st_mtime >= newest:
        return str(target)
    files = sorted(p for p in Path(path).rglob("*") if p.is_file())
    tmp = workdir / f".{name}.partial.zip"
    mark("zip", 0, len(files))
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:  # make_archive's format, one file at a time
        for i, p in enumerate(files, 1):
            zf.write(p, p.relative_to(path).as_posix())
            mark("zip", i, len(files))
    tmp.replace(target)
    return str(target)
