"""The index benchmark's parts on small data: synthetic growth and recall against exact search."""
import numpy as np

from benchmarks.index_scale import KINDS, K, grow, measure


def _unit(rows: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_grow_keeps_the_real_vectors_first_and_normalises_the_rest():
    real = _unit(50, 8, 0)
    grown = grow(real, 200)
    assert grown.shape == (200, 8) and np.array_equal(grown[:50], real)
    assert np.allclose(np.linalg.norm(grown, axis=1), 1, atol=1e-5)
    assert np.array_equal(grow(real, 20), real[:20])


def test_exact_recall_is_one_and_approximate_indexes_are_scored_against_it():
    import faiss

    data, queries = _unit(3000, 32, 1), _unit(40, 32, 2)
    exact = faiss.IndexFlatIP(32)
    exact.add(data)
    truth = exact.search(queries, K)[1]
    rows = {kind: measure(kind, data, queries, truth, threads=1) for kind in KINDS}
    assert [r["recall@10"] for r in rows["exact"]] == [1.0]
    hnsw, ivf = [r["recall@10"] for r in rows["hnsw"]], [r["recall@10"] for r in rows["ivfpq"]]
    assert len(hnsw) == 3 and hnsw == sorted(hnsw) and hnsw[-1] >= 0.95  # a wider search finds more of the truth
    assert len(ivf) == 3 and 0.0 < ivf[0] <= ivf[-1] < 1.0  # compressed codes: close, never exact on random data
    assert rows["ivfpq"][0]["memory_mb"] < rows["exact"][0]["memory_mb"]
    flat = [r["recall@10"] for r in rows["ivfflat"]]
    assert flat == sorted(flat) and flat[-1] == 1.0  # 256 probes of 219 lists: every list, exact distances
    assert faiss.omp_get_max_threads() == 1  # queries are timed on one thread
