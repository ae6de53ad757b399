"""Student text towers built from a teacher's: fewer layers, a budgeted vocabulary, optionally narrower.

Recipes (see `RECIPES`):

- `half`: the teacher's bottom half of transformer layers (0–5 of 12: on the validation split
  they kept more than every other layer 1, 3, …, 11 or the top half, `results/recipe_variants.md`;
  distillation retrains the output, so the last layer need not be kept) and every piece of the teacher's vocabulary
  within 50% of the teacher's text parameters: the pieces that matter most keep full rows —
  every script's 1,000 most probable pieces (the teacher's own Unigram scores), the pieces the
  training text uses (wordfreq's most frequent words per training language plus the
  train-split captions), then more of every script round robin — and all the others share a
  rank-96 reconstruction of their teacher rows (`zoo.embeddings.TailFactorizedEmbedding`).
  Nothing is re-segmented: a language outside the training text is cut into the teacher's
  pieces, not into single characters the student never saw (with a trimmed vocabulary Thai
  "แมว" became "แม" + "ว"). Chosen on the validation split: `results/embedding_tail.md`.
  Kept weights are copied, so the student starts as a truncated teacher, not from scratch.
- `quarter`: a quarter of the layers, a rank-64 tail, ≤ 25% of the teacher.
- custom: any `layers`, `width` and `vocab_words` from the command line. A narrower width
  cannot inherit matrices; its embeddings start from a PCA of the teacher's and its layers from
  scratch, and a projection maps it to the teacher's embedding space.

Why trimming keeps tokenization consistent: Unigram picks the highest-scoring segmentation. If
every piece of a text's original segmentation is kept, the best path is still available and
every other path is a subset of the old ones, so the trimmed tokenizer picks the same pieces.
"""
from __future__ import annotations

import copy
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Iterable

import torch
from torch import nn

from core.languages import unicode_script
from corpus.word_lists import wordfreq_code
from zoo.backbones import HEAD_PREFIXES, layer_of, layer_prefix, model_from_config, word_embedding_name
from zoo.checkpoint import load_strict
from zoo.embeddings import CONFIG_KEY, TailFactorizedEmbedding, mark_config
from zoo.text_tower import HFTextTower

SPECIAL_IDS_KEEP = 8  # the first ids of XLM-R-style vocabularies are specials and punctuation


@dataclass(frozen=True)
class StudentRecipe:
    name: str = "half"
    layer_stride: int = 2  # keep every n-th layer (ending with the last) when `layers` is 0
    layers: int = 0  # exact number of layers to keep (0: use layer_stride)
    # which layers: "spread" (every n-th / evenly spaced, ending with the last), "bottom" (the first
    # ones, as many as "spread" would keep) or "top" (the last ones)
    layer_pick: str = "spread"
    width: int = 0  # 0: the teacher's hidden size (weights inherited)
    vocab_words: int = 5000  # wordfreq words per language for the vocabulary (0: keep the full vocabulary)
    max_text_fraction: float = 0.5  # refuse a build above this share of the teacher's text parameters
    keep_layers: tuple[int, ...] = field(default=())  # explicit layer indices (overrides the above)
    # "script": every script the teacher knows keeps its `script_floor` most probable pieces, then
    # the pieces the training text uses, then more of every script round robin, up to the size
    # limit — so languages outside the training text keep their own pieces instead of falling
    # apart into characters. "": only the used pieces (the rarest dropped if over the limit).
    vocab_fill: str = ""
    script_floor: int = 1000
    # > 0: keep every piece of the teacher's vocabulary; the pieces that do not fit as full rows
    # get a rank-`tail_rank` reconstruction (zoo.embeddings.TailFactorizedEmbedding), so no text
    # is re-segmented. 0: trim the vocabulary to full rows only.
    tail_rank: int = 0


RECIPES = {
    "half": StudentRecipe("half", layer_stride=2, layer_pick="bottom", vocab_words=5000, max_text_fraction=0.5, vocab_fill="script",
                          tail_rank=96),
    "quarter": StudentRecipe("quarter", layers=3, vocab_words=1000, max_text_fraction=0.25, vocab_fill="script",
                             tail_rank=64),
}


