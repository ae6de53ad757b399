"""What a model costs to run: parameters, size on disk, latency and throughput on this machine.

Timings are medians over repeated runs after a warm-up, measured in the calling process; they
describe this machine only (the report states which), and are never asserted by tests.
"""
from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import torch

from zoo.info import info_of

SHORT_QUERIES = ["a cat", "un perro", "猫", "собака", "قطة", "고양이", "ein Haus", "la lune"]


def machine() -> dict[str, Any]:
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
            "torch": torch.__version__}


def dir_size(path: Path | str | None) -> int | None:
    if not path or not Path(path).exists():
        return None
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def median_seconds(fn: Callable[[], Any], repeats: int = 7, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure_cost(model: Any, images: list[Any] | None = None, repeats: int = 7) -> dict[str, Any]:
    texts32 = (SHORT_QUERIES * 4)[:32]
    out: dict[str, Any] = {"machine": machine()}
    if hasattr(model, "num_parameters"):
        out["parameters"] = model.num_parameters()
    ckpt = info_of(model).checkpoint
    out["checkpoint_bytes"] = dir_size(ckpt)
    t1 = median_seconds(lambda: model.encode_text(texts32[:1]), repeats)
    t32 = median_seconds(lambda: model.encode_text(texts32, batch_size=32), repeats)
    out["text"] = {"latency_ms_b1": 1000 * t1, "latency_ms_b32": 1000 * t32, "throughput_per_s": 32 / t32}
    if images:
        ims32 = (list(images) * 32)[:32]
        i1 = median_seconds(lambda: model.encode_image(ims32[:1]), max(3, repeats // 2))
        i32 = median_seconds(lambda: model.encode_image(ims32, batch_size=32), max(3, repeats // 2))
        out["image"] = {"latency_ms_b1": 1000 * i1, "latency_ms_b32": 1000 * i32, "throughput_per_s": 32 / i32}
    return out
