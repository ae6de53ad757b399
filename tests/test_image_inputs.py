"""Images in every mode people upload embed without error and look like themselves; a truncated
JPEG is refused with a message that says so."""
import io

import numpy as np
import pytest
from PIL import Image

from core.io import ImageError, load_image
from tests.tiny import tiny_dual_encoder


def _gradient(size=48):
    y, x = np.mgrid[0:size, 0:size]
    return ((x * 5 + y * 3) % 256).astype(np.uint8)


@pytest.fixture(scope="module")
def model():
    return tiny_dual_encoder("clip").eval()


def test_every_mode_embeds(model):
    g = _gradient()
    rgb = Image.fromarray(np.stack([g, g[::-1], g.T], -1))
    palette = rgb.convert("P", palette=Image.ADAPTIVE, colors=16)
    palette.info["transparency"] = 0
    images = {"grey": Image.fromarray(g), "cmyk": rgb.convert("CMYK"), "16-bit": Image.fromarray(g.astype(np.uint16) * 257),
              "palette+transparency": palette, "rgba": rgb.convert("RGBA"), "tiny 7x5": rgb.resize((7, 5)),
              "1 px": Image.new("RGB", (1, 1), "red"), "1-bit": Image.fromarray(g > 128), "float": Image.fromarray(g.astype(np.float32) / 255)}
    emb = model.encode_image(list(images.values()))
    assert emb.shape == (len(images), model.embed_dim) and np.isfinite(emb).all()
    assert np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)


def test_sixteen_bit_and_float_look_like_their_8_bit_twin():
    g = _gradient()
    eight = np.asarray(load_image(Image.fromarray(g)))
    for other in (Image.fromarray(g.astype(np.uint16) * 257), Image.fromarray(g.astype(np.float32) / 255)):
        assert np.abs(np.asarray(load_image(other)).astype(int) - eight.astype(int)).max() <= 1


def test_truncated_jpeg_is_a_clear_error(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(np.stack([_gradient(256)] * 3, -1)).save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="cut.jpg is not a readable image.*truncated"):
        load_image(path)
    with pytest.raises(ImageError, match="not a readable image"):
        load_image(data[: len(data) // 2])
