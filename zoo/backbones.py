"""Where a transformers text encoder keeps its pieces, for the two layouts a student is cut from.

BERT / XLM-R (every embedded teacher, open_clip's XLM-R towers): `embeddings.word_embeddings`,
`encoder.layer.N.`, an optional `pooler`. SigLIP / SigLIP2 text models: `text_model.embeddings.
token_embedding`, `text_model.encoder.layers.N.`, and a `text_model.head` projection that
LinguaLens keeps outside the backbone (as the tower's projection), so a student inherits it like
any other head and the backbone only ever returns hidden states.

transformers 4.x registers no Auto class for the SigLIP text models, so they are built from their
own classes here; everything else goes through AutoConfig / AutoModel.
"""
from __future__ import annotations

from torch import nn

# model_type -> the transformers class stem (`{stem}Config`, `{stem}Model`) for types AutoModel lacks
NON_AUTO = {"siglip_text_model": "SiglipText", "siglip2_text_model": "Siglip2Text"}
LAYER_PREFIXES = ("encoder.layer.", "text_model.encoder.layers.")
HEAD_PREFIXES = ("pooler.", "text_model.head.")  # never part of a LinguaLens backbone's state


def config_from_dict(config: dict):
    import transformers
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    model_type = config.get("model_type", "")
    if model_type in NON_AUTO:
        cls = getattr(transformers, f"{NON_AUTO[model_type]}Config")
    elif model_type in CONFIG_MAPPING:
        cls = CONFIG_MAPPING[model_type]
    else:
        raise ValueError(f"unknown text model type {model_type!r}")
    return cls.from_dict({k: v for k, v in config.items() if k not in ("model_type", "auto_map", "architectures")})


def model_from_config(config, headless: bool = True) -> nn.Module:
    """A backbone, by default headless: no BERT pooler, no SigLIP text head (the tower holds the
    projection). `headless=False` keeps them, for loading a file that may hold them."""
    import transformers

    if config.model_type in NON_AUTO:
        model = getattr(transformers, f"{NON_AUTO[config.model_type]}Model")(config)
    else:
        from transformers import AutoModel

        model = (AutoModel.from_config(config, add_pooling_layer=False) if config.model_type == "bert" and headless
                 else AutoModel.from_config(config))
    return without_head(model) if headless else model


def without_head(backbone: nn.Module) -> nn.Module:
    if getattr(backbone, "pooler", None) is not None:
        backbone.pooler = None
    text_model = getattr(backbone, "text_model", None)
    if text_model is not None and not isinstance(getattr(text_model, "head", None), (nn.Identity, type(None))):
        text_model.head = nn.Identity()  # pooled output = the last position's hidden state
    return backbone


def word_embedding_name(backbone: nn.Module) -> str:
    """The module name of the word (token) embedding, e.g. `embeddings.word_embeddings`."""
    table = backbone.get_input_embeddings()
    return next(name for name, module in backbone.named_modules() if module is table)


def layer_prefix(state_keys) -> str:
    """The prefix of numbered transformer layers in a backbone's state-dict keys."""
    keys = list(state_keys)
    for prefix in LAYER_PREFIXES:
        if any(k.startswith(prefix) for k in keys):
            return prefix
    raise ValueError(f"no transformer layers under {' or '.join(LAYER_PREFIXES)} in this text model")


def layer_of(key: str, prefix: str) -> int | None:
    return int(key[len(prefix):].split(".", 1)[0]) if key.startswith(prefix) else None
