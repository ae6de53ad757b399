"""Distill a teacher's text tower into a smaller student that stays multilingual.

    python -m training.distill --teacher lit-e5s-effl0-clip --recipe half --loss dr
    python -m training.distill --teacher lit-e5s-effl0-siglip --recipe half --loss "dr=1,ed=0.5"
    torchrun --nproc_per_node=2 -m training.distill ...      # same result, two processes

The image tower is the teacher's, shared and frozen; only the text side is distilled. Teacher
embeddings come from the teacher cache; training reuses the project's one `Trainer` (resume,
best-on-val, NaN guard, JSONL log). The student lands in the zoo with a card that compares it
to its teacher per language. Rerunning the same command after a crash or SIGKILL resumes.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from core.languages import HELD_OUT_LANGUAGES
from core.paths import cache_dir, zoo_checkpoint
from corpus.corpus import corpus_hash
from corpus.display_names import KIND as TEXT_ONLY
from evaluation.report import write_report
from evaluation.suite import HEADLINE_KEY, evaluate, summary_key
from zoo.dual_encoder import DualEncoder
from zoo.factory import load_model
from zoo.hub import is_cached, require_hub
from zoo.text_tower import HFTextTower

from ..config import add_dataclass_args, from_args
from ..losses.combine import CombinedLoss, parse_weights
from ..memory import check_fits
from ..student_card import student_card
from ..students import Vocabulary, build_student, kept_layer_indices, vocabulary_texts
from ..teacher_cache import teacher_key, teacher_text_embeddings
from ..trainer import TrainConfig, Trainer, concept_batches, seed_everything
from .config import DistillConfig, default_train_config, distill_command, loss_code_version, resolve_recipe, student_name
from .data import DistillData, prepare_data, student_encoder, teacher_encoder
from .distributed import barrier, dist_info, on_rank_zero, pick_device
from .step import DistillStep

__all__ = ["DistillConfig", "default_train_config", "main", "run", "student_name"]


def run(cfg: DistillConfig, train_cfg: TrainConfig, progress: bool = True, command: str | None = None,
        on_progress: Callable[[dict], None] | None = None) -> Path:
    """Distill `cfg.teacher` into a student and save it to the zoo; rerunning resumes. `on_progress`
    hears the epoch, step and an estimate of the time left (the app's status line shows them)."""
    device = pick_device(cfg.device)
    rank, world = dist_info(device)
    started = time.perf_counter()
    seed_everything(train_cfg.seed)
    teacher = load_model(cfg.teacher)
    recipe = resolve_recipe(cfg)
    if cfg.hidden_weight > 0 and cfg.student_init:
        raise ValueError("--hidden-weight needs a student cut from the teacher's own text tower (the relation term "
                         "compares token by token); it cannot be used with --student-init")
    base = student_base(teacher, cfg)
    kept_layer_indices(int(base.backbone.config.num_hidden_layers), recipe)  # an impossible layer set fails before any work
    vocabulary = None
    if cfg.vocabulary:  # another teacher's vocabulary fails before any work, too
        vocabulary = Vocabulary.of_checkpoint(cfg.vocabulary if Path(cfg.vocabulary).is_dir() else zoo_checkpoint(cfg.vocabulary))
        vocabulary.teacher_ids(base.tokenizer)
    data = prepare_data(teacher, cfg, progress and rank == 0)
    student_text, build_report = cut_student(cfg, recipe, base, teacher, data, vocabulary, train_cfg.seed)
    if device.type == "cpu":  # a run that cannot fit fails now, with the numbers, not in the OOM killer's hands
        build_report["step_memory_estimate_bytes"] = check_fits(
            student_text, train_cfg.batch_size, longest_tokens(student_text, data.texts))
    module: torch.nn.Module = student_text.to(device)
    if world > 1:
        module = torch.nn.parallel.DistributedDataParallel(
            student_text, device_ids=[device.index] if device.type == "cuda" else None)
    step = DistillStep(data, teacher, CombinedLoss(cfg.loss), device, hidden_weight=cfg.hidden_weight, rank=rank, world=world,
                       feature_weight=cfg.feature_weight, gallery_weight=cfg.gallery_weight)
    langs = [lang for lang in cfg.eval_languages if not cfg.languages or lang in cfg.languages]
    reference = val_reference(teacher, data, langs) if cfg.select == "agreement" else None

    def batches(epoch: int) -> list[np.ndarray]:
        rng = np.random.default_rng([train_cfg.seed, epoch])
        return concept_batches(data.caption_rows, train_cfg.batch_size, cfg.passes_per_epoch, rng)

    def val(m) -> tuple[float, dict]:
        return on_rank_zero(world, rank, lambda: val_score(m.module if world > 1 else m, data, langs, reference))

    trainer = Trainer(module, train_cfg, run_dir(cfg, train_cfg, teacher, data), batches, step, val,
                      progress=progress, rank=rank, world_size=world, on_progress=on_progress)
    trainer.fit()
    student_text.cpu()  # evaluation, the checkpoint and every later user are on the CPU
    dest = zoo_checkpoint(student_name(cfg))
    if rank == 0:
        training = {"config": asdict(cfg), "train": asdict(train_cfg), "student": build_report, "loss_code": loss_code_version(),
                    "best_epoch": trainer.best_epoch, "val_score": trainer.best_score,
                    # every epoch's val figures: the curve a recipe choice reads (results/agreement_mix.md)
                    "history": [{k: r[k] for k in HISTORY_KEYS if k in r} for r in trainer.history],
                    "seconds": round(time.perf_counter() - started, 1), "world_size": world, "device": str(device)}
        save_student(cfg, student_text, teacher, data, training, dest, progress, command)
    barrier(world)  # the other ranks wait while rank 0 evaluates and saves, then all leave together
    return dest


def cut_student(cfg: DistillConfig, recipe, base: HFTextTower, teacher, data: DistillData,
                vocabulary: Vocabulary | None, seed: int) -> tuple[HFTextTower, dict]:
    """The untrained student and its build report. Its vocabulary sees word lists of the training
    languages and train-split captions, never val/test text."""
    vocab_src = [] if vocabulary else vocabulary_texts({r.language for r in data.records if r.split == "train"},
                                                       recipe.vocab_words, data.texts)
    student_text, build_report = build_student(base, recipe, vocab_src, embed_dim=teacher.embed_dim,
                                               seed=seed, vocabulary=vocabulary)
    if teacher.embed_dim != student_text.output_dim:
        raise ValueError(f"student outputs {student_text.output_dim}-d but the teacher space is {teacher.embed_dim}-d")
    if cfg.freeze_embeddings:  # full rows and a factorized tail alike
        student_text.backbone.get_input_embeddings().requires_grad_(False)
    return student_text, build_report


def longest_tokens(tower: HFTextTower, texts: list[str]) -> int:
    """The longest training text in the tower's tokens (at most its context): the batch shape a step can reach."""
    tokenizer = type(tower.tokenizer).from_str(tower.tokenizer.to_str())
    tokenizer.no_padding()
    return max((len(e.ids) for e in tokenizer.encode_batch([tower.prefix + t for t in texts])), default=1)


def run_dir(cfg: DistillConfig, train_cfg: TrainConfig, teacher, data: DistillData) -> Path:
    """Where a run keeps its resumable state: a rerun resumes its own run only — same settings,
    same teacher weights, same training text."""
    ident = [asdict(cfg), asdict(train_cfg), teacher_key(teacher), hashlib.sha256("\n".join(data.texts).encode()).hexdigest()]
    run_key = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:12]
    return cache_dir() / "runs" / f"{student_name(cfg)}-{run_key}"


