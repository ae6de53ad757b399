"""The model registry: a leaf that only records named entries (timm's `_registry`).

Models are registered once with `@register_model` (zoo.models): the decorated function builds
the model, the decorator records what a user needs to know before building it (family, role,
source, languages, and how to make it ready). Building and loading live in `zoo.factory`,
which imports this module and `zoo.models` — never the other way round.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from core.paths import check_name

ROLES = ("teacher", "student", "baseline")
SOURCES = ("packaged", "open_clip", "transformers", "zoo")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: str  # clip | siglip
    role: str  # teacher | student | baseline
    source: str  # packaged | open_clip | transformers | zoo
    description: str
    languages: str  # human summary, e.g. "~100 (XLM-R)"
    builder: Callable[..., Any] = field(repr=False)
    needs: str | None = None  # None (ready once built) | "training" | "download"
    make_ready: str = ""  # the command that makes it ready
    hub_id: str | None = None
    # {"text": n, "image": n} without building the model: computed from a skeleton for packaged
    # models, the publisher's figures for hub models, None where unknown until trained
    sizes: Callable[[], dict[str, int]] | None = field(default=None, repr=False)


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(name: str, **meta: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    check_name(name, "model name")

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = ModelSpec(name=name, builder=fn, **meta)
        return fn

    return decorate


def entries() -> dict[str, ModelSpec]:
    """What has been registered so far (`zoo.factory.registered()` includes the built-ins)."""
    return dict(_REGISTRY)


class UnknownModelError(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; we want it readable
        return str(self.args[0])


class ModelNotReadyError(RuntimeError):
    pass