def kept_layer_indices(n_layers: int, recipe: StudentRecipe) -> list[int]:
    if recipe.keep_layers:
        bad = [i for i in recipe.keep_layers if not 0 <= i < n_layers]
        if bad:
            raise ValueError(f"layer indices {bad} do not exist in a {n_layers}-layer teacher")
        return sorted(set(recipe.keep_layers))
    if recipe.layer_pick not in ("spread", "bottom", "top"):
        raise ValueError(f"unknown layer_pick {recipe.layer_pick!r}; valid: spread, bottom, top")
    if recipe.layers:
        if not 1 <= recipe.layers <= n_layers:
            raise ValueError(f"cannot keep {recipe.layers} layers of a {n_layers}-layer teacher")
        # evenly spaced from the last layer down: 12 layers, keep 3 -> 3, 7, 11
        spread = sorted({n_layers - 1 - round(k * n_layers / recipe.layers) for k in range(recipe.layers)})
    else:
        spread = list(range(recipe.layer_stride - 1, n_layers, recipe.layer_stride))
    if recipe.layer_pick == "bottom":
        return list(range(len(spread)))
    if recipe.layer_pick == "top":
        return list(range(n_layers - len(spread), n_layers))
    return spread


def vocabulary_texts(languages: Iterable[str], words_per_language: int, extra: Iterable[str] = ()) -> list[str]:
    """Frequent words of each language (wordfreq, where it has the language) plus `extra`."""
    if not words_per_language:
        return list(extra)
    import wordfreq

    texts: list[str] = []
    for lang in sorted(set(languages)):
        code = wordfreq_code(lang)
        if code:
            texts += wordfreq.top_n_list(code, words_per_language)
    return texts + list(extra)


def piece_counts(tokenizer, texts: list[str]) -> Counter:
    counts: Counter = Counter()
    for start in range(0, len(texts), 4096):
        for enc in tokenizer.encode_batch(texts[start:start + 4096], add_special_tokens=True):
            counts.update(enc.ids)
    return counts


def piece_script(piece: str) -> str:
    """The script of a vocabulary piece, from its first letter ("Common" for digits and marks)."""
    letter = next((ch for ch in piece.lstrip("\u2581") if ch.isalpha()), "")
    return (unicode_script(letter) if letter else "") or "Common"


def script_fill_order(tokenizer) -> list[tuple[int, int]]:
    """Every piece as (rank within its script, id), ordered so that each script gets its most
    probable pieces (by the teacher's own Unigram log-probabilities, learned on its ~100-language
    pretraining text) before any script gets its next ones. Uses nothing but the teacher's
    vocabulary: no corpus or evaluation text."""
    vocab = json.loads(tokenizer.to_str())["model"]["vocab"]
    by_script: dict[str, list[tuple[float, int]]] = {}
    for i, (piece, score) in enumerate(vocab):
        by_script.setdefault(piece_script(piece), []).append((-float(score), i))
    ranked = []
    for items in by_script.values():
        items.sort()
        ranked += [(rank, neg, i) for rank, (neg, i) in enumerate(items)]
    return [(rank, i) for rank, _, i in sorted(ranked)]


