"""What a distillation run is asked to do: `DistillConfig`, its recipe and its student's name."""
from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.constants import DEFAULT_LOSS, DEFAULT_RECIPE, teacher_name
from core.languages import EMOJI_LANGUAGES
from corpus.keyword_text import DEFAULT_KEYWORDS_PER_LANGUAGE
from corpus.word_lists import DEFAULT_WORDS_PER_LANGUAGE

from ..losses.combine import parse_weights
from ..selection import DEFAULT_DISTILL_SOURCES, DEFAULT_TEXT_BUDGET
from ..students import RECIPES, StudentRecipe
from ..trainer import TrainConfig


@dataclass
class DistillConfig:
    teacher: str = teacher_name("clip")
    recipe: str = DEFAULT_RECIPE
    loss: str = DEFAULT_LOSS
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
    # The agreement terms: the student replicates T(x) on every row and the teacher's ranking of every
    # training image. Both were chosen on val over the app's gallery (results/agreement_val.md); the
    # feature term's weight then on val agreement, weights 1, 4, 16, 64 (results/agreement_mix.md): the
    # heavier it weighs against the objective, the closer S(x) came to T(x), at about the same val recall.
    # -1 means "the objective's default" (`AGREEMENT_DEFAULTS`), resolved when the config is made: ED
    # regresses onto the teacher's *English* embedding, and a term 64 times heavier pulling towards T(x)
    # would make an ED student a DR student under another name, so ED alone gets neither term.
    feature_weight: float = field(default=-1.0, metadata={"help": "weight of FD's S(x)→T(x) cosine term on every "
                                  "training row; -1: the objective's default (64, or 0 for ED)"})
    gallery_weight: float = field(default=-1.0, metadata={"help": "weight of DR's text→image KL over every training "
                                  "image, every row; -1: the objective's default (1, or 0 for ED)"})
    hidden_weight: float = 0.0  # > 0: add a MiniLM-style last-layer relation term (teacher forward every step)
    text_budget: int = DEFAULT_TEXT_BUDGET  # at most this many distinct training captions (0: all); English kept
    languages: tuple[str, ...] = ()  # empty: every language in the corpus except the held-out ones
    train_sources: tuple[str, ...] = DEFAULT_DISTILL_SOURCES  # embedded-corpus caption sources to distill on
    words_per_language: int = DEFAULT_WORDS_PER_LANGUAGE  # with train source "wordfreq": its top words per language
    keywords_per_language: int = DEFAULT_KEYWORDS_PER_LANGUAGE  # with train source "cldr-keyword": at most this many per language
    corpus: str = ""  # embedded corpus directory (default: $LINGUALENS_HOME/corpus/embedded-v2)
    manifest: str = ""  # a user manifest with parallel captions instead of the embedded corpus
    student_init: str = ""  # HF model dir to start the student from when the teacher's text tower is not HF
    passes_per_epoch: int = 4
    freeze_embeddings: bool = True  # the inherited word embeddings stay fixed (≈3x faster steps on CPU)
    # which epoch is kept (and what patience waits on): "recall", val text→image R@10; "agreement",
    # the mean cosine S(x)·T(x) on the val captions of the eval languages — no ground truth, so far
    # less noise than a recall over a few hundred val concepts, and what a student that should
    # behave like its teacher is for. Empty: "agreement" when the feature term pulls S(x) to T(x),
    # else "recall" (ED, or a formulation run alone, is not asked to replicate T(x))
    select: str = field(default="", metadata={"help": "which epoch is kept: recall or agreement; empty: agreement "
                                              "when --feature-weight > 0, else recall"})
    eval_languages: tuple[str, ...] = EMOJI_LANGUAGES
    device: str = "auto"  # auto: CUDA when every rank can have its own GPU, else CPU

    def __post_init__(self):
        defaults = agreement_defaults(self.loss)
        for key in AGREEMENT_DEFAULTS:
            if getattr(self, key) == -1:
                setattr(self, key, defaults[key])
        if not self.select:
            self.select = "agreement" if self.feature_weight > 0 else "recall"


