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
import torch.nn.functional as F

from .common import machine, table, write_results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.teacher_cache", description=__doc__)
    parser.add_argument("--teacher", default="lit-e5s-effl0-clip")
    parser.add_argument("--steps", type=int, default=15)
    args = parser.parse_args(argv)

    from training.distill import DistillConfig, prepare_data, resolve_recipe
    from training.losses.base import DistillBatch
    from training.losses.combine import CombinedLoss
    from training.students import build_student, vocabulary_texts
    from training.trainer import concept_batches
    from zoo import load_model

    teacher = load_model(args.teacher)
    cfg = DistillConfig(teacher=args.teacher, loss="ed")
    t0 = time.perf_counter()
    data = prepare_data(teacher, cfg, progress=False)
    cache_load = time.perf_counter() - t0
    recipe = resolve_recipe(cfg)
    student, _ = build_student(teacher.text, recipe, vocabulary_texts({r.language for r in data.records},
                                                                      recipe.vocab_words, data.texts))
    student.backbone.embeddings.word_embeddings.weight.requires_grad_(False)
    opt = torch.optim.AdamW([p for p in student.parameters() if p.requires_grad], lr=1e-4)
    batches = concept_batches(data.caption_rows, 64, 4, np.random.default_rng(0))
    images = [str(data.root / p) for p in data.images]

    def step(batch, cached: bool, loss_fn, needs_image: bool) -> None:
        concepts = [data.concept_of_row[int(r)] for r in batch]
        eng = [data.english_row[c] for c in concepts]
        img = [data.image_row[c] for c in concepts]
        xs, es = [data.texts[int(r)] for r in batch], [data.texts[i] for i in eng]
        if cached:
            t_x, t_e, v = data.t_text[torch.from_numpy(batch)], data.t_text[eng], data.v_image[img]
        else:
            with torch.no_grad():
                t_x = F.normalize(teacher.text(**teacher.text.tokenize(xs)), dim=-1)
                t_e = F.normalize(teacher.text(**teacher.text.tokenize(es)), dim=-1)
                v = F.normalize(teacher.image(**teacher.image.prepare([images[i] for i in img])), dim=-1) \
                    if needs_image else t_x
        s = F.normalize(student(**student.tokenize(xs + es)), dim=-1)
        loss = loss_fn(DistillBatch(s_x=s[:len(xs)], t_x=t_x, t_e=t_e, v=v, logit_scale=teacher.logit_scale,
                                    logit_bias=None, family="clip", s_e=s[len(xs):]))
        opt.zero_grad()
        loss.backward()
        opt.step()

    timing: dict[str, dict[str, float]] = {}
    for objective, needs_image in (("ed", False), ("dr=1,ed=0.5", True)):
        loss_fn = CombinedLoss(objective)
        timing[objective] = {}
        for cached in (True, False):
            step(batches[0], cached, loss_fn, needs_image)  # warm-up
            start = time.perf_counter()
            for b in batches[1:args.steps + 1]:
                step(b, cached, loss_fn, needs_image)
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
