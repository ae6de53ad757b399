"""Atomic file writes and defensive image opening, shared by every module that touches disk.

A crash, a full disk or a SIGKILL must never leave a half-written file under its final name:
everything is written to a temporary file in the same directory and renamed into place.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from PIL import Image, UnidentifiedImageError

MAX_IMAGE_PIXELS = 50_000_000  # > 50 MP is refused: decompression bombs and accidental RAW dumps
STALE_TMP_S = 6 * 3600  # a temporary directory untouched this long belongs to a writer that was killed


def sha256_file(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_json_object(path: Path, error: type[Exception], what: str) -> dict[str, Any]:
    """A JSON object from `path`, or `error` naming the file: missing (`what` says what the
    directory should have been), not JSON, or not an object."""
    if not path.is_file():
        raise error(f"{path.parent} is not a {what} (no {path.name})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path} is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise error(f"{path} is not a JSON object")
    return data


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path next to `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def atomic_write_text(path: Path | str, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path | str, obj: Any, compact: bool = False) -> None:
    """Indented by default; `compact` for machine-read data (a results file with per-language
    intervals for several models is 2.4x larger indented)."""
    layout = {"separators": (",", ":")} if compact else {"indent": 2}
    atomic_write_text(path, json.dumps(obj, ensure_ascii=False, sort_keys=True, **layout) + "\n")


@contextmanager
def atomic_dir(path: Path | str, stale_after_s: float = STALE_TMP_S) -> Iterator[Path]:
    """Build a whole directory under a temporary name and swap it in when complete.

    A killed writer leaves its temporary directory behind (never served: it is hidden and never
    renamed); such leftovers for the same target, untouched for `stale_after_s`, are removed here,
    since an ONNX export's can hold 0.7 GB."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            if leftover.is_dir() and time.time() - leftover.stat().st_mtime > stale_after_s:
                shutil.rmtree(leftover)
        except OSError:  # another process removed it first
            pass
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


class ImageError(ValueError):
    """An image that cannot be used: unreadable, corrupt, empty or too large."""


def load_image(source: Any, max_pixels: int = MAX_IMAGE_PIXELS) -> Image.Image:
    """Open a path, bytes or PIL image as RGB, refusing corrupt or oversized input with a message.

    Grayscale, palette and RGBA images are converted (alpha composited on white, which is how
    the embedded corpus is rendered), so callers never see a mode they must special-case.
    """
    name = str(source) if isinstance(source, (str, Path)) else type(source).__name__
    if isinstance(source, Image.Image):
        image = source
    else:
        if isinstance(source, (bytes, bytearray)):
            if len(source) == 0:
                raise ImageError("image is empty (0 bytes)")
            fh: Any = io.BytesIO(source)
        else:
            p = Path(source)
            if not p.is_file():
                raise ImageError(f"image not found: {name}")
            if p.stat().st_size == 0:
                raise ImageError(f"image is empty (0 bytes): {name}")
            fh = p
        try:
            image = Image.open(fh)
            w, h = image.size
            if w * h > max_pixels:
                raise ImageError(
                    f"image {name} is {w}x{h} = {w * h / 1e6:.1f} MP, over the "
                    f"{max_pixels / 1e6:.0f} MP limit"
                )
            image.load()
        except ImageError:
            raise
        except Image.DecompressionBombError as exc:
            raise ImageError(f"image {name} refused as a decompression bomb: {exc}") from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise ImageError(f"image {name} is not a readable image ({exc})") from exc
    w, h = image.size
    if w * h > max_pixels:
        raise ImageError(f"image {name} is {w}x{h}, over the {max_pixels / 1e6:.0f} MP limit")
    if w == 0 or h == 0:
        raise ImageError(f"image {name} has zero size")
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):  # 16-bit or float grey: scale, do not clip
        image = _to_8bit(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        canvas = Image.new("RGB", image.size, (255, 255, 255))
        canvas.paste(image, mask=image.getchannel("A"))
        return canvas
    return image.convert("RGB")


def _to_8bit(image: Image.Image) -> Image.Image:
    """16-bit, 32-bit integer or float greyscale -> 8-bit "L". PIL's own conversion clips every value
    above 255 to white; here 16-bit data is scaled by 1/257 (65535 -> 255) and float data in [0, 1]
    by 255, so a 16-bit scan looks like its 8-bit twin."""
    import numpy as np

    a = np.asarray(image, dtype=np.float64)
    if image.mode.startswith("I;16") or (image.mode == "I" and a.size and a.max() > 255):
        a = a / 257.0
    elif image.mode == "F" and a.size and a.max() <= 1.0:
        a = a * 255.0
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "L")
