"""A disk cache of features computed once under a key of encoder + inputs.

Aligning heads or distilling against a frozen tower needs its outputs for every caption and
image many times over; computing them once (≈3 min for the whole embedded corpus on 2 cores)
and reading them back in milliseconds is what makes CPU training practical, and the app keys its
gallery embeddings the same way. The cache key hashes the encoder's identity and the exact list
of inputs, so a changed corpus or a different tower never reads stale features.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .io import atomic_path
from .paths import cache_dir, ensure_writable
from .progress import progress as tqdm


def inputs_hash(items: Sequence[str]) -> str:
    h = hashlib.sha256()
    for item in items:
        h.update(item.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def cache_path(tower_key: str, items: Sequence[str]) -> Path:
    return cache_dir() / "features" / f"{tower_key}-{inputs_hash(items)[:20]}.safetensors"


def cached_features(tower_key: str, items: Sequence[str], compute: Callable[[list[str]], np.ndarray],
                    batch_size: int, desc: str, progress: bool = True) -> np.ndarray:
    """Features for `items` in order, from the cache or computed in batches and stored.

    An entry holds one exact list of items. On a miss, rows already computed for the same tower
    under another list are reused (a student's training text mostly overlaps its teacher's), so
    only new items are computed. Reused rows were batched with other neighbours; they agree with
    a fresh computation to float32 rounding (~1e-6), not bit for bit.
    """
    from safetensors.numpy import load_file, save_file

    items = list(items)
    path = cache_path(tower_key, items)
    if path.is_file():
        try:
            data = load_file(str(path))
            if data["features"].shape[0] == len(items):
                return data["features"]
        except Exception:  # safetensors raises its own error type on a damaged file: recompute it
            pass
    ensure_writable(path.parent, "feature cache")
    out, missing = _reuse_rows(tower_key, items)
    order = sorted(missing, key=lambda i: len(items[i]))  # similar lengths batch together
    with tqdm(total=len(order), desc=desc, unit="item", disable=not progress or not order) as bar:
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            feats = compute([items[i] for i in idx])
            if out is None:
                out = np.zeros((len(items), feats.shape[1]), np.float32)
            out[idx] = feats
            bar.update(len(idx))
    out = out if out is not None else np.zeros((0, 0), np.float32)
    with atomic_path(path) as tmp:
        save_file({"features": out}, str(tmp), metadata={"items": json.dumps(items, ensure_ascii=False)})
    return out


def _reuse_rows(tower_key: str, items: list[str]) -> tuple[np.ndarray | None, list[int]]:
    """(features with every row found in other entries of this tower filled in, rows still missing)."""
    from safetensors import safe_open

    wanted = {item: i for i, item in enumerate(items)}
    out: np.ndarray | None = None
    found: set[int] = set()
    for other in sorted(cache_dir().joinpath("features").glob(f"{tower_key}-*.safetensors")):
        if len(found) == len(items):
            break
        try:
            with safe_open(str(other), "numpy") as fh:
                stored = json.loads((fh.metadata() or {}).get("items", "null"))
                if not isinstance(stored, list):
                    continue
                pairs = [(wanted[t], r) for r, t in enumerate(stored) if t in wanted and wanted[t] not in found]
                if not pairs:
                    continue
                feats = fh.get_tensor("features")
        except Exception:  # a damaged or foreign entry (safetensors' own error type) is skipped, never trusted
            continue
        if feats.shape[0] != len(stored):
            continue
        if out is None:
            out = np.zeros((len(items), feats.shape[1]), np.float32)
        if feats.shape[1] != out.shape[1]:
            continue
        dst, src = zip(*pairs)
        out[list(dst)] = feats[list(src)]
        found.update(dst)
    return out, [i for i in range(len(items)) if i not in found]
