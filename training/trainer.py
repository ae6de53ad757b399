"""The one trainer: AdamW with warmup + cosine, eval each epoch, best kept, resumable, logged.

Used for aligning the embedded teachers and for every distillation run. What it guarantees:

- determinism on CPU: the caller's `batches(epoch)` must be a pure function of the epoch (we
  pass a seeded generator), and the torch RNG (dropout) is saved with every checkpoint;
- resume: `last.safetensors` + `last.json` are written atomically every `checkpoint_every`
  steps and at each epoch end; a run restarted with the same config continues from the last
  one, skipping the batches already consumed, and ends where an uninterrupted run ends;
- safety: a NaN/inf loss stops the run with the step named, before the bad step is applied,
  and the last good checkpoint stays the latest;
- no pickle: model, optimizer and RNG state are tensors in safetensors, the rest JSON.
"""
from __future__ import annotations

import json
import math
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from core.io import atomic_path, atomic_write_json
from core.paths import ensure_writable
from core.progress import progress as tqdm


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_frac: float = 0.05
    grad_clip: float = 1.0
    patience: int = 8  # epochs without val improvement before stopping early
    seed: int = 0
    # steps between resume checkpoints (0: epoch ends only). A SIGKILL loses at most this many steps
    # (≈ 2–3 min of CPU distillation), however long an epoch is.
    checkpoint_every: int = 200


PROGRESS_EVERY_S = 5.0  # how often `on_progress` hears of a running epoch


class TrainingDiverged(RuntimeError):
    pass


