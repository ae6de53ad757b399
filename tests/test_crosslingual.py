"""Cross-lingual consistency in every language: translation cosine gap, top-10 overlap with the English
twin, and clustering, against hand-computed cases; paired differences between two models."""
import numpy as np
import pytest

from core.records import Record
from evaluation.crosslingual import derangement, english_twins, evaluate_crosslingual
from tests.test_agreement import Lookup, N, _corpus


def _faithful():
    """fr names land exactly on their English twin (the Lookup used by the agreement tests)."""
    return Lookup({f"{lang}{i}": i for i in range(N) for lang in ("en", "fr")})


def _scrambled():
    """fr names land on the *next* concept's direction: no translation lands beside its twin."""
    return Lookup({**{f"en{i}": i for i in range(N)}, **{f"fr{i}": (i + 1) % N for i in range(N)}})


def test_twins_and_derangement():
    texts = ["en6", "fr6", "en7", "fr7"]
    assert english_twins(texts, np.array(["en", "fr", "en", "fr"]), np.array([0, 1, 2, 3]), np.array([6, 6, 7, 7])) == {6: 0, 7: 2}
    concepts = np.array([6, 7, 8, 6, 7, 8, 9])
    other = derangement(concepts, seed=3)
    assert (other != concepts).all() and set(other) <= set(concepts)
    assert (derangement(np.array([5, 5]), 0) == -1).all()  # one concept: nothing to compare with


def test_consistency_by_hand():
    records, _ = _corpus()
    rep = evaluate_crosslingual({"faithful": _faithful(), "scrambled": _scrambled()}, records, None, "test",
                                reference="faithful", n_boot=200, ami_languages=5, trained_languages=["en", "fr"])
    assert list(rep["per_language"]["faithful"]) == ["fr"]  # English is the twin, not a query language
    f, s = rep["per_language"]["faithful"]["fr"], rep["per_language"]["scrambled"]["fr"]
    assert f["queries"] == 6
    # one-hot embeddings: a twin has cosine 1, any other concept 0, so the gap is 1 ...
    assert f["translation_cos"]["value"] == 1.0 and f["random_cos"]["value"] == 0.0 and f["gap"]["value"] == 1.0
    # ... and the top 10 of 12 images of e_i and e_i are the same; of e_(i+1) and e_i, 9 of 10 (the ties at 0
    # rank by index, so each list holds its own image plus the 9 lowest-index others)
    assert f["en_overlap@10"]["value"] == 1.0
    assert s["translation_cos"]["value"] == 0.0
    # scrambled: fr_i's random partner is some en_j, j != i; it scores 1 exactly when j = i + 1
    assert 0.0 <= s["random_cos"]["value"] <= 1.0 and s["gap"]["value"] == -s["random_cos"]["value"]
    want_overlap = np.mean([len(set(np.argsort(-np.eye(N)[(i + 1) % N], kind="stable")[:10])
                                & set(np.argsort(-np.eye(N)[i], kind="stable")[:10])) / 10 for i in range(6, N)])
    assert s["en_overlap@10"]["value"] == pytest.approx(want_overlap)
    g = rep["groups"]["scrambled"]["all"]
    assert g["languages"] == 1 and g["gap"]["value"] == s["gap"]["value"]
    diff = g["gap vs reference"]
    assert diff["value"] == pytest.approx(s["gap"]["value"] - 1.0) and diff["lo"] <= diff["value"] <= diff["hi"]
    assert "gap vs reference" not in rep["groups"]["faithful"]["all"]
    # clustering of fr names with their English twins: faithful puts fr_i on en_i, so the clusters are the
    # concepts and say nothing of the language; scrambled pairs fr_i with en_(i+1), mixing concepts
    faithful, scrambled = rep["groups"]["faithful"]["all"]["clustering"], rep["groups"]["scrambled"]["all"]["clustering"]
    assert faithful["ami_concept"] == pytest.approx(1.0) and faithful["ami_language"] <= 0.0  # chance-adjusted
    assert scrambled["ami_concept"] < 0.9


def test_languages_without_an_english_twin_are_refused():
    records = [Record("img/6.png", "emoji:06", "emoji", "fr", "fr6", "test", "cldr-name")]
    with pytest.raises(ValueError, match="no test names with an English twin"):
        evaluate_crosslingual({"m": _faithful()}, records, None, "test", trained_languages=["fr"])
