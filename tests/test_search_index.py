"""GalleryIndex: exact below the threshold, IVF above it, same answers on an easy gallery."""
import numpy as np
import pytest

from core.index import GalleryIndex


def _unit(n, d, seed):
    x = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_exact_then_ivf_by_size_with_the_same_neighbours():
    gallery = _unit(600, 16, 0)
    queries = gallery[:20] + 0.01 * _unit(20, 16, 1)
    small = GalleryIndex(16, approximate_threshold=10_000)
    small.add(gallery)
    big = GalleryIndex(16, approximate_threshold=500)
    big.add(gallery, payloads=[f"img{i}" for i in range(600)])
    assert small.kind == "exact" and big.kind == "ivf"
    _, exact_ids = small.search(queries, 1)
    _, ivf_ids = big.search(queries, 1)
    assert exact_ids[:, 0].tolist() == list(range(20)) == ivf_ids[:, 0].tolist()
    assert big.payloads[ivf_ids[3, 0]] == "img3"


def test_k_larger_than_the_gallery_and_wrong_dimensions():
    index = GalleryIndex(4)
    index.add(_unit(3, 4, 2))
    scores, ids = index.search(_unit(2, 4, 3), 10)
    assert ids.shape == (2, 3) and np.all(np.diff(scores, axis=1) <= 1e-6)  # best first, k capped at 3
    with pytest.raises(ValueError, match="do not match this 4-d gallery"):
        index.search(_unit(1, 8, 4), 1)
    with pytest.raises(ValueError, match="do not match this 4-d gallery"):
        index.add(_unit(2, 5, 5))
    assert GalleryIndex(4).search(_unit(1, 4, 6), 5)[1].shape == (1, 0)


@pytest.mark.parametrize("threshold", [10_000, 100])
def test_save_and_load_give_the_same_answers_and_a_loaded_index_is_read_only(tmp_path, threshold):
    gallery, queries = _unit(300, 16, 7), _unit(5, 16, 8)
    index = GalleryIndex(16, approximate_threshold=threshold)
    index.add(gallery, payloads=[f"img{i}" for i in range(300)])
    index.save(tmp_path / "g.faiss")
    loaded = GalleryIndex.load(tmp_path / "g.faiss", index.payloads)
    assert loaded.kind == index.kind == ("exact" if threshold > 300 else "ivf")
    for a, b in zip(index.search(queries, 4), loaded.search(queries, 4)):
        assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="read-only"):
        loaded.add(gallery[:1])
    with pytest.raises(ValueError, match="300 vectors for 2 payloads"):
        GalleryIndex.load(tmp_path / "g.faiss", ["a", "b"])
    (tmp_path / "bad.faiss").write_bytes(b"not an index")
    with pytest.raises(ValueError, match="not a readable FAISS index"):
        GalleryIndex.load(tmp_path / "bad.faiss", [])
