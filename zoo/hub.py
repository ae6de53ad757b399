"""Talking to the Hugging Face Hub — only when a user asks, and failing fast when offline.

A hub lookup on a machine without network stalls 20–45 s per retry inside huggingface_hub.
Before any hub call we decide in well under 5 s whether the hub can be reached at all:
`HF_HUB_OFFLINE=1` means no, and otherwise one short TCP connect to the endpoint settles it.
"""
from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

CONNECT_TIMEOUT_S = 3.0


class HubUnavailableError(ConnectionError):
    pass


def offline_mode() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co")


def require_hub(what: str) -> None:
    """Raise HubUnavailableError quickly unless the hub endpoint answers a TCP connect."""
    if offline_mode():
        raise HubUnavailableError(f"{what} needs the Hugging Face Hub, but HF_HUB_OFFLINE=1 "
                                  "(offline). Use a local path or a zoo model instead.")
    url = urlparse(endpoint())
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            return
    except OSError as exc:
        raise HubUnavailableError(f"{what} needs the Hugging Face Hub, but {host}:{port} is not "
                                  f"reachable ({exc}). Use a local path or a zoo model instead.") from exc


def is_cached(hub_id: str, source: str = "transformers") -> bool:
    """True if the model's files are already in the local HF cache (works offline)."""
    from huggingface_hub import try_to_load_from_cache

    repo = hub_id.removeprefix("hf-hub:")
    names = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin") if source == "open_clip" \
        else ("config.json",)
    for filename in names:
        hit = try_to_load_from_cache(repo, filename)
        if isinstance(hit, str):
            return True
    return False