def seed_everything(seed: int) -> None:
    import random

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def warmup_cosine(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


class Trainer:
    def __init__(self, module: nn.Module, config: TrainConfig, out_dir: Path,
                 batches: Callable[[int], list[Any]], loss_fn: Callable[[nn.Module, Any], torch.Tensor],
                 evaluate: Callable[[nn.Module], tuple[float, dict]], progress: bool = True,
                 rank: int = 0, world_size: int = 1, on_progress: Callable[[dict], None] | None = None):
        self.module, self.config, self.out_dir = module, config, Path(out_dir)
        self.batches, self.loss_fn, self.evaluate = batches, loss_fn, evaluate
        self.progress, self.rank, self.world_size = progress, rank, world_size
        self.on_progress = on_progress if rank == 0 else None
        ensure_writable(self.out_dir, "training output directory")
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise ValueError("nothing to train: every parameter is frozen")
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        self.optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                            {"params": no_decay, "weight_decay": 0.0}], lr=config.lr)
        self.steps_per_epoch = len(batches(0))
        total = self.steps_per_epoch * config.epochs
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, warmup_cosine(total, int(config.warmup_frac * total)))
        self.epoch, self.step_in_epoch, self.global_step = 0, 0, 0
        self.best_score, self.best_epoch, self.stale = -math.inf, -1, 0
        self.history: list[dict] = []

    # -- state -----------------------------------------------------------------------
    @property
    def last_path(self) -> Path:
        return self.out_dir / "last.safetensors"

    @property
    def best_path(self) -> Path:
        return self.out_dir / "best.safetensors"

    def _log(self, record: dict) -> None:
        if self.rank != 0:
            return
        with open(self.out_dir / "log.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def _optimizer_tensors(self) -> dict[str, torch.Tensor]:
        out = {}
        for i, state in self.optimizer.state_dict()["state"].items():
            for k, v in state.items():
                out[f"optim.{i}.{k}"] = (v if torch.is_tensor(v) else torch.tensor(v)).detach().cpu().contiguous()
        return out

    def save_last(self) -> None:
        from safetensors.torch import save_file

        if self.rank != 0:
            return
        tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in self.module.state_dict().items()}
        tensors.update(self._optimizer_tensors())
        tensors["rng.torch"] = torch.random.get_rng_state()
        meta = {"epoch": self.epoch, "step_in_epoch": self.step_in_epoch, "global_step": self.global_step,
                "best_score": self.best_score, "best_epoch": self.best_epoch, "stale": self.stale,
                "scheduler": {k: v for k, v in self.scheduler.state_dict().items() if k != "lr_lambdas"},
                "config": asdict(self.config), "history": self.history}
        with atomic_path(self.last_path) as tmp:
            save_file(tensors, str(tmp))
        atomic_write_json(self.out_dir / "last.json", meta)  # written second: names a complete file

    def try_resume(self) -> bool:
        from safetensors.torch import load_file

        meta_path = self.out_dir / "last.json"
        if not (meta_path.is_file() and self.last_path.is_file()):
            return False
        meta = json.loads(meta_path.read_text())
        if meta["config"] != asdict(self.config):
            raise ValueError(f"{self.out_dir} holds a run with another config; use a fresh output "
                             f"directory or the same settings (saved: {meta['config']})")
        tensors = load_file(str(self.last_path))
        self.module.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        opt = self.optimizer.state_dict()
        state: dict[int, dict] = {}
        for key, v in tensors.items():
            if key.startswith("optim."):
                _, i, name = key.split(".", 2)
                state.setdefault(int(i), {})[name] = v
        opt["state"] = state
        self.optimizer.load_state_dict(opt)
        sched = self.scheduler.state_dict()
        sched.update(meta["scheduler"])
        self.scheduler.load_state_dict(sched)
        for group, lr in zip(self.optimizer.param_groups, self.scheduler.get_last_lr()):
            group["lr"] = lr  # the optimizer still holds the step-0 rate until told
        torch.random.set_rng_state(tensors["rng.torch"])
        for key in ("epoch", "step_in_epoch", "global_step", "best_score", "best_epoch", "stale", "history"):
            setattr(self, key, meta[key])
        return True

    # -- loop ------------------------------------------------------------------------
    def report_progress(self, steps: int, seconds_per_step: float | None) -> None:
        """Tell `on_progress` where the run is (epoch and step, 1-based) and how long the steps
        left should take at the pace of this session's steps so far (epoch-end evaluations aside)."""
        if self.on_progress is None:
            return
        left = (steps - self.step_in_epoch) + (self.config.epochs - self.epoch - 1) * steps
        self.on_progress({"epoch": self.epoch + 1, "epochs": self.config.epochs, "step": self.step_in_epoch,
                          "steps": steps, "eta_s": None if seconds_per_step is None else left * seconds_per_step})

    def fit(self) -> list[dict]:
        resumed = self.try_resume()
        if resumed:
            self._log({"event": "resumed", "epoch": self.epoch, "step_in_epoch": self.step_in_epoch})
        session_start, session_steps, last_report = time.perf_counter(), 0, 0.0
        while self.epoch < self.config.epochs and self.stale < self.config.patience:
            batches = self.batches(self.epoch)
            self.module.train()
            bar = tqdm(total=len(batches), initial=self.step_in_epoch, desc=f"epoch {self.epoch + 1}/{self.config.epochs}",
                       disable=not self.progress or self.rank != 0, leave=False)
            losses = []
            epoch_start, epoch_steps = time.perf_counter(), 0
            self.report_progress(len(batches), None if not session_steps else
                                 (time.perf_counter() - session_start) / session_steps)
            for batch in batches[self.step_in_epoch:]:
                loss = self.loss_fn(self.module, batch)
                if not torch.isfinite(loss):
                    raise TrainingDiverged(
                        f"loss became {loss.item()} at step {self.global_step} (epoch {self.epoch + 1}); "
                        f"stopped before applying it — the last good checkpoint is {self.last_path}")
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if self.config.grad_clip:
                    nn.utils.clip_grad_norm_(self.module.parameters(), self.config.grad_clip)
                self.optimizer.step()
                self.scheduler.step()
                self.step_in_epoch += 1
                self.global_step += 1
                losses.append(loss.item())
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
                session_steps += 1
                epoch_steps += 1
                if time.perf_counter() - last_report >= PROGRESS_EVERY_S:
                    last_report = time.perf_counter()
                    self.report_progress(len(batches), (last_report - session_start) / session_steps)
                if self.config.checkpoint_every and self.global_step % self.config.checkpoint_every == 0:
                    self.save_last()
                _fault_injection(self.global_step)
            bar.close()
            train_seconds = time.perf_counter() - epoch_start  # the steps alone: the benchmarks' seconds per step
            self.module.eval()
            score, metrics = self.evaluate(self.module)
            record = {"event": "epoch", "epoch": self.epoch + 1, "step": self.global_step,
                      "train_loss": float(np.mean(losses)) if losses else None,
                      "lr": self.scheduler.get_last_lr()[0], "val_score": score, "time": time.time(),
                      "steps_this_session": epoch_steps, "train_seconds": round(train_seconds, 3), **metrics}
            self.history.append(record)
            self._log(record)
            if score > self.best_score:
                self.best_score, self.best_epoch, self.stale = score, self.epoch + 1, 0
                self._save_best()
            else:
                self.stale += 1
            self.epoch += 1
            self.step_in_epoch = 0
            self.save_last()
        self.load_best()
        return self.history

    def _save_best(self) -> None:
        from safetensors.torch import save_file

        if self.rank != 0:
            return
        with atomic_path(self.best_path) as tmp:
            save_file({k: v.detach().cpu().contiguous() for k, v in self.module.state_dict().items()}, str(tmp))

    def load_best(self) -> None:
        from safetensors.torch import load_file

        if self.world_size > 1:
            import torch.distributed as dist

            dist.barrier()
        if self.best_path.is_file():
            self.module.load_state_dict(load_file(str(self.best_path)))
        self.module.eval()


def _fault_injection(step: int) -> None:
    """Tests kill a run for real (SIGKILL, no cleanup) at a chosen step to prove resumption."""
    target = os.environ.get("LINGUALENS_FAULT_SIGKILL_AT_STEP")
    if target and int(target) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def concept_batches(concept_captions: list[list[int]], batch_size: int, passes: int,
                    rng: np.random.Generator) -> list[np.ndarray]:
    """Batches of caption indices in which no concept appears twice (no false negatives from
    two captions of one image in a contrastive batch). Each pass visits every concept once,
    with one of its captions drawn at random (hence every language over time)."""
    out: list[np.ndarray] = []
    for _ in range(passes):
        order = rng.permutation(len(concept_captions))
        picks = np.array([concept_captions[c][rng.integers(len(concept_captions[c]))] for c in order])
        out += [picks[i:i + batch_size] for i in range(0, len(picks) - batch_size + 1, batch_size)]
    return out
