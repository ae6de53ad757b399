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
import os
import shlex
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from zoo.checkpoint import save_checkpoint
from zoo.dual_encoder import DualEncoder
from zoo.paths import cache_dir
from zoo.registry import zoo_checkpoint

from .config import add_dataclass_args, from_args
from .data.corpus import corpus_hash, default_corpus_path, load_corpus
from .data.languages import EMOJI_LANGUAGES, HELD_OUT_LANGUAGES
from .data.display_names import KIND as TEXT_ONLY, SOURCE as DISPLAY_SOURCE, display_name_records
from .data.records import Record
from .data.selection import (DEFAULT_DISTILL_SOURCES, DEFAULT_TEXT_BUDGET, cap_training_text, training_texts,
                             training_view)
from .evaluation.suite import evaluate, relative_image
from .losses.base import DistillBatch
from .losses.combine import CombinedLoss, parse_weights
from .losses.hidden import hidden_relation_loss
from .students import RECIPES, StudentRecipe, Vocabulary, build_student, kept_layer_indices, vocabulary_texts
from .teacher_cache import teacher_image_embeddings, teacher_key, teacher_text_embeddings
from .trainer import TrainConfig, Trainer, concept_batches, seed_everything


@dataclass
class DistillConfig:
    teacher: str = "lit-e5s-effl0-clip"
    recipe: str = "half"
    loss: str = "dr"
    name: str = ""  # default <teacher>-<recipe>-<loss>
    layers: int = 0  # overrides of the recipe (0: the recipe's value)
    keep_layers: tuple[int, ...] = ()  # explicit teacher layer indices to inherit, e.g. 6 7 8 9 10 11 (top half)
    layer_pick: str = "recipe"  # "recipe", or spread / bottom / top (see StudentRecipe)
    width: int = 0
    vocab_words: int = -1  # -1: the recipe's value
    vocab_fill: str = "recipe"  # "recipe": the recipe's value; "script" or "" (see StudentRecipe)
    script_floor: int = -1  # -1: the recipe's value; pieces every script keeps first under vocab_fill "script"
    tail_rank: int = -1  # -1: the recipe's value; 0: trim the vocabulary; > 0: keep every piece, the tail low-rank
    vocabulary: str = ""  # a student checkpoint (dir or zoo name) whose vocabulary to reuse; same teacher tokenizer
    hidden_weight: float = 0.0  # > 0: add a MiniLM-style last-layer relation term (teacher forward every step)
    text_budget: int = DEFAULT_TEXT_BUDGET  # at most this many distinct training captions (0: all); English kept
    languages: tuple[str, ...] = ()  # empty: every language in the corpus except the held-out ones
    train_sources: tuple[str, ...] = DEFAULT_DISTILL_SOURCES  # embedded-corpus caption sources to distill on
    corpus: str = ""  # embedded corpus directory (default: $LINGUALENS_HOME/corpus/embedded-v2)
    manifest: str = ""  # a user manifest with parallel captions instead of the embedded corpus
    student_init: str = ""  # HF model dir to start the student from when the teacher's text tower is not HF
    passes_per_epoch: int = 4
    freeze_embeddings: bool = True  # the inherited word embeddings stay fixed (≈3x faster steps on CPU)
    eval_languages: tuple[str, ...] = EMOJI_LANGUAGES
    device: str = "auto"  # auto: CUDA when every rank can have its own GPU, else CPU


def default_train_config() -> TrainConfig:
    return TrainConfig(epochs=4, batch_size=64, lr=2e-4, weight_decay=0.01, warmup_frac=0.1, patience=2)


def loss_tag(spec: str) -> str:
    weights = parse_weights(spec)
    if len(weights) == 1 and next(iter(weights.values())) == 1.0:
        return next(iter(weights))
    return "+".join(f"{k}{v:g}" for k, v in weights.items())


def student_name(cfg: DistillConfig) -> str:
    return cfg.name or f"{Path(cfg.teacher).name}-{cfg.recipe}-{loss_tag(cfg.loss)}"