def save_student(cfg: DistillConfig, student_text, teacher, data: DistillData, training: dict, dest: Path,
                 progress: bool, command: str | None) -> None:
    """Evaluate the student beside its teacher on the test split, then save it with its card."""
    name = student_name(cfg)
    student = DualEncoder(student_text.eval(), teacher.image, family=teacher.family,
                          logit_scale=float(teacher.logit_scale.detach()),
                          logit_bias=None if teacher.logit_bias is None else float(teacher.logit_bias.detach()), name=name)
    kinds = tuple(sorted({r.kind for r in data.records} - {"photo", TEXT_ONLY}))
    # The card's quick comparison covers the validation languages; every language, held-out ones
    # included, is `python -m evaluation --model STUDENT --compare TEACHER` (minutes, not seconds).
    report_langs = list(cfg.languages) or (list(cfg.eval_languages) if not cfg.manifest else None)
    test_student = evaluate(student_encoder(student_text, data), data.records, data.root, "test",
                            languages=report_langs, kinds=kinds)
    test_teacher = evaluate(teacher_encoder(teacher, data, progress), data.records, data.root, "test",
                            languages=report_langs, kinds=kinds)
    reference = None
    if not hasattr(teacher.image, "backbone"):  # an open_clip/transformers image tower: stored by reference
        reference = str(Path(cfg.teacher).resolve()) if Path(cfg.teacher).exists() else cfg.teacher
    image_frozen = teacher.info.frozen_towers.get("image")
    student.info = replace(
        student.info, role="student", teacher=cfg.teacher, teacher_key=teacher_key(teacher), image_reference=reference,
        languages=sorted({r.language for r in data.records if r.split == "train"}),
        held_out_languages=[] if cfg.manifest else sorted(HELD_OUT_LANGUAGES),
        corpus_hash="" if cfg.manifest else corpus_hash(data.root),
        frozen_towers={"image": image_frozen} if image_frozen else {}, distillation=training,
        test_summary=test_student["summary"], teacher_test_summary=test_teacher["summary"])
    command = command or distill_command(cfg.teacher, cfg.recipe, cfg.loss)
    student.info.distillation["command"] = command  # the card is rewritten later from what is on disk
    card = student_card(name, asdict(cfg), student.info.languages, student.num_parameters(), test_student, test_teacher,
                        training["student"], command)
    student.save_pretrained(dest, card=card)
    write_report(dest / "reports" / "test", {cfg.teacher: test_teacher, name: test_student},
                 f"{name} vs its teacher {cfg.teacher}: held-out test concepts")


