"""Distributed training helpers: one process per GPU with nccl, or several CPU processes with gloo.

`torchrun --nproc_per_node=N -m training.distill …` sets WORLD_SIZE/RANK/LOCAL_RANK; a plain
`python -m …` is a world of one and every helper here is then a no-op.
"""
from __future__ import annotations

import os

import torch
import torch.distributed as dist


def pick_device(requested: str = "auto") -> torch.device:
    """CUDA (one GPU per rank) when asked or available for every rank, else the CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if requested == "cpu" or not torch.cuda.is_available():
        if requested == "cuda":
            raise ValueError("--device cuda was asked for, but torch sees no CUDA device")
        return torch.device("cpu")
    if torch.cuda.device_count() < world:
        if requested == "cuda":
            raise ValueError(f"--device cuda needs one GPU per process: {world} processes, "
                             f"{torch.cuda.device_count()} GPU(s)")
        return torch.device("cpu")
    return torch.device(f"cuda:{local}")


def dist_info(device: torch.device | None = None) -> tuple[int, int]:
    """(rank, world size), initialising the process group on first use."""
    if "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1:
        if not dist.is_initialized():
            # nccl needs CUDA tensors: it is the backend only when each rank trains on its own GPU
            cuda = device is not None and device.type == "cuda"
            if cuda:
                torch.cuda.set_device(device)
            dist.init_process_group("nccl" if cuda else "gloo")
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def gather(x: torch.Tensor, world: int) -> torch.Tensor:
    """All-gather with gradients: each rank encodes its shard, every rank sees the whole batch."""
    if world == 1:
        return x
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(x), 0)


def on_rank_zero(world: int, rank: int, compute):
    """`compute()` on rank 0, its result broadcast to every rank (e.g. a validation score)."""
    if world == 1:
        return compute()
    box = [compute() if rank == 0 else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(world: int) -> None:
    if world > 1:
        dist.barrier()


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device) for k, v in batch.items()}
