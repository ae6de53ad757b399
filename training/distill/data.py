"""What a distillation run trains on: its rows, its training text, the teacher's cached outputs,
and the concept structure the losses batch over. Shared by `training.distill` and the
benchmarks that time or inspect a distillation step."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from core.records import Record, by_concept
from corpus.corpus import corpus_hash, default_corpus_path, load_corpus, load_keywords
from corpus.display_names import KIND as TEXT_ONLY
from corpus.display_names import SOURCE as DISPLAY_SOURCE
from corpus.display_names import display_name_records
from corpus.keyword_text import SOURCE as KEYWORD_SOURCE
from corpus.keyword_text import evaluated_strings, keyword_text_records
from corpus.split import assign_splits
from corpus.user import load_manifest
from corpus.word_lists import SOURCE as WORDS_SOURCE
from corpus.word_lists import self_anchored, word_list_records
from evaluation.cached import CachedEncoder

from ..selection import cap_training_text, training_texts, training_view
from ..teacher_cache import teacher_image_embeddings, teacher_text_embeddings
from .config import DistillConfig
from .distributed import to_device


@dataclass
class DistillData:
    root: Path | None
    records: list[Record]  # the rows this run may read (embedded corpus: no held-out language)
    texts: list[str]  # train-split captions only: nothing from val or test shapes the student
    images: list[str]
    t_text: torch.Tensor  # [T, D] teacher text embeddings of `texts`
    v_image: torch.Tensor  # [I, D] image embeddings
    caption_rows: list[list[int]]  # per training concept: rows of its captions
    english_row: list[int]  # per training concept: row of its English anchor; -1: each row is its own
    image_row: list[int]  # per training concept: row of its image; -1 for text with no image
    concept_of_row: dict[int, int]


def load_records(cfg: DistillConfig, progress: bool) -> tuple[list[Record], Path | None, str]:
    """The rows a run may read, their image root and a content hash for the image cache key."""
    log = print if progress else (lambda m: None)
    if cfg.manifest:
        records, report = load_manifest(cfg.manifest)
        log(f"manifest: {report.summary()}")
        root, chash = None, hashlib.sha256(Path(cfg.manifest).read_bytes()).hexdigest()
        if cfg.languages:
            keep = set(cfg.languages) | {"en"}
            records = [r for r in records if r.language in keep]
    else:
        root = Path(cfg.corpus) if cfg.corpus else default_corpus_path()
        corpus = load_corpus(root)
        known = sorted({r.source for r in corpus} | {DISPLAY_SOURCE, WORDS_SOURCE, KEYWORD_SOURCE})
        unknown = sorted(set(cfg.train_sources) - set(known))
        if unknown:
            raise ValueError(f"unknown caption source(s) {', '.join(unknown)}; this corpus has: {', '.join(known)}")
        records, chash = training_view(corpus, cfg.train_sources, cfg.languages), corpus_hash(root)
        if DISPLAY_SOURCE in cfg.train_sources:  # text with no image, from babel (not part of the corpus)
            evaluated = {r.caption for r in corpus if r.split in ("val", "test")}
            records += display_name_records({r.language for r in records if r.split == "train"}, exclude=evaluated, log=log)
        if WORDS_SOURCE in cfg.train_sources:  # frequent words from wordfreq, each its own anchor
            records += word_list_records({r.language for r in records if r.split == "train"}, cfg.words_per_language,
                                         exclude={r.caption for r in corpus}, log=log)
    if cfg.manifest and all(r.split == "train" for r in records):
        splits = assign_splits([r.concept for r in records], seed=0)  # no held-out rows given: split by concept
        records = [replace(r, split=splits[r.concept]) for r in records]
    records = cap_training_text(records, cfg.text_budget, log=log)
    if not cfg.manifest and KEYWORD_SOURCE in cfg.train_sources:  # after the cap: keywords have their own budget
        every_keyword = load_keywords(root, splits=("train", "val", "test"), exclude_languages=())
        trained = {r.language for r in records if r.split == "train"}
        records += keyword_text_records([r for r in every_keyword if r.split == "train" and r.language in trained],
                                        cfg.keywords_per_language, exclude=evaluated_strings(corpus, every_keyword), log=log)
    return records, root, chash


def prepare_data(teacher, cfg: DistillConfig, progress: bool) -> DistillData:
    records, root, chash = load_records(cfg, progress)
    texts = training_texts(records)
    images = sorted({r.image for r in records if r.kind != TEXT_ONLY})
    t_text = torch.from_numpy(teacher_text_embeddings(teacher, texts, progress))
    v_image = torch.from_numpy(teacher_image_embeddings(teacher, images, root or Path("/"), chash, progress))
    tindex = {t: i for i, t in enumerate(texts)}
    iindex = {p: i for i, p in enumerate(images)}
    caption_rows, english_row, image_row = [], [], []
    for recs in by_concept(r for r in records if r.split == "train" and r.kind != "photo").values():
        english = [r for r in recs if r.language == "en"]
        anchored_to_self = self_anchored(recs[0].concept)
        if not english and not anchored_to_self:
            continue  # no anchor: ED/MCL need one, and every embedded concept has one
        caption_rows.append(sorted({tindex[r.caption] for r in recs}))
        english_row.append(-1 if anchored_to_self else tindex[english[0].caption])
        image_row.append(-1 if recs[0].kind == TEXT_ONLY else iindex[recs[0].image])
    if all(row < 0 for row in english_row):
        raise ValueError("no training concepts with an English caption: distillation needs parallel captions "
                         "(one English caption per image, split 'train')")
    concept_of_row = {row: ci for ci, rows in enumerate(caption_rows) for row in rows}
    return DistillData(root, records, texts, images, t_text, v_image, caption_rows, english_row, image_row,
                       concept_of_row)


def student_encoder(text_tower, data: DistillData, batch_size: int = 128) -> CachedEncoder:
    """A student text tower beside the teacher's cached image embeddings: what evaluation needs."""
    @torch.inference_mode()
    def encode(texts: list[str]) -> np.ndarray:
        device = next(text_tower.parameters()).device
        out = [F.normalize(text_tower(**to_device(text_tower.tokenize(texts[i:i + batch_size]), device)), dim=-1).float().cpu()
               for i in range(0, len(texts), batch_size)]
        return torch.cat(out).numpy() if out else np.zeros((0, text_tower.output_dim), np.float32)

    return CachedEncoder(encode, data.images, lambda rows: data.v_image[rows].cpu().numpy(), data.root)


def teacher_encoder(teacher, data: DistillData, progress: bool = False) -> CachedEncoder:
    """The teacher through its cache (no forward pass) for side-by-side reports. Its text
    embeddings for evaluation texts are a separate cache entry from the training texts', so
    evaluation text never enters what the student trains on."""
    return CachedEncoder(lambda texts: teacher_text_embeddings(teacher, texts, progress), data.images,
                         lambda rows: data.v_image[rows].cpu().numpy(), data.root)
