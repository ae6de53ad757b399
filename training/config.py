"""Config dataclasses overridable from the command line (nanoGPT's habit, with types checked).

`add_dataclass_args(parser, Config)` exposes every field as `--field-name`; `from_args`
builds the dataclass back. Booleans take `--flag/--no-flag`; tuples take several values.
"""
from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def add_dataclass_args(parser: argparse.ArgumentParser, cls: type, prefix: str = "", defaults: Any = None) -> None:
    """`defaults`: an instance of `cls` whose values a command really uses (e.g. distillation's own
    schedule); `--help` then shows those, not the dataclass's generic ones."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name.startswith("_"):
            continue
        flag = "--" + prefix + f.name.replace("_", "-")
        typ = hints[f.name]
        if defaults is not None:
            default = getattr(defaults, f.name)
        else:
            default = f.default if f.default is not dataclasses.MISSING else (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else None)  # type: ignore[misc]
        origin, args = typing.get_origin(typ), typing.get_args(typ)
        helptext = f.metadata.get("help", "") + f" (default: {default})"
        if typ is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=helptext)
        elif origin in (tuple, list):
            parser.add_argument(flag, nargs="+", type=args[0] if args else str, default=default, help=helptext)
        else:
            optional = origin is typing.Union or origin is types.UnionType  # `X | None`
            base = next((a for a in args if a is not type(None)), str) if optional else typ
            parser.add_argument(flag, type=base, default=default, help=helptext)


def from_args(cls: type[T], args: argparse.Namespace, prefix: str = "") -> T:
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        key = (prefix + f.name).replace("-", "_")
        if hasattr(args, key):
            v = getattr(args, key)
            values[f.name] = tuple(v) if isinstance(v, list) else v
    return cls(**values)
