"""The DualEncoder contract on edge cases, the registry's answers, and refusal of unsafe names."""
import io
import os
import time

import numpy as np
import pytest
from PIL import Image

from core.io import ImageError, load_image
from tests.tiny import tiny_dual_encoder
from zoo import ModelNotReadyError, UnknownModelError, load_model


@pytest.fixture(scope="module")
def model():
    return tiny_dual_encoder()


def test_empty_whitespace_long_and_wrong_type_texts(model):
    assert model.encode_text([]).shape == (0, 16)
    ws = model.encode_text(["", "   ", "\t\n"])
    np.testing.assert_allclose(ws[0], ws[1], atol=1e-6)  # whitespace-only == empty: the prefix alone
    np.testing.assert_allclose(ws[0], ws[2], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(ws, axis=1), 1, atol=1e-5)
    long = "cat " * 10_000
    np.testing.assert_allclose(model.encode_text([long]), model.encode_text(["cat " * 200]), atol=1e-6)
    assert model.encode_text("a single string").shape == (1, 16)
    with pytest.raises(TypeError, match="text #1 is int"):
        model.encode_text(["ok", 3])


def test_unknown_language_is_refused_known_accepted(model):
    assert model.encode_text(["gato"], language="es-MX").shape == (1, 16)
    with pytest.raises(ValueError, match="unknown language code 'zz'"):
        model.encode_text(["x"], language="zz")


def test_images_in_every_mode_and_size(model):
    rgb = Image.new("RGB", (64, 48), (200, 30, 30))
    gray, rgba = rgb.convert("L"), rgb.convert("RGBA")
    pal = rgb.convert("P")
    tiny = Image.new("RGB", (1, 1), "white")
    buf = io.BytesIO()
    rgb.save(buf, format="PNG")
    out = model.encode_image([rgb, gray, rgba, pal, tiny, buf.getvalue()])
    assert out.shape == (6, 16)
    np.testing.assert_allclose(out[0], out[2], atol=1e-6)  # opaque RGBA == RGB
    np.testing.assert_allclose(out[0], out[5], atol=1e-6)  # bytes == PIL
    assert model.encode_image([]).shape == (0, 16)


def test_transparent_pixels_become_white():
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert load_image(rgba).getpixel((0, 0)) == (255, 255, 255)


def test_bad_images_are_refused_with_a_message(tmp_path):
    huge = tmp_path / "huge.png"
    Image.new("1", (8000, 7000)).save(huge)  # 56 MP, tiny file: a decompression-bomb shape
    with pytest.raises(ImageError, match="56.0 MP, over the 50 MP limit"):
        load_image(huge)
    (tmp_path / "zero.jpg").write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        load_image(tmp_path / "zero.jpg")
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    with pytest.raises(ImageError, match="not a readable image"):
        load_image(tmp_path / "bad.jpg")
    with pytest.raises(ImageError, match="not found"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="empty"):
        load_image(b"")


def test_unknown_name_lists_closest():
    with pytest.raises(UnknownModelError, match="unknown model 'lit-e5s-effl0-clp'.*lit-e5s-effl0-clip"):
        load_model("lit-e5s-effl0-clp")


def test_untrained_teacher_says_how_to_make_it_ready(home):
    with pytest.raises(ModelNotReadyError, match="needs training first: python -m training.teachers"):
        load_model("lit-e5s-effl0-siglip")


@pytest.mark.parametrize("name", ["../etc", "..", "/etc/passwd", "a/../../b", ".hidden", "x/y"])
def test_names_cannot_leave_the_zoo(name):
    from core.paths import zoo_checkpoint

    with pytest.raises(ValueError, match="invalid model name"):
        zoo_checkpoint(name)


def test_hub_id_fails_fast_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match="HF_HUB_OFFLINE=1"):
        load_model("transformers:google/siglip2-base-patch16-224")
    with pytest.raises(ConnectionError, match="offline"):
        load_model("hf-hub:timm/ViT-B-16-SigLIP2")
    assert time.perf_counter() - start < 5


def test_hub_id_fails_fast_when_unreachable(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # closed port: refused at once
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match="127.0.0.1:9 is not reachable"):
        load_model("clip-vit-base-patch32")
    assert time.perf_counter() - start < 5


def test_zoo_list_cli(capsys, home):
    from zoo.__main__ import main

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("lit-e5s-effl0-clip", "lit-e5s-effl0-siglip", "openclip-xlm-roberta-base-ViT-B-32"):
        assert name in out
    assert "needs training" in out and "needs download" in out


def test_zoo_pull_offline_fails_fast_with_message(capsys, monkeypatch, home):
    from zoo.__main__ import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["pull", "my-student", "--repo", "someone/student"]) == 2
    assert "HF_HUB_OFFLINE=1" in capsys.readouterr().err
    assert main(["pull", "../escape", "--repo", "someone/student"]) == 2
    assert "invalid model name" in capsys.readouterr().err


def test_zoo_lists_and_loads_a_local_checkpoint_by_name(home):
    from core.paths import zoo_dir
    from zoo.factory import local_zoo_names

    model = tiny_dual_encoder()
    model.save_pretrained(zoo_dir() / "my-tiny")
    assert "my-tiny" in local_zoo_names()
    loaded = load_model("my-tiny")
    np.testing.assert_allclose(loaded.encode_text(["hola"]), model.encode_text(["hola"]), atol=1e-6)
    assert load_model(os.fspath(zoo_dir() / "my-tiny")).name == "tiny-clip"  # a path works where a name does


def test_unpaired_surrogates_and_control_characters_encode():
    """JSON can carry an unpaired UTF-16 surrogate that no tokenizer accepts: it becomes U+FFFD
    (a valid pair is joined), so the query is answered instead of failing."""
    from core.text import clean_text
    from tests.tiny import tiny_dual_encoder

    assert clean_text("\ud83d\ude00 ok \ud800x \t y\n") == "😀 ok \ufffdx y"
    model = tiny_dual_encoder("clip")
    odd = model.encode_text(["\ud800abc", "a\u202eb\u200f", "\x00\x01\x7f"])
    assert odd.shape == (3, model.embed_dim)
    np.testing.assert_allclose(odd[0], model.encode_text(["\ufffdabc"])[0], atol=1e-6)
