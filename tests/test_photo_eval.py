"""The photo evaluation on a hand-built case: photos-only R@1, photos among drawings R@10, emoji
R@10 with and without the photos, per language, and paired differences."""
import numpy as np
import pytest

from core.records import Record
from evaluation.photos import compare_photos


class Lookup:
    def __init__(self, text, image):
        self.text, self.image = text, image

    def encode_text(self, texts, **_):
        return np.stack([self.text[t] for t in texts])

    def encode_image(self, images, **_):
        return np.stack([self.image[p] for p in images])


def unit(i, d=16):
    v = np.zeros(d, np.float32)
    v[i] = 1
    return v


def case():
    records = [Record("p/cat.png", "photo:cat", "photo", "en", "a cat", "ood", "lingualens"),
               Record("p/cat.png", "photo:cat", "photo", "es", "un gato", "ood", "lingualens"),
               Record("p/dog.png", "photo:dog", "photo", "en", "a dog", "ood", "lingualens"),
               Record("p/dog.png", "photo:dog", "photo", "es", "un perro", "ood", "lingualens")]
    records += [Record(f"d/{i}.png", f"emoji:{i}", "emoji", "en", f"emoji {i}", "test", "emoji") for i in range(12)]
    image = {"p/cat.png": unit(0), "p/dog.png": unit(1), **{f"d/{i}.png": unit(i + 2) for i in range(12)}}
    gato = unit(1) + 0.1 * unit(0)
    text = {"a cat": unit(0), "un gato": gato / np.linalg.norm(gato), "a dog": unit(1), "un perro": -unit(1),
            **{f"emoji {i}": unit(i + 2) for i in range(12)}}
    return records, Lookup(text, image)


def test_photo_metrics_by_hand():
    records, model = case()
    rep = compare_photos({"m": model, "twin": model}, records, None, reference="twin", n_boot=200)
    m = rep["models"]["m"]
    # "a cat", "a dog" find their photo first; "un gato" finds the dog first (the cat second, so
    # it is in the mixed top 10); "un perro" points away from the dog: last of 14 images
    assert m["photos_only_R@1"]["value"] == pytest.approx(0.5)
    assert m["mixed_R@10"]["value"] == pytest.approx(0.75)
    assert m["emoji_R@10"]["value"] == 1.0 and m["emoji_mixed_R@10"]["value"] == 1.0
    assert rep["languages"]["en"]["m"]["photos_only_R@1"]["value"] == 1.0
    assert rep["languages"]["es"]["m"]["photos_only_R@1"]["value"] == 0.0
    assert rep["languages"]["es"]["m"]["mixed_R@10"]["value"] == 0.5
    assert m["mixed_R@10"]["lo"] <= 0.75 <= m["mixed_R@10"]["hi"]
    d = rep["differences"]["m"]
    assert all(d[k]["value"] == 0 and d[k]["lo"] == 0 and d[k]["hi"] == 0 for k in d)  # paired: a model vs itself
    assert rep["photos"] == 2 and rep["drawings"] == 12 and rep["photo_queries"] == 4


def test_no_photos_is_a_clear_error():
    records, model = case()
    with pytest.raises(ValueError, match="needs the out-of-domain photos"):
        compare_photos({"m": model}, [r for r in records if r.kind != "photo"], None)
