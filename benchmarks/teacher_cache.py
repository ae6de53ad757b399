"""python -m benchmarks.teacher_cache — how much the teacher cache speeds up a distillation epoch.

Runs the same ED distillation steps (batch 64, the default `half` student) twice: reading
T(x) and T(e) from the cache, and forwarding the teacher's text tower for them every step.
Reports seconds per step and the projected epoch time. Writes results/teacher_cache.md/json.
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
    from training.losses.ed import EnglishDistillation
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
    loss_fn = EnglishDistillation()

    def step(batch, cached: bool) -> None:
        concepts = [data.concept_of_row[int(r)] for r in batch]
        eng = [data.english_row[c] for c in concepts]
        xs, es = [data.texts[int(r)] for r in batch], [data.texts[i] for i in eng]
        if cached:
            t_x, t_e = data.t_text[torch.from_numpy(batch)], data.t_text[eng]
        else:
            with torch.no_grad():
                t_x = F.normalize(teacher.text(**teacher.text.tokenize(xs)), dim=-1)
                t_e = F.normalize(teacher.text(**teacher.text.tokenize(es)), dim=-1)
        s = F.normalize(student(**student.tokenize(xs + es)), dim=-1)
        loss = loss_fn(DistillBatch(s_x=s[:len(xs)], t_x=t_x, t_e=t_e, v=t_x, logit_scale=teacher.logit_scale,
                                    logit_bias=None, family="clip", s_e=s[len(xs):]))
        opt.zero_grad()
        loss.backward()
        opt.step()

    timing = {}
    for cached in (True, False):
        step(batches[0], cached)  # warm-up
        start = time.perf_counter()
        for b in batches[1:args.steps + 1]:
            step(b, cached)
        timing["cached" if cached else "teacher forwarded"] = (time.perf_counter() - start) / args.steps
    speedup = timing["teacher forwarded"] / timing["cached"]
    n = len(batches)
    m = machine()
    md = ["# Teacher cache: distillation step time", "",
          f"ED distillation of `{args.teacher}` into the `half` student, batch 64, {args.steps} steps each, "
          f"{m['cores']} cores ({m['cpu']}), torch {m['torch']}. An epoch here is {n} steps "
          "(4 passes over the training concepts).", ""]
    md += table(["teacher embeddings", "s / step", "projected epoch (s)"],
                [[k, f"{v:.3f}", f"{v * n:.0f}"] for k, v in timing.items()])
    md += ["", f"Speed-up from the cache: **{speedup:.2f}x** per step (goal ≥ 2x). Loading the cache for the whole "
               f"corpus took {cache_load:.1f} s (computed once per teacher and corpus, then reused).", "",
           "Reproduce: `python -m benchmarks.teacher_cache`."]
    path = write_results("teacher_cache", {"machine": m, "seconds_per_step": timing, "speedup": speedup,
                                           "steps_per_epoch": n, "cache_load_seconds": cache_load}, "\n".join(md) + "\n")
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