def resolve_recipe(cfg: DistillConfig) -> StudentRecipe:
    if cfg.recipe not in RECIPES and cfg.recipe != "custom":
        raise ValueError(f"unknown recipe {cfg.recipe!r}; valid: {', '.join([*RECIPES, 'custom'])}")
    base = RECIPES.get(cfg.recipe, StudentRecipe("custom", max_text_fraction=1.0))
    changes = {}
    if cfg.layers:
        changes["layers"] = cfg.layers
    if cfg.keep_layers:
        changes["keep_layers"] = tuple(int(i) for i in cfg.keep_layers)
    if cfg.layer_pick != "recipe":
        changes["layer_pick"] = cfg.layer_pick
    if cfg.width:
        changes["width"] = cfg.width
    if cfg.vocab_words >= 0:
        changes["vocab_words"] = cfg.vocab_words
    if cfg.vocab_fill != "recipe":
        changes["vocab_fill"] = cfg.vocab_fill
    if cfg.script_floor >= 0:
        changes["script_floor"] = cfg.script_floor
    if cfg.tail_rank >= 0:
        changes["tail_rank"] = cfg.tail_rank
    return StudentRecipe(**{**asdict(base), **changes, "name": cfg.recipe})


# -- data ---------------------------------------------------------------------------------
@dataclass
class DistillData:
    root: Path | None
    records: list[Record]  # the rows this run may read (embedded corpus: no held-out language)
    texts: list[str]  # train-split captions only: nothing from val or test shapes the student
    images: list[str]
    t_text: torch.Tensor  # [T, D] teacher text embeddings of `texts`
    v_image: torch.Tensor  # [I, D] image embeddings
    caption_rows: list[list[int]]  # per training concept: rows of its captions
    english_row: list[int]  # per training concept: row of its English anchor
    image_row: list[int]  # per training concept: row of its image; -1 for text with no image
    concept_of_row: dict[int, int]


def load_records(cfg: DistillConfig, progress: bool) -> tuple[list[Record], Path | None, str]:
    """The rows a run may read, their image root and a content hash for the image cache key."""
    if cfg.manifest:
        from .data.user import load_manifest

        records, report = load_manifest(cfg.manifest)
        if progress:
            print(f"manifest: {report.summary()}")
        root, chash = None, hashlib.sha256(Path(cfg.manifest).read_bytes()).hexdigest()
        if cfg.languages:
            keep = set(cfg.languages) | {"en"}
            records = [r for r in records if r.language in keep]
    else:
        root = Path(cfg.corpus) if cfg.corpus else default_corpus_path()
        corpus = load_corpus(root)
        known = sorted({r.source for r in corpus} | {DISPLAY_SOURCE})
        unknown = sorted(set(cfg.train_sources) - set(known))
        if unknown:
            raise ValueError(f"unknown caption source(s) {', '.join(unknown)}; this corpus has: {', '.join(known)}")
        records, chash = training_view(corpus, cfg.train_sources, cfg.languages), corpus_hash(root)
        if DISPLAY_SOURCE in cfg.train_sources:  # text with no image, from babel (not part of the corpus)
            evaluated = {r.caption for r in corpus if r.split in ("val", "test")}
            records += display_name_records({r.language for r in records if r.split == "train"}, exclude=evaluated,
                                            log=print if progress else (lambda m: None))
    if cfg.manifest and all(r.split == "train" for r in records):
        from dataclasses import replace

        from .data.split import assign_splits

        splits = assign_splits([r.concept for r in records], seed=0)  # no held-out rows given: split by concept
        records = [replace(r, split=splits[r.concept]) for r in records]
    records = cap_training_text(records, cfg.text_budget, log=print if progress else (lambda m: None))
    return records, root, chash


