"""Cross-lingual consistency: do translations land together, retrieve alike, and cluster by meaning?"""
from __future__ import annotations

import numpy as np

from core.index import GalleryIndex


def translation_cosine(lang: np.ndarray, english: np.ndarray, seed: int = 0) -> dict[str, float]:
    """Row i of `lang` translates row i of `english`. Compare with a random non-matching pair."""
    n = len(lang)
    if n < 2:
        return {"translation_cos": float("nan"), "random_cos": float("nan"), "gap": float("nan"), "pairs": n}
    paired = (lang * english).sum(1)
    rng = np.random.default_rng(seed)
    shift = rng.integers(1, n, size=n)  # j = i + shift (mod n) is never i
    random = (lang * english[(np.arange(n) + shift) % n]).sum(1)
    return {"translation_cos": float(paired.mean()), "random_cos": float(random.mean()),
            "gap": float(paired.mean() - random.mean()), "pairs": n}


def overlap_at_k(lang: np.ndarray, english: np.ndarray, gallery: np.ndarray, k: int = 10) -> float:
    """Mean fraction of the top-k images shared by a caption and its English twin."""
    if len(lang) == 0:
        return float("nan")
    index = GalleryIndex(gallery.shape[1], exact=True)
    index.add(gallery)
    _, a = index.search(lang, k)
    _, b = index.search(english, k)
    kk = a.shape[1]
    return float(np.mean([len(set(x) & set(y)) / kk for x, y in zip(a, b)])) if kk else float("nan")


def clustering_ami(embeddings: np.ndarray, concepts: list[str], languages: list[str], seed: int = 0) -> dict[str, float]:
    """k-means with k = number of concepts; AMI against concept labels (high is good) and
    against language labels (high means the space is organised by language: bad)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_mutual_info_score

    k = len(set(concepts))
    if k < 2 or len(embeddings) <= k:
        return {"ami_concept": float("nan"), "ami_language": float("nan"), "k": k}
    labels = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(embeddings)
    return {"ami_concept": float(adjusted_mutual_info_score(concepts, labels)),
            "ami_language": float(adjusted_mutual_info_score(languages, labels)), "k": k}
