"""Facts several layers share, stated once: model families, how they start, how models are named."""
from __future__ import annotations

import math

FAMILIES = ("clip", "siglip")
# Initial (log-scale, bias) of the similarity logits: CLIP's softmax temperature 0.07, and SigLIP's
# published sigmoid initialisation t = 10, b = -10.
FAMILY_INIT: dict[str, tuple[float, float | None]] = {"clip": (math.log(1 / 0.07), None),
                                                      "siglip": (math.log(10.0), -10.0)}
EMBEDDED_PREFIX = "lit-e5s-effl0"  # the embedded teachers (e5-small + EfficientNet-Lite0) and their students
# The defaults a newcomer changes, each in this one place (docs/design.md names them):
# The default zoo's students: DR with the agreement terms (the default: it agrees with its teacher, and
# results/study.md finds no objective above it where users search) and ED (the paper's VQA pick; best on the
# 372 test images there, behind on agreement).
DEFAULT_LOSSES = ("dr", "ed")
DEFAULT_LOSS = DEFAULT_LOSSES[0]  # the first is what `python -m training.distill` uses when not told
DEFAULT_RECIPE = "half"  # the default students' size: half the teacher's text parameters
# (the training-text defaults — sources and budget — are in training/selection.py, beside the code that reads them)


def teacher_name(family: str) -> str:
    return f"{EMBEDDED_PREFIX}-{family}"


def student_name(family: str, recipe: str = DEFAULT_RECIPE, loss: str = DEFAULT_LOSS) -> str:
    return f"{EMBEDDED_PREFIX}-{family}-{recipe}-{loss}"