def prepare_data(teacher, cfg: DistillConfig, progress: bool) -> DistillData:
    records, root, chash = load_records(cfg, progress)
    texts = training_texts(records)
    images = sorted({r.image for r in records if r.kind != TEXT_ONLY})
    t_text = torch.from_numpy(teacher_text_embeddings(teacher, texts, progress))
    v_image = torch.from_numpy(teacher_image_embeddings(teacher, images, root or Path("/"), chash, progress))
    tindex = {t: i for i, t in enumerate(texts)}
    iindex = {p: i for i, p in enumerate(images)}
    by_concept: dict[str, list[Record]] = {}
    for r in records:
        if r.split == "train" and r.kind != "photo":
            by_concept.setdefault(r.concept, []).append(r)
    caption_rows, english_row, image_row = [], [], []
    for concept in sorted(by_concept):
        recs = by_concept[concept]
        english = [r for r in recs if r.language == "en"]
        if not english:
            continue  # no anchor: ED/MCL need one, and every embedded concept has one
        caption_rows.append(sorted({tindex[r.caption] for r in recs}))
        english_row.append(tindex[english[0].caption])
        image_row.append(-1 if recs[0].kind == TEXT_ONLY else iindex[recs[0].image])
    if not caption_rows:
        raise ValueError("no training concepts with an English caption: distillation needs parallel captions "
                         "(one English caption per image, split 'train')")
    concept_of_row = {row: ci for ci, rows in enumerate(caption_rows) for row in rows}
    return DistillData(root, records, texts, images, t_text, v_image, caption_rows, english_row, image_row,
                       concept_of_row)


def _to(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device) for k, v in batch.items()}


class StudentEncoder:
    """The student's text tower with the teacher's cached image embeddings: what evaluation needs."""

    def __init__(self, student_text, data: DistillData):
        self.student_text, self.data = student_text, data
        self.index = {p: i for i, p in enumerate(data.images)}

    @torch.inference_mode()
    def encode_text(self, texts: list[str], batch_size: int = 128) -> np.ndarray:
        out = []
        device = next(self.student_text.parameters()).device
        for i in range(0, len(texts), batch_size):
            batch = _to(self.student_text.tokenize(texts[i:i + batch_size]), device)
            out.append(F.normalize(self.student_text(**batch), dim=-1).float().cpu())
        return torch.cat(out).numpy() if out else np.zeros((0, self.student_text.output_dim), np.float32)

    def encode_image(self, images: list, batch_size: int = 0) -> np.ndarray:
        rows = [self.index[relative_image(self.data.root, p)] for p in images]
        return self.data.v_image[rows].cpu().numpy()


class TeacherEncoder(StudentEncoder):
    """The teacher through its cache (no forward pass) for side-by-side reports. Its text
    embeddings for evaluation texts are a separate cache entry from the training texts', so
    evaluation text never enters what the student trains on."""

    def __init__(self, teacher, data: DistillData, progress: bool = False):
        super().__init__(None, data)
        self.teacher, self.progress = teacher, progress

    def encode_text(self, texts: list[str], batch_size: int = 0) -> np.ndarray:
        return teacher_text_embeddings(self.teacher, texts, self.progress)


# -- distributed --------------------------------------------------------------------------
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
    if "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1:
        import torch.distributed as dist

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