def student_base(teacher, cfg: DistillConfig) -> HFTextTower:
    """The text tower a student is cut from: the teacher's own when it is an HF encoder (layers
    and vocabulary inherited; an open_clip Hugging Face tower through its exact view), else the
    model in --student-init projected into the teacher space."""
    if not cfg.student_init:
        if isinstance(teacher.text, HFTextTower):
            return teacher.text
        if hasattr(teacher.text, "hf_view"):
            try:
                return teacher.text.hf_view()
            except ValueError as exc:
                raise ValueError(f"teacher {cfg.teacher!r}: {exc}; pass --student-init DIR (a transformers text "
                                 "model with its tokenizer) to start the student from") from exc
        raise ValueError(f"teacher {cfg.teacher!r} has a {type(teacher.text).__name__} text tower, which cannot be cut "
                         "into a student; pass --student-init DIR (a transformers text model with its tokenizer, e.g. "
                         "a multilingual BERT/XLM-R) to start the student from")
    from transformers import AutoModel, AutoTokenizer  # only for --student-init: transformers' auto classes cost seconds to import

    if not Path(cfg.student_init).is_dir() and not is_cached(cfg.student_init):
        require_hub(f"student init {cfg.student_init!r}")
    backbone = AutoModel.from_pretrained(cfg.student_init).eval()
    tokenizer = AutoTokenizer.from_pretrained(cfg.student_init)
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"{cfg.student_init}: a fast (tokenizers-backed) tokenizer is needed")
    return HFTextTower(backbone, tokenizer.backend_tokenizer, pooling="mean", prefix="",
                       max_length=min(int(getattr(teacher.text, "max_length", 64) or 64), 128))


