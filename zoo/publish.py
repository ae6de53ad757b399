"""Moving zoo checkpoints to and from the Hugging Face Hub — only when a user asks."""
from __future__ import annotations

from pathlib import Path

from core.paths import zoo_checkpoint

from .checkpoint import copy_checkpoint, is_checkpoint
from .factory import load_checkpoint
from .hub import require_hub


def pull(name: str, repo_id: str, revision: str | None = None) -> Path:
    """Download a LinguaLens checkpoint repo into the zoo under `name`."""
    from huggingface_hub import snapshot_download

    dest = zoo_checkpoint(name)
    require_hub(f"pulling {repo_id!r}")
    local = Path(snapshot_download(repo_id, revision=revision))
    load_checkpoint(local)  # verify hashes and shapes before it enters the zoo
    return copy_checkpoint(local, dest)


def push(name: str, repo_id: str, private: bool = True) -> str:
    from huggingface_hub import HfApi

    src = zoo_checkpoint(name)
    if not is_checkpoint(src):
        raise FileNotFoundError(f"no zoo checkpoint named {name!r} at {src}")
    require_hub(f"pushing {name!r}")
    api = HfApi()
    api.create_repo(repo_id, private=private, exist_ok=True)
    return api.upload_folder(folder_path=str(src), repo_id=repo_id).commit_url