def choose_pieces(counts: Counter, fill: list[tuple[int, int]], budget: int, always: set[int],
                  floor: int = 0) -> list[int]:
    """Up to `budget` piece ids, in this order: `always`; every script's `floor` most probable
    pieces (the fill entries of rank < floor); the used pieces by frequency; the rest of the fill."""
    keep: list[int] = []
    seen: set[int] = set()

    def take(ids) -> None:
        for i in ids:
            if len(keep) >= budget:
                return
            if i not in seen:
                keep.append(i)
                seen.add(i)

    take(sorted(always))
    take(i for rank, i in fill if rank < floor)
    take(i for i, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    take(i for _, i in fill)
    return keep


def vocabulary_budget(teacher: HFTextTower, layers: list[int], fraction: float, out_dim: int) -> int:
    """How many word-embedding rows a same-width student can hold within `fraction` of the
    teacher's text parameters, counted from the teacher's own tensors."""
    t_state = teacher.backbone.state_dict()
    word, prefix = f"{word_embedding_name(teacher.backbone)}.weight", layer_prefix(t_state)
    fixed = 0
    for k, v in t_state.items():
        if k.endswith("position_ids") or k.startswith(HEAD_PREFIXES) or k == word:
            continue
        if layer_of(k, prefix) not in (None, *layers):
            continue
        fixed += v.numel()
    width = int(teacher.backbone.config.hidden_size)
    inherited = teacher.projection is not None and out_dim == teacher.output_dim  # as `build_student` decides
    # the projection to the teacher space: the teacher's own head (a Linear or open_clip's MLP), or a new Linear
    fixed += sum(p.numel() for p in teacher.projection.parameters()) if inherited else width * out_dim + out_dim
    return max(0, int((fraction * teacher.num_parameters() - fixed) // width))


def full_rows_within(budget_rows: int, vocab: int, rank: int, width: int) -> int:
    """How many full rows fit when the other `vocab - full` pieces cost `rank` numbers each
    (plus the shared rank x width basis and the width-sized mean): the same parameter count as
    `budget_rows` full rows."""
    if not 0 < rank < width:
        raise ValueError(f"tail rank must be between 1 and the width {width - 1}, got {rank}")
    full = (budget_rows * width - vocab * rank - rank * width - width) // (width - rank)
    if full < SPECIAL_IDS_KEEP:
        raise ValueError(f"a rank-{rank} tail for {vocab:,} pieces does not fit in {budget_rows:,} rows of "
                         f"{width}; lower the tail rank or raise the size limit")
    return int(min(full, vocab - 1))


def trim_tokenizer(tokenizer, keep: Iterable[int], ordered: bool = False):
    """A Unigram tokenizer over the kept pieces, renumbered, and the list of their old ids.

    By default the kept pieces stay in the teacher's order. With `ordered`, they take the order
    of `keep` (specials and the first ids first): how a tail-factorized student puts its
    full-row pieces before the low-rank tail. Unigram segmentation depends on the pieces and
    their scores, never on ids, so a permutation tokenizes exactly as before."""
    from tokenizers import Tokenizer

    spec = json.loads(tokenizer.to_str())
    if spec["model"]["type"] != "Unigram":
        raise ValueError(f"vocabulary trimming needs a Unigram tokenizer, got {spec['model']['type']}")
    vocab = spec["model"]["vocab"]
    specials = {t["id"] for t in spec.get("added_tokens", [])} | {spec["model"].get("unk_id", 0)}
    first = sorted(specials | set(range(min(SPECIAL_IDS_KEEP, len(vocab)))))
    if ordered:
        seen = set(first)
        kept = first + [i for i in dict.fromkeys(keep) if i not in seen]
    else:
        kept = sorted(set(keep) | set(first))
    new_id = {old: new for new, old in enumerate(kept)}
    spec["model"]["vocab"] = [vocab[i] for i in kept]
    spec["model"]["unk_id"] = new_id[spec["model"].get("unk_id", 0)]
    for tok in spec.get("added_tokens", []):
        tok["id"] = new_id[tok["id"]]
    post = spec.get("post_processor") or {}
    for special in (post.get("special_tokens") or {}).values():
        special["ids"] = [new_id[i] for i in special["ids"]]
    return Tokenizer.from_str(json.dumps(spec)), kept


def _pca_rows(matrix: torch.Tensor, width: int) -> torch.Tensor:
    centred = matrix - matrix.mean(0, keepdim=True)
    _, _, v = torch.pca_lowrank(centred, q=width, center=False, niter=4)
    return centred @ v[:, :width]


@dataclass(frozen=True)
class Vocabulary:
    """A student's vocabulary: its pieces with their Unigram scores in student id order, and how
    many get full rows (0: every row is full). Reusing one skips the piece counting and gives
    students of one teacher identical vocabularies (e.g. across seeds)."""
    pieces: tuple[tuple[str, float], ...]
    full_rows: int = 0
    source: str = ""

    @classmethod
    def of_checkpoint(cls, path) -> "Vocabulary":
        from pathlib import Path

        path = Path(path)
        try:
            spec = json.loads((path / "tokenizer.json").read_text(encoding="utf-8"))
            config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path} holds no readable student vocabulary (tokenizer.json + config.json): {exc}") from exc
        if spec.get("model", {}).get("type") != "Unigram":
            raise ValueError(f"{path}: only Unigram vocabularies can be reused")
        pieces = tuple((str(p), float(sc)) for p, sc in spec["model"]["vocab"])
        return cls(pieces, int((config.get(CONFIG_KEY) or {}).get("full_rows", 0)), str(path))

    def teacher_ids(self, tokenizer) -> list[int]:
        """The teacher ids of the pieces, in order; refuses a vocabulary built for another teacher
        (a piece the teacher lacks or scores differently would silently mean something else)."""
        vocab = json.loads(tokenizer.to_str())["model"]["vocab"]
        index = {piece: (i, float(score)) for i, (piece, score) in enumerate(vocab)}
        foreign = [p for p, sc in self.pieces if p not in index or abs(index[p][1] - sc) > 1e-6]
        if foreign:
            raise ValueError(f"the vocabulary of {self.source or 'this student'} was built for another teacher: "
                             f"{len(foreign):,} of its {len(self.pieces):,} pieces are missing from this teacher's "
                             f"tokenizer or scored differently (e.g. {', '.join(repr(p) for p in foreign[:3])})")
        return [index[p][0] for p, _ in self.pieces]


def build_student(teacher: HFTextTower, recipe: StudentRecipe, vocab_texts: list[str],
                  embed_dim: int | None = None, seed: int = 0,
                  vocabulary: Vocabulary | None = None) -> tuple[HFTextTower, dict]:
    """The student tower and a report of what was kept (parameters, layers, vocabulary).

    With `vocabulary`, the pieces and the full/tail split are taken from it (`vocab_texts` is
    not read) instead of being chosen from the training text."""
    torch.manual_seed(seed)
    t_cfg = teacher.backbone.config
    n_layers = int(t_cfg.num_hidden_layers)
    layers = kept_layer_indices(n_layers, recipe)
    trimmable = json.loads(teacher.tokenizer.to_str())["model"]["type"] == "Unigram"
    if recipe.vocab_fill not in ("", "script"):
        raise ValueError(f"unknown vocab_fill {recipe.vocab_fill!r}; valid: '' (used pieces only), 'script'")
    if recipe.tail_rank and (recipe.width or not trimmable):
        raise ValueError("a factorized tail (tail_rank > 0) needs a same-width student of a Unigram-tokenizer "
                         "teacher; set tail_rank 0 for this recipe")
    full_rows = 0  # > 0: ids from here on are the low-rank tail
    if vocabulary is not None:
        if not trimmable:
            raise ValueError("a vocabulary can only be reused for a teacher with a Unigram tokenizer")
        if bool(vocabulary.full_rows) != bool(recipe.tail_rank):
            raise ValueError(f"the vocabulary of {vocabulary.source or 'this student'} "
                             f"{'has' if vocabulary.full_rows else 'has no'} factorized tail, but the recipe's "
                             f"tail_rank is {recipe.tail_rank}")
        full_rows = vocabulary.full_rows
        tokenizer, kept = trim_tokenizer(teacher.tokenizer, vocabulary.teacher_ids(teacher.tokenizer), ordered=True)
    elif trimmable and (recipe.vocab_words or vocab_texts):
        # texts are tokenized as the tower feeds them: with its prefix ("query: ")
        counts = piece_counts(teacher.tokenizer, [teacher.prefix + t for t in [*vocab_texts, ""]])
        used: set[int] | list[int] = set(counts)
        if not recipe.width:  # same width: the budget is exact, so spend it instead of overrunning it
            budget = vocabulary_budget(teacher, layers, recipe.max_text_fraction, embed_dim or teacher.output_dim)
            fill = script_fill_order(teacher.tokenizer) if recipe.vocab_fill == "script" else []
            if recipe.tail_rank:  # every piece, in priority order; the first `full_rows` get full rows
                n_vocab = teacher.tokenizer.get_vocab_size()
                full_rows = full_rows_within(budget, n_vocab, recipe.tail_rank, int(t_cfg.hidden_size))
                fill = fill or [(0, i) for i in range(n_vocab)]
                used = choose_pieces(counts, fill, n_vocab, set(range(SPECIAL_IDS_KEEP)), recipe.script_floor)
            elif fill or len(used) > budget:  # over budget: the rarest used pieces go first
                used = choose_pieces(counts, fill, budget, set(range(SPECIAL_IDS_KEEP)), recipe.script_floor)
        tokenizer, kept = trim_tokenizer(teacher.tokenizer, used, ordered=bool(full_rows))
    else:
        tokenizer, kept = teacher.tokenizer, list(range(t_cfg.vocab_size))
    width = recipe.width or int(t_cfg.hidden_size)
    cfg = copy.deepcopy(t_cfg)
    cfg.num_hidden_layers, cfg.vocab_size = len(layers), len(kept)
    cfg.hidden_dropout_prob = cfg.attention_probs_dropout_prob = 0.0  # deterministic, DDP-equivalent
    if hasattr(cfg, "attention_dropout"):  # SigLIP's name for it
        cfg.attention_dropout = 0.0
    if width != t_cfg.hidden_size:
        if width % cfg.num_attention_heads:
            cfg.num_attention_heads = max(1, width // 64)
        cfg.hidden_size, cfg.intermediate_size = width, 4 * width
    student = model_from_config(cfg)  # headless: the tower holds the projection
    t_state = teacher.backbone.state_dict()
    word_name = word_embedding_name(teacher.backbone)
    word_key, prefix = f"{word_name}.weight", layer_prefix(t_state)
    idx = torch.tensor(kept)
    with torch.no_grad():
        word = t_state[word_key][idx]
        if width == t_cfg.hidden_size:
            new_state = {}
            for k, v in t_state.items():
                i = layer_of(k, prefix)
                if i is not None:
                    if i in layers:
                        new_state[k.replace(f"{prefix}{i}.", f"{prefix}{layers.index(i)}.", 1)] = v
                elif k == word_key:
                    new_state[k] = word
                elif not k.startswith(HEAD_PREFIXES):
                    new_state[k] = v
            if full_rows:
                tail = TailFactorizedEmbedding.from_table(new_state.pop(word_key), full_rows, recipe.tail_rank)
                student.set_input_embeddings(tail)
                mark_config(student, tail)
            # the word embedding was set above (full table or factorized tail); every other weight must fit
            load_strict(student, new_state, "the teacher's inherited weights", error=RuntimeError,
                        ignore_missing=(f"{word_name}.",))
        else:
            student.get_input_embeddings().weight.copy_(_pca_rows(word, width))
    student.eval()
    out_dim = embed_dim or teacher.output_dim
    projection: nn.Module = nn.Linear(width, out_dim)
    if teacher.projection is not None and width == t_cfg.hidden_size and out_dim == teacher.output_dim:
        projection = copy.deepcopy(teacher.projection)  # a Linear or open_clip's MLP head, inherited like the layers
    elif width == out_dim and teacher.projection is None:
        with torch.no_grad():
            projection.weight.copy_(torch.eye(out_dim))
            projection.bias.zero_()
    tower = HFTextTower(student, tokenizer, pooling=teacher.pooling, prefix=teacher.prefix,
                        max_length=teacher.max_length, padding=teacher.padding, projection=projection,
                        attention_mask=teacher.attention_mask)
    teacher_params, student_params = teacher.num_parameters(), tower.num_parameters()
    full_ids = range(full_rows or len(kept))
    report = {"recipe": asdict(recipe), "layers_teacher": n_layers, "layers_kept": layers, "vocab_kept": len(kept), "vocab_trimmed": trimmable,
              "full_rows": len(full_ids), "tail_rows": len(kept) - len(full_ids) if full_rows else 0, "tail_rank": recipe.tail_rank if full_rows else 0,
              "vocab_scripts": dict(Counter(piece_script(tokenizer.id_to_token(i) or "") for i in full_ids).most_common()),
              "vocab_teacher": int(t_cfg.vocab_size), "width": width,
              "text_params_teacher": teacher_params, "text_params_student": student_params,
              "text_fraction": student_params / teacher_params,
              "sentence_transformers": tower.sentence_transformers_exact}
    if report["text_fraction"] > recipe.max_text_fraction + 1e-9:
        raise ValueError(f"recipe {recipe.name!r} gives {report['text_fraction']:.1%} of the teacher's text "
                         f"parameters, over its limit of {recipe.max_text_fraction:.0%}; lower vocab_words or layers")
    return tower, report