SELECTIONS = ("recall", "agreement")
HISTORY_KEYS = ("epoch", "step", "train_loss", "lr", "val_score", "val_t2i_R@10", "val_cosine", "train_seconds")


def val_kinds(data: DistillData) -> tuple[str, ...]:
    return ("emoji",) if any(r.kind == "emoji" for r in data.records) else ("user",)


def val_reference(teacher, data: DistillData, langs: list[str]) -> tuple[list[str], np.ndarray]:
    """The val captions the recall score reads (eval languages, the val kinds) and the teacher's
    embeddings of them: what the agreement selection compares the student with. A corpus without
    such captions (a user manifest in other languages, a tiny corpus whose val split has only
    flags) falls back to its other val captions. `data.records` hold no held-out language."""
    kinds = val_kinds(data)
    val = [r for r in data.records if r.split == "val" and r.kind not in ("photo", TEXT_ONLY)]
    texts = next((found for found in (
        sorted({r.caption for r in val if r.language in langs and r.kind in kinds}),
        sorted({r.caption for r in val if r.kind in kinds}),
        sorted({r.caption for r in val if r.language in langs}),
        sorted({r.caption for r in val})) if found), [])
    if not texts:
        raise ValueError("--select agreement needs val captions and the corpus has none (a manifest whose rows "
                         "are all 'train' is split by concept for you)")
    t = teacher_text_embeddings(teacher, texts, progress=False)
    return texts, t / np.linalg.norm(t, axis=1, keepdims=True).clip(1e-12)


def val_score(tower, data: DistillData, langs: list[str],
              reference: tuple[list[str], np.ndarray] | None = None) -> tuple[float, dict]:
    """Validation text→image R@10 (emoji, or a user corpus's images) — the early-stopping score —
    or, given the teacher's `reference`, the mean cosine S(x)·T(x) on those texts (R@10 logged beside it)."""
    encoder = student_encoder(tower, data)
    rep = evaluate(encoder, data.records, data.root, "val", languages=langs,
                   kinds=val_kinds(data), with_vqa=False, with_clustering=False)
    s = rep["summary"]
    key = next((k for k in (HEADLINE_KEY, summary_key("user")) if k in s and s[k] == s[k]), None)
    score = s[key] if key else float("nan")
    if reference is None:
        return (score if score == score else -1.0), {"val_t2i_R@10": score}
    texts, t = reference
    cosine = float(np.mean(np.sum(encoder.encode_text(texts) * t, axis=1)))
    return cosine, {"val_t2i_R@10": score, "val_cosine": cosine}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.distill", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dataclass_args(parser, DistillConfig)
    add_dataclass_args(parser, TrainConfig, defaults=default_train_config())
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    cfg, train_cfg = from_args(DistillConfig, args), from_args(TrainConfig, args)
    try:
        if cfg.select not in SELECTIONS:
            raise ValueError(f"--select must be one of {', '.join(SELECTIONS)}, got {cfg.select!r}")
        parse_weights(cfg.loss)
        resolve_recipe(cfg)
        start = time.perf_counter()
        argv_ = argv if argv is not None else sys.argv[1:]
        path = run(cfg, train_cfg, progress=not args.no_progress,
                   command="python -m training.distill " + " ".join(shlex.quote(a) for a in argv_))
    except (ValueError, FileNotFoundError, KeyError, PermissionError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if dist_info()[0] == 0:
        print(f"{student_name(cfg)}: saved to {path} in {time.perf_counter() - start:.0f} s")
        report = path / "reports" / "test" / "report.md"
        if report.is_file():
            print(report.read_text().split("## emoji retrieval")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
