"""python -m benchmarks.teacher_cache — how much the teacher cache speeds up a distillation epoch.

Runs the same distillation steps (batch 64, the default `half` student) with the teacher's
outputs read from the cache and with the teacher forwarded every step, for two objectives:
ED (needs the teacher's text tower only: T(x), T(e)) and DR+ED (also needs the image tower:
V(v)). Reports seconds per step and the projected epoch time; writes results/teacher_cache.md/json.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from core.constants import teacher_name
from training.distill.config import DistillConfig, resolve_recipe
from training.distill.data import prepare_data
from training.distill.step import DistillStep, live_teacher_outputs
from training.losses.combine import CombinedLoss
from training.students import build_student, vocabulary_texts
from training.trainer import concept_batches
from zoo.factory import load_model

from .common import machine, table, write_results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.teacher_cache", description=__doc__)
    parser.add_argument("--teacher", default=teacher_name("clip"))
    parser.add_argument("--steps", type=int, default=15)
    args = parser.parse_args(argv)

    teacher = load_model(args.teacher)
    cfg = DistillConfig(teacher=args.teacher, loss="ed")
    t0 = time.perf_counter()
    data = prepare_data(teacher, cfg, progress=False)
    cache_load = time.perf_counter() - t0
    recipe = resolve_recipe(cfg)
    student, _ = build_student(teacher.text, recipe, vocabulary_texts({r.language for r in data.records},
                                                                      recipe.vocab_words, data.texts))
    student.backbone.get_input_embeddings().requires_grad_(False)
    opt = torch.optim.AdamW([p for p in student.parameters() if p.requires_grad], lr=1e-4)
    batches = concept_batches(data.caption_rows, 64, 4, np.random.default_rng(0))
    cpu = torch.device("cpu")

    def stepper(objective: str, cached: bool):
        """Training's own step (`DistillStep`): the same loss for either family, only the source
        of the teacher's outputs differs."""
        loss = CombinedLoss(objective)
        outputs = None if cached else live_teacher_outputs(teacher, data, with_images=objective != "ed")
        distill_step = DistillStep(data, teacher, loss, cpu, teacher_outputs=outputs)

        def step(batch) -> None:
            value = distill_step(student, batch)
            opt.zero_grad()
            value.backward()
            opt.step()
        return step

    timing: dict[str, dict[str, float]] = {}
    for objective in ("ed", "dr=1,ed=0.5"):
        timing[objective] = {}
        for cached in (True, False):
            step = stepper(objective, cached)
            step(batches[0])  # warm-up
            start = time.perf_counter()
            for b in batches[1:args.steps + 1]:
                step(b)
            timing[objective]["cached" if cached else "teacher forwarded"] = (time.perf_counter() - start) / args.steps
    speedup = {k: v["teacher forwarded"] / v["cached"] for k, v in timing.items()}
    n = len(batches)
    m = machine()
    md = ["# Teacher cache: distillation step time", "",
          f"Distillation of `{args.teacher}` into the `half` student, batch 64, {args.steps} steps each, "
          f"{m['cores']} cores ({m['cpu']}), torch {m['torch']}. An epoch here is {n} steps "
          "(4 passes over the training concepts).", ""]
    rows = []
    for objective, t in timing.items():
        needs = "T(x), T(e)" if objective == "ed" else "T(x), T(e), V(v)"
        rows.append([objective, needs, f"{t['cached']:.3f}", f"{t['teacher forwarded']:.3f}",
                     f"{t['cached'] * n:.0f} vs {t['teacher forwarded'] * n:.0f}", f"**{speedup[objective]:.2f}x**"])
    md += table(["objective", "teacher outputs needed", "s/step cached", "s/step forwarded", "epoch (s)", "speed-up"], rows)
    md += ["", f"Goal: ≥ 2x. Loading the cache for the whole corpus took {cache_load:.1f} s (computed once per "
               "teacher and corpus, then reused). With text-only objectives the student's own forward and backward "
               "dominate a step, so the cache saves less; objectives that also need image embeddings gain most.", "",
           "Reproduce: `python -m benchmarks.teacher_cache`."]
    path = write_results("teacher_cache", {"machine": m, "seconds_per_step": timing, "speedup": speedup,
                                           "steps_per_epoch": n, "cache_load_seconds": cache_load}, "\n".join(md) + "\n")
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
