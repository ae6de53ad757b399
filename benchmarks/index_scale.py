"""python -m benchmarks.index_scale — exact, HNSW, IVF-PQ and IVF-Flat galleries of 10k, 100k and 1M images.

Vectors: REAL_N real image-tower embeddings of the default teacher — augmented renders of the
corpus images (random crop, flip, colour jitter, rotation), embedded once and cached. Larger
galleries are partly SYNTHETIC: each further vector is a real one plus Gaussian noise
(per-dimension std NOISE x the real vectors' own), re-normalised; so the neighbourhood
structure is real-like but not real, and the report says so. Queries: the teacher's text
embeddings of test captions in every language (real). Per size and index: build time (all
cores), index memory (serialised size), query latency at batch 1 on 1 thread (p50 / p99), and
recall@10 against exact search. Writes results/index_scale.{md,json}.
"""
from __future__ import annotations

import argparse
import random
import sys
import time

import numpy as np

from core.constants import teacher_name
from core.feature_cache import cached_features
from corpus.corpus import default_corpus_path, load_corpus
from zoo import load_model

from .common import machine, table, write_results

SIZES = (10_000, 100_000, 1_000_000)
KINDS = ("exact", "hnsw", "ivfpq", "ivfflat")
REAL_N = 10_000
NOISE = 0.35
QUERIES = 500
K = 10
HNSW_M, HNSW_EF_SEARCH = 32, (64, 256, 1024)
PQ_DIMS_PER_CODE, IVF_NPROBE = 4, (16, 64, 256)  # 256-d: 64 one-byte codes per vector


def augmented(paths: list[str], seed: int = 0):
    """Render i: an augmented view of corpus image i mod len(paths), reproducibly (seeded by i)."""
    import torch
    from PIL import Image
    from torchvision import transforms

    aug = transforms.Compose([transforms.RandomResizedCrop(224, scale=(0.35, 1.0)), transforms.RandomHorizontalFlip(),
                              transforms.ColorJitter(0.4, 0.4, 0.4, 0.05), transforms.RandomRotation(15)])

    def render(i: int):
        torch.manual_seed(seed * 1_000_003 + i)
        with Image.open(paths[i % len(paths)]) as im:
            return aug(im.convert("RGB"))
    return render


def real_vectors(model, n: int) -> np.ndarray:
    root = default_corpus_path()
    paths = sorted({str(root / r.image) for r in load_corpus(root) if r.split == "train"})
    render = augmented(paths)
    return cached_features(f"index-scale-{model.name}", [str(i) for i in range(n)],
                           lambda batch: model.encode_image([render(int(i)) for i in batch]), 64,
                           f"{n} augmented renders", True)


