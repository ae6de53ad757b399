"""Will distillation fit in this machine's memory? Asked before the first step, not answered by the OOM killer.

A full-size teacher (XLM-R-base: 278M text parameters, a 250k-piece vocabulary) and its half
student together take several GB; a step adds the student's gradients, AdamW's two moments and
the activations of a batch. The estimate below is deliberately simple and slightly generous,
so a run that would die half an hour in fails in its first seconds with the numbers and the
knobs that lower them.
"""
from __future__ import annotations

import os

from torch import nn

ADAM_BYTES_PER_PARAM = 4 + 4 + 4  # fp32 gradient and AdamW's two moments (the weight itself is already resident)
# fp32 activations kept for backward per token per layer of a BERT-like encoder: ≈ 34·hidden bytes
# at 16-bit (Korthikanti et al. 2022, "Reducing activation recomputation"), doubled for fp32,
# plus the attention scores and probabilities, 5·heads·seq bytes at 16-bit, doubled.
ACTIVATION_BYTES_PER_HIDDEN = 68
ATTENTION_BYTES_PER_HEAD_TOKEN = 10
HEADROOM = 1.25  # allocator slack, the optimizer's temporaries, the evaluation between epochs


class InsufficientMemory(MemoryError):
    pass


def available_bytes() -> int:
    """What the kernel could give this process now (MemAvailable), or the physical total where
    /proc/meminfo is not readable."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def trainable_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def step_bytes(trainable: int, batch: int, seq: int, hidden: int, layers: int, heads: int) -> int:
    """Bytes one training step adds to what is already loaded: optimizer state and gradients of the
    trainable parameters, and the activations of one batch."""
    per_layer = batch * seq * (ACTIVATION_BYTES_PER_HIDDEN * hidden + ATTENTION_BYTES_PER_HEAD_TOKEN * heads * seq)
    return int(HEADROOM * (trainable * ADAM_BYTES_PER_PARAM + layers * per_layer))


def check_fits(student: nn.Module, batch: int, seq: int, available: int | None = None) -> int:
    """Raise `InsufficientMemory` naming the need, the limit and what to change when a step of
    `student` (an `HFTextTower`) would not fit; else return the estimate in bytes."""
    cfg = student.backbone.config
    need = step_bytes(trainable_parameters(student), batch, seq, int(cfg.hidden_size), int(cfg.num_hidden_layers),
                      int(cfg.num_attention_heads))
    have = available_bytes() if available is None else available
    if need > have:
        raise InsufficientMemory(
            f"a distillation step needs ≈ {need / 2**30:.1f} GiB beyond the loaded models (batch {batch}, up to {seq} "
            f"tokens, {trainable_parameters(student):,} trainable parameters) but only {have / 2**30:.1f} GiB is "
            "available; lower --batch-size, keep --freeze-embeddings on, or use a machine with more memory")
    return need
