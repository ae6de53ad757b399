"""python -m training.build_zoo — build whatever of the default zoo is missing, in order.

    corpus -> lit-e5s-effl0-{clip,siglip} teachers -> their half-size DR and ED students

(ONNX exports are `python -m export.onnx --model NAME --int8`; the app runs them after this.)

Each step is skipped when its output already exists, so this is also what `python app.py`
runs on a fresh checkout. Seen on 2 cores: ≈15 s corpus, ≈3–4 min for the first teacher
(one-time feature cache), ≈1 min for the second, ≈13 min per student (8 epochs of ≈70 s of steps
and a val score each; the first student also fills the teacher cache for its training text).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from typing import Callable

from core.constants import DEFAULT_LOSSES, FAMILIES, teacher_name
from core.languages import HELD_OUT_LANGUAGES
from core.paths import zoo_checkpoint
from corpus.corpus import build_corpus, corpus_hash, default_corpus_path
from zoo.checkpoint import is_checkpoint, read_config, read_info

from .distill.config import SETTINGS_ADDED, DistillConfig, default_train_config, student_name
from .distill.run import run
from .teacher_cache import checkpoint_key
from .teachers import RECIPE_VERSION, TeacherConfig, build_teacher
from .trainer import TrainConfig


def is_current(name: str, chash: str, teacher: str | None = None, log=print, config: dict | None = None,
               train: dict | None = None, loss_code: str | None = None) -> bool:
    """Built, from this corpus, by this teacher recipe, and (for a student) from the teacher now in
    the zoo: anything older is rebuilt. A student is also compared with the `config` and `train`
    schedule asked for (default: the default schedule) and, when given, the `loss_code` version."""
    path = zoo_checkpoint(name)
    if not is_checkpoint(path):
        return False
    info = read_info(path)
    if info.corpus_hash != chash:
        log(f"{name} was built from another corpus: rebuilding it")
        return False
    if sorted(info.held_out_languages or []) != sorted(HELD_OUT_LANGUAGES):
        log(f"{name} was trained with another set of held-out languages: rebuilding it")
        return False
    if teacher is None and (info.recipe_version or 1) < RECIPE_VERSION:
        log(f"{name} is an older teacher recipe (version {info.recipe_version or 1} < {RECIPE_VERSION}): rebuilding it")
        return False
    if teacher is not None and info.teacher_key != checkpoint_key(read_config(zoo_checkpoint(teacher))):
        log(f"{name} was distilled from another version of {teacher}: rebuilding it")
        return False
    recorded = (info.distillation or {}).get("config") or {}
    # a setting added later is absent from older records; those listed in SETTINGS_ADDED were added
    # with a value that means what happened before they existed
    changed = sorted(k for k, v in (config or {}).items()
                     if json.loads(json.dumps(v)) != recorded.get(k, SETTINGS_ADDED.get(k)))
    want_train = train if train is not None else asdict(default_train_config())
    if (config is not None or train is not None) and (info.distillation or {}).get("train") not in (None, want_train):
        changed.append("schedule")
    if loss_code is not None and (info.distillation or {}).get("loss_code") != loss_code:
        changed.append("loss code")
    if changed:
        log(f"{name} was distilled with another default recipe ({', '.join(changed)} changed): rebuilding it")
        return False
    return True


def build_default_zoo(families=FAMILIES, losses=DEFAULT_LOSSES, progress: bool = True, log=print,
                      on_progress: Callable[[str, dict], None] | None = None) -> list[str]:
    """Build whatever of the default zoo is missing or out of date; the names built, in order.
    `on_progress(name, report)` hears each student's epoch, step and time left."""
    built = []
    if not (default_corpus_path() / "manifest.jsonl").is_file():
        log("building the embedded corpus …")
        build_corpus(progress=progress)
        built.append("corpus")
    chash = corpus_hash()
    for family in families:
        teacher = teacher_name(family)
        if not is_current(teacher, chash, log=log):
            log(f"aligning teacher {teacher} …")
            start = time.perf_counter()
            build_teacher(TeacherConfig(family=family), TrainConfig(), progress=progress)
            log(f"  {teacher} ready in {time.perf_counter() - start:.0f} s")
            built.append(teacher)
        for loss in losses:
            cfg = DistillConfig(teacher=teacher, loss=loss)
            name = student_name(cfg)
            if not is_current(name, chash, teacher, log=log, config=asdict(cfg)):
                log(f"distilling student {name} …")
                start = time.perf_counter()
                run(cfg, default_train_config(), progress=progress,
                    on_progress=None if on_progress is None else (lambda p, n=name: on_progress(n, p)))
                log(f"  {name} ready in {time.perf_counter() - start:.0f} s")
                built.append(name)
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.build_zoo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--losses", nargs="+", default=list(DEFAULT_LOSSES))
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    built = build_default_zoo(args.families, args.losses, progress=not args.no_progress)
    print(f"default zoo ready ({', '.join(built) or 'nothing to build'}) in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