def grow(real: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    if n <= len(real):
        return real[:n]
    rng = np.random.default_rng(seed)
    extra = real[rng.integers(0, len(real), n - len(real))]
    extra += rng.standard_normal(extra.shape, dtype=np.float32) * (NOISE * real.std(axis=0))
    extra /= np.linalg.norm(extra, axis=1, keepdims=True)
    return np.concatenate([real, extra])


def query_vectors(model) -> np.ndarray:
    root = default_corpus_path()
    captions = sorted({r.caption for r in load_corpus(root) if r.split == "test"})
    random.Random(0).shuffle(captions)
    return np.ascontiguousarray(model.encode_text(captions[:QUERIES]), dtype=np.float32)


def make_index(kind: str, dim: int, n: int):
    import faiss

    if kind == "exact":
        return faiss.IndexFlatIP(dim)
    if kind == "hnsw":
        return faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    nlist = int(4 * np.sqrt(n))
    if kind == "ivfflat":
        return faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    return faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, nlist, dim // PQ_DIMS_PER_CODE, 8, faiss.METRIC_INNER_PRODUCT)


def search_settings(kind: str, index) -> list[tuple[str, callable]]:
    """The knob each kind trades recall for speed with, at the values swept (exact has none)."""
    if kind == "hnsw":
        return [(f"efSearch={ef}", lambda ef=ef: setattr(index.hnsw, "efSearch", ef)) for ef in HNSW_EF_SEARCH]
    if kind in ("ivfpq", "ivfflat"):
        return [(f"nprobe={p}", lambda p=p: setattr(index, "nprobe", p)) for p in IVF_NPROBE]
    return [("", lambda: None)]


def measure(kind: str, data: np.ndarray, queries: np.ndarray, truth: np.ndarray, threads: int) -> list[dict]:
    """Build once (`threads` threads), then per search setting: latency at batch 1 on 1 thread and recall@10."""
    import faiss

    faiss.omp_set_num_threads(threads)
    index = make_index(kind, data.shape[1], len(data))
    start = time.perf_counter()
    if not index.is_trained:
        # 64 training points per list: faiss accepts ≥ 39, and k-means on all of 1M would take most of an hour here
        index.train(data[np.random.default_rng(1).permutation(len(data))[:min(len(data), 64 * index.nlist)]])
    index.add(data)
    build_s = time.perf_counter() - start
    memory = len(faiss.serialize_index(index))
    faiss.omp_set_num_threads(1)
    rows = []
    for setting, apply in search_settings(kind, index):
        apply()
        lat, found = [], []
        for q in queries:
            t = time.perf_counter()
            _, ids = index.search(q[None], K)
            lat.append(1000 * (time.perf_counter() - t))
            found.append(ids[0])
        recall = float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth)]))
        rows.append({"index": kind, "setting": setting, "n": len(data), "build_s": round(build_s, 1),
                     "memory_mb": round(memory / 1e6, 1), "p50_ms": round(float(np.percentile(lat, 50)), 3),
                     "p99_ms": round(float(np.percentile(lat, 99)), 3), "recall@10": round(recall, 4)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.index_scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=teacher_name("clip"))
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--threads", type=int, default=2, help="for building; queries always use 1")
    args = parser.parse_args(argv)
    import faiss

    model = load_model(args.model)
    model.name = args.model
    real = real_vectors(model, REAL_N)
    queries = query_vectors(model)
    rows = []
    for n in args.sizes:
        data = grow(real, n)
        faiss.omp_set_num_threads(args.threads)
        exact = faiss.IndexFlatIP(data.shape[1])
        exact.add(data)
        truth = exact.search(queries, K)[1]
        for kind in KINDS:
            rows += measure(kind, data, queries, truth, args.threads)
            print(*[r for r in rows if r["index"] == kind and r["n"] == n], sep="\n", flush=True)
        del data, exact
    m = machine()
    md = ["# Gallery indexes from 10k to 1M images", "",
          f"Model `{args.model}` ({real.shape[1]}-d). {m['cores']} cores ({m['cpu']}), faiss {faiss.__version__}. "
          f"The first {REAL_N:,} vectors are real: augmented renders of the corpus images through the teacher's image "
          f"tower. **Beyond {REAL_N:,} the vectors are synthetic**: a real vector plus Gaussian noise "
          f"({NOISE} x each dimension's std), re-normalised. Queries: {QUERIES} real test captions in every language "
          f"(the teacher's text tower). Latency: batch 1, 1 thread; build: {args.threads} threads; memory: the "
          f"serialised index. HNSW: M={HNSW_M}, efConstruction 40. IVF-PQ: 4·√n lists, one 8-bit code "
          f"per {PQ_DIMS_PER_CODE} dimensions; IVF-Flat: the same lists, full vectors. Each approximate index is built once and searched at "
          "several settings of its speed/recall knob.", ""]
    md += table(["gallery", "index", "search setting", "build s", "memory MB", "query p50 ms", "query p99 ms",
                 "recall@10 vs exact"],
                [[f"{r['n']:,}", r["index"], r["setting"] or "—", r["build_s"], r["memory_mb"], r["p50_ms"], r["p99_ms"],
                  r["recall@10"]] for r in rows])
    md += ["", "Goal for 1M: p50 ≤ 10 ms with recall@10 ≥ 0.95 in ≤ 1.5 GB.", "",
           "Reproduce: `python -m benchmarks.index_scale`."]
    path = write_results("index_scale", {"machine": m, "model": args.model, "rows": rows, "real": REAL_N,
                                         "noise": NOISE, "queries": QUERIES}, "\n".join(md) + "\n")
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
