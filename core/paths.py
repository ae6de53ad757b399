"""Where LinguaLens keeps what it builds, and how names map to paths safely.

Every built artifact (corpus, teacher caches, zoo checkpoints, ONNX exports) lives under one
root so that a user can move, inspect or delete all of it at once, and so tests can point the
whole project at a temporary directory with one environment variable.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

ENV_HOME = "LINGUALENS_HOME"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")


def lingualens_home() -> Path:
    """Root for every built artifact: $LINGUALENS_HOME or ~/.cache/lingualens."""
    env = os.environ.get(ENV_HOME)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "lingualens"


def corpus_dir() -> Path:
    return lingualens_home() / "corpus"


def zoo_dir() -> Path:
    return lingualens_home() / "zoo"


def cache_dir() -> Path:
    return lingualens_home() / "cache"


def export_dir() -> Path:
    return lingualens_home() / "exports"


def downloads_dir() -> Path:
    """Zips the app hands out, rebuilt when their model changes; kept per home so names never collide."""
    return cache_dir() / "downloads"


def ensure_writable(path: Path, what: str = "directory") -> Path:
    """Create `path` and prove we can write into it, before any long job starts.

    Failing after ten minutes of rendering or training because the cache is read-only wastes
    the user's time; this check makes the failure immediate and names the directory.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-", delete=True):
            pass
    except OSError as exc:
        raise PermissionError(
            f"LinguaLens {what} {str(path)!r} is not writable ({exc.strerror or exc}). "
            f"Set {ENV_HOME} to a writable directory."
        ) from exc
    return path


def check_name(name: str, what: str = "name") -> str:
    """Accept a plain artifact name; refuse anything that could leave its directory."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or ".." in name:
        raise ValueError(
            f"invalid {what} {name!r}: use letters, digits, '.', '_', '+', '-' "
            "(no path separators, no '..', no leading dot)"
        )
    return name


def safe_child(root: Path, name: str, what: str = "name") -> Path:
    """`root / name`, guaranteed to stay inside `root` (no traversal, no absolute paths)."""
    check_name(name, what)
    root = Path(root).resolve()
    child = (root / name).resolve()
    if child.parent != root:
        raise ValueError(f"{what} {name!r} resolves outside {str(root)!r}")
    return child


def zoo_checkpoint(name: str) -> Path:
    """Where a zoo model named `name` lives; refuses names that would leave the zoo."""
    return safe_child(zoo_dir(), name, "model name")


def export_path(name: str) -> Path:
    """Where the ONNX export of a model named `name` lives; refuses names that would leave the exports."""
    return safe_child(export_dir(), name, "model name")