# -- the run ------------------------------------------------------------------------------
def run(cfg: DistillConfig, train_cfg: TrainConfig, progress: bool = True, command: str | None = None) -> Path:
    from zoo import load_model

    device = pick_device(cfg.device)
    rank, world = dist_info(device)
    name = student_name(cfg)
    dest = zoo_checkpoint(name)
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
    # the vocabulary sees word lists of the training languages and train-split captions, never val/test text
    vocab_src = [] if vocabulary else vocabulary_texts({r.language for r in data.records if r.split == "train"},
                                                       recipe.vocab_words, data.texts)
    student_text, build_report = build_student(base, recipe, vocab_src, embed_dim=teacher.embed_dim,
                                               seed=train_cfg.seed, vocabulary=vocabulary)
    if teacher.embed_dim != student_text.output_dim:
        raise ValueError(f"student outputs {student_text.output_dim}-d but the teacher space is {teacher.embed_dim}-d")
    if cfg.freeze_embeddings:  # full rows and a factorized tail alike
        student_text.backbone.embeddings.word_embeddings.requires_grad_(False)
    loss = CombinedLoss(cfg.loss)
    scale = teacher.logit_scale.detach().clone().to(device)
    bias = teacher.logit_bias.detach().clone().to(device) if teacher.logit_bias is not None else None
    student_text.to(device)
    t_text, v_image = data.t_text.to(device), data.v_image.to(device)
    module: torch.nn.Module = student_text
    if world > 1:
        module = torch.nn.parallel.DistributedDataParallel(
            student_text, device_ids=[device.index] if device.type == "cuda" else None)

    def batches(epoch: int) -> list[np.ndarray]:
        rng = np.random.default_rng([train_cfg.seed, epoch])
        return concept_batches(data.caption_rows, train_cfg.batch_size, cfg.passes_per_epoch, rng)

    teacher_backbone = teacher.text.backbone.to(device) if cfg.hidden_weight > 0 else None

    def encode(m, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One forward per step (DDP allows no more): each rank encodes its shard, then all
        ranks gather the whole batch back into its original order. With the relation term, also
        that term on this rank's shard (DDP averages the shards' gradients)."""
        shard = texts if world == 1 else texts[rank::world]
        tokens = _to((m.module if world > 1 else m).tokenize(shard), device)
        relation = None
        if teacher_backbone is None:
            out = m(**tokens)
        else:
            out, hidden = m(**tokens, return_hidden=True)
            t_tokens = _to(teacher.text.tokenize(shard), device)
            with torch.no_grad():
                t_hidden = teacher_backbone(**t_tokens).last_hidden_state
            relation = hidden_relation_loss(hidden, t_hidden, tokens["attention_mask"])
        out = F.normalize(out, dim=-1)
        if world == 1:
            return out, relation
        gathered = gather(out, world)
        order = [i for r in range(world) for i in range(r, len(texts), world)]  # gathered row -> batch row
        return gathered[torch.argsort(torch.tensor(order))], relation

    def loss_fn(m, batch: np.ndarray) -> torch.Tensor:
        # captions with an image first: DistillBatch pairs row i with image i for i < len(v)
        batch = sorted(batch.tolist(), key=lambda r: data.image_row[data.concept_of_row[r]] < 0)
        rows = torch.tensor(batch)
        concepts = [data.concept_of_row[r] for r in batch]
        eng = torch.tensor([data.english_row[c] for c in concepts])
        img = torch.tensor([data.image_row[c] for c in concepts if data.image_row[c] >= 0], dtype=torch.long)
        texts = [data.texts[int(r)] for r in batch]
        if loss.needs_student_english:
            texts += [data.texts[int(r)] for r in eng]
        s, relation = encode(m, texts)
        s_x, s_e = s[:len(batch)], (s[len(batch):] if loss.needs_student_english else None)
        value = loss(DistillBatch(s_x=s_x, t_x=t_text[rows.to(device)], t_e=t_text[eng.to(device)],
                                  v=v_image[img.to(device)], logit_scale=scale, logit_bias=bias,
                                  family=teacher.family, s_e=s_e))
        return value if relation is None else value + cfg.hidden_weight * relation

    langs = [lang for lang in cfg.eval_languages if not cfg.languages or lang in cfg.languages]

    def val(m) -> tuple[float, dict]:
        tower = m.module if world > 1 else m
        if world > 1:
            import torch.distributed as dist

            box = [None]
            if rank == 0:
                box[0] = _val_score(tower, data, langs)
            dist.broadcast_object_list(box, src=0)
            return box[0]
        return _val_score(tower, data, langs)

    # a rerun resumes its own run only: same settings, same teacher weights, same training text
    ident = [asdict(cfg), asdict(train_cfg), teacher_key(teacher), hashlib.sha256("\n".join(data.texts).encode()).hexdigest()]
    run_key = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:12]
    out_dir = cache_dir() / "runs" / f"{name}-{run_key}"
    trainer = Trainer(module, train_cfg, out_dir, batches, loss_fn, val, progress=progress, rank=rank, world_size=world)
    trainer.fit()
    student_text.cpu()  # evaluation, the checkpoint and every later user are on the CPU
    if rank != 0:
        _barrier(world)  # wait while rank 0 evaluates and saves, then leave together
        return dest

    student = DualEncoder(student_text.eval(), teacher.image, family=teacher.family,
                          logit_scale=float(scale), logit_bias=None if bias is None else float(bias), name=name)
    kinds = tuple(sorted({r.kind for r in data.records} - {"photo", TEXT_ONLY}))
    # The card's quick comparison covers the validation languages; every language, held-out ones
    # included, is `python -m training.evaluate --model STUDENT --compare TEACHER` (minutes, not seconds).
    report_langs = list(cfg.languages) or (list(cfg.eval_languages) if not cfg.manifest else None)
    test_student = evaluate(StudentEncoder(student_text, data), data.records, data.root, "test",
                            languages=report_langs, kinds=kinds)
    test_teacher = evaluate(TeacherEncoder(teacher, data, progress), data.records, data.root, "test",
                            languages=report_langs, kinds=kinds)
    if not hasattr(teacher.image, "backbone"):  # an open_clip/transformers image tower: stored by reference
        student.meta["image_reference"] = str(Path(cfg.teacher).resolve()) if Path(cfg.teacher).exists() else cfg.teacher
    student.meta.update({
        "role": "student", "teacher": cfg.teacher, "teacher_key": teacher_key(teacher),
        "languages": sorted({r.language for r in data.records if r.split == "train"}),
        "held_out_languages": [] if cfg.manifest else sorted(HELD_OUT_LANGUAGES),
        "corpus_hash": "" if cfg.manifest else corpus_hash(data.root),
        "frozen_towers": {"image": (teacher.meta.get("frozen_towers") or {}).get("image")} if teacher.meta.get("frozen_towers") else {},
        "distillation": {"config": asdict(cfg), "train": asdict(train_cfg), "student": build_report,
                         "best_epoch": trainer.best_epoch, "val_score": trainer.best_score,
                         "seconds": round(time.perf_counter() - started, 1), "world_size": world, "device": str(device)},
        "test_summary": test_student["summary"], "teacher_test_summary": test_teacher["summary"],
    })
    command = command or f"python -m training.distill --teacher {cfg.teacher} --recipe {cfg.recipe} --loss {shlex.quote(cfg.loss)}"
    from .student_card import student_card

    card = student_card(name, cfg, student, teacher, test_student, test_teacher, build_report, command)
    save_checkpoint(student, dest, card=card)
    from .evaluation.report import write_report

    write_report(dest / "reports" / "test", {cfg.teacher: test_teacher, name: test_student},
                 f"{name} vs its teacher {cfg.teacher}: held-out test concepts")
    _barrier(world)
    return dest


def _barrier(world: int) -> None:
    if world > 1:
        import torch.distributed as dist

        dist.barrier()


def student_base(teacher, cfg: DistillConfig):
    """The text tower a student is cut from: the teacher's own when it is an HF encoder (layers
    and vocabulary inherited), else the model in --student-init projected into the teacher space."""
    from zoo.towers import HFTextTower

    if not cfg.student_init:
        if isinstance(teacher.text, HFTextTower):
            return teacher.text
        raise ValueError(f"teacher {cfg.teacher!r} has a {type(teacher.text).__name__} text tower, which cannot be cut "
                         "into a student; pass --student-init DIR (a transformers text model with its tokenizer, e.g. "
                         "a multilingual BERT/XLM-R) to start the student from")
    from transformers import AutoModel, AutoTokenizer

    init = Path(cfg.student_init)
    if not init.is_dir():
        from zoo.hub import is_cached, require_hub

        if not is_cached(cfg.student_init):
            require_hub(f"student init {cfg.student_init!r}")
    backbone = AutoModel.from_pretrained(cfg.student_init).eval()
    tokenizer = AutoTokenizer.from_pretrained(cfg.student_init)
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"{cfg.student_init}: a fast (tokenizers-backed) tokenizer is needed")
    return HFTextTower(backbone, tokenizer.backend_tokenizer, pooling="mean", prefix="",
                       max_length=min(int(getattr(teacher.text, "max_length", 64) or 64), 128))


def _val_score(tower, data: DistillData, langs: list[str]) -> tuple[float, dict]:
    kinds = ("emoji",) if any(r.kind == "emoji" for r in data.records) else ("user",)
    rep = evaluate(StudentEncoder(tower, data), data.records, data.root, "val", languages=langs,
                   kinds=kinds, with_vqa=False, with_clustering=False)
    s = rep["summary"]
    key = next((k for k in ("emoji_t2i_R@10_mean", "user_t2i_R@10_mean") if k in s and s[k] == s[k]), None)
    score = s[key] if key else float("nan")
    return (score if score == score else -1.0), {"val_t2i_R@10": score}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.distill", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dataclass_args(parser, DistillConfig)
    defaults = default_train_config()
    add_dataclass_args(parser, TrainConfig)
    parser.set_defaults(**asdict(defaults))
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    cfg, train_cfg = from_args(DistillConfig, args), from_args(TrainConfig, args)
    try:
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
