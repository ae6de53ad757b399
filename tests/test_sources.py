"""open_clip and transformers models through the one interface, on tiny random configs offline."""
import numpy as np
import pytest
import torch
from PIL import Image

from tests.tiny import MULTILINGUAL, save_tiny_xlmr, tiny_hf_clip_like, tiny_open_clip_config
from zoo import load_model


def _check_interface(model, dim):
    text = model.encode_text(MULTILINGUAL)
    assert text.shape == (len(MULTILINGUAL), dim) and text.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(text, axis=1), 1.0, atol=1e-5)
    imgs = [Image.new("RGB", (40, 30), c) for c in ("red", "blue", "green")]
    image = model.encode_image(imgs)
    assert image.shape == (3, dim)
    np.testing.assert_allclose(np.linalg.norm(image, axis=1), 1.0, atol=1e-5)
    # batching does not change results
    np.testing.assert_allclose(model.encode_text(MULTILINGUAL, batch_size=3), text, atol=1e-5)
    assert model.encode_text([]).shape == (0, dim)
    assert model.encode_text(["w " * 2000]).shape == (1, dim)  # truncated, not an error


def test_open_clip_builtin_text_tower_from_json_config(tmp_path):
    model = load_model(tiny_open_clip_config(tmp_path / "tiny-oc-clip.json"))
    assert model.family == "clip" and model.text.max_length == 16
    _check_interface(model, 16)
    params = model.num_parameters()
    # every weight is counted once, in one tower; only the two logit_scale scalars (ours, open_clip's) are in neither
    assert params["text"] + params["image"] == sum(p.numel() for p in model.parameters()) - 2


def test_open_clip_multilingual_hf_text_tower_from_local_dir(tmp_path):
    xlmr = save_tiny_xlmr(tmp_path / "tiny-xlmr")
    model = load_model(str(tiny_open_clip_config(tmp_path / "tiny-oc-xlmr.json", hf_text_dir=xlmr)))
    _check_interface(model, 16)
    ids = model.text.tokenize(["un gato"])["text"]
    assert ids.shape[0] == 1 and ids.shape[1] < 16 and int(ids[0, 0]) == 0  # <s> from the XLM-R tokenizer
    # the all-pad columns open_clip adds up to its 16-token context are dropped: same vectors, less work
    texts = ["un gato", "a much longer caption about a black cat"]
    with torch.no_grad():
        padded = model.text.model.encode_text(model.text.tokenizer(texts))
        trimmed = model.text(**model.text.tokenize(texts))
    assert torch.allclose(padded, trimmed, atol=1e-5)


def test_open_clip_local_weight_file_round_trip(tmp_path):
    from safetensors.torch import save_file

    cfg = tiny_open_clip_config(tmp_path / "tiny-oc-file.json")
    first = load_model(cfg)
    save_file({k: v.contiguous() for k, v in first.text.model.state_dict().items()}, str(tmp_path / "w.safetensors"))
    second = load_model("open_clip:tiny-oc-file", pretrained=str(tmp_path / "w.safetensors"))
    np.testing.assert_allclose(second.encode_text(["hello"]), first.encode_text(["hello"]), atol=1e-6)


@pytest.mark.parametrize("kind, family, dim", [("clip", "clip", 16), ("siglip", "siglip", 32), ("siglip2", "siglip", 32)])
def test_transformers_models_from_local_dir(tmp_path, kind, family, dim):
    path = tiny_hf_clip_like(kind, tmp_path / kind)
    model = load_model(path)
    assert model.family == family
    _check_interface(model, dim)
    if family == "siglip":  # SigLIP is fed max_length padding, as it was trained
        assert model.text.tokenize(["a"])["input_ids"].shape == (1, 64)
        assert model.logit_bias is not None
    assert model.num_parameters()["text"] > 0 and model.num_parameters()["image"] > 0


def test_transformers_unsupported_model_type_is_named(tmp_path):
    from tests.tiny import tiny_bert

    tiny_bert().save_pretrained(tmp_path / "bert")
    with pytest.raises(ValueError, match="model_type 'bert' is not supported; supported: clip, siglip, siglip2"):
        load_model("transformers:" + str(tmp_path / "bert"))