# The agreement terms' weights where a config does not say: what the default students are made with
AGREEMENT_DEFAULTS = {"feature_weight": 64.0, "gallery_weight": 1.0}
# objectives whose target is not T(x): the agreement terms would overwrite what they aim at
NOT_REPLICATING = ("ed",)


def agreement_defaults(loss: str) -> dict[str, float]:
    """The agreement terms' default weights for an objective: none when every term of it aims
    elsewhere than T(x) (ED alone), `AGREEMENT_DEFAULTS` otherwise."""
    try:
        terms = set(parse_weights(loss))
    except ValueError:
        terms = set()  # a malformed loss is refused where the loss is built, with its own message
    if terms and terms <= set(NOT_REPLICATING):
        return dict.fromkeys(AGREEMENT_DEFAULTS, 0.0)
    return dict(AGREEMENT_DEFAULTS)


# settings added after students were recorded, each with the value that means what was done before
# it existed: an older record without one is read as having it (its other new settings, whose
# defaults changed what a run does, still count as changed)
SETTINGS_ADDED = {"select": "recall"}

LOSS_CODE = ("training/losses/*.py", "training/distill/step.py")  # the code that defines what a run optimises


def loss_code_version() -> str:
    """A fingerprint of the loss code: a student records it, and the study rebuilds any student made
    by other loss code instead of reusing it under an unchanged name."""
    import hashlib

    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for path in sorted(p for pattern in LOSS_CODE for p in root.glob(pattern)):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def default_train_config() -> TrainConfig:
    """The default schedule: 8 epochs at 6e-4, both chosen on val agreement (results/agreement_mix.md,
    results/agreement_select.md); ≈ 70 s of steps per epoch on 2 cores, plus the val score."""
    return TrainConfig(epochs=8, batch_size=64, lr=6e-4, weight_decay=0.01, warmup_frac=0.1, patience=2)


def loss_tag(spec: str) -> str:
    weights = parse_weights(spec)
    if len(weights) == 1 and next(iter(weights.values())) == 1.0:
        return next(iter(weights))
    return "+".join(f"{k}{v:g}" for k, v in weights.items())


def distill_command(teacher: str, recipe: str, loss: str) -> str:
    """The command that rebuilds a student of this teacher, recipe and loss: what a card shows
    when the exact command line was not recorded."""
    return f"python -m training.distill --teacher {teacher} --recipe {recipe} --loss {shlex.quote(loss)}"


def student_name(cfg: DistillConfig) -> str:
    return cfg.name or f"{Path(cfg.teacher).name}-{cfg.recipe}-{loss_tag(cfg.loss)}"


def resolve_recipe(cfg: DistillConfig) -> StudentRecipe:
    if cfg.recipe not in RECIPES and cfg.recipe != "custom":
        raise ValueError(f"unknown recipe {cfg.recipe!r}; valid: {', '.join([*RECIPES, 'custom'])}")
    base = RECIPES.get(cfg.recipe, StudentRecipe("custom", max_text_fraction=1.0))
    overrides = {"layers": cfg.layers or None, "keep_layers": tuple(int(i) for i in cfg.keep_layers) or None,
                 "layer_pick": None if cfg.layer_pick == "recipe" else cfg.layer_pick, "width": cfg.width or None,
                 "vocab_words": cfg.vocab_words if cfg.vocab_words >= 0 else None,
                 "vocab_fill": None if cfg.vocab_fill == "recipe" else cfg.vocab_fill,
                 "script_floor": cfg.script_floor if cfg.script_floor >= 0 else None,
                 "tail_rank": cfg.tail_rank if cfg.tail_rank >= 0 else None}
    changes = {k: v for k, v in overrides.items() if v is not None}
    return StudentRecipe(**{**asdict(base), **changes, "name": cfg.recipe})
