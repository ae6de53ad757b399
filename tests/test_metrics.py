"""Every metric on toy cases whose answers are worked out by hand in the comments."""
import numpy as np
import pytest

from core.records import Record
from evaluation.consistency import clustering_ami, overlap_at_k, translation_cosine
from evaluation.retrieval import first_hit_ranks, retrieval_metrics
from evaluation.suite import evaluate
from evaluation.vqa import QUESTIONS, build_items, vqa_accuracy

G = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], np.float32)


def test_recall_and_mrr_by_hand():
    q = np.array([[1.0, 0.0], [0.0, 1.0], [0.8, 0.6]], np.float32)
    # q0: sims (1, 0, .6)   -> positive g0 at rank 1
    # q1: sims (0, 1, .8)   -> positive g2 at rank 2
    # q2: sims (.8, .6, .96) -> order g2, g0, g1 -> positive g1 at rank 3
    m = retrieval_metrics(q, G, [{0}, {2}, {1}], ks=(1, 2, 10))
    assert m["R@1"] == pytest.approx(1 / 3)
    assert m["R@2"] == pytest.approx(2 / 3)
    assert m["R@10"] == pytest.approx(1.0)  # gallery of 3 < k: R@k over the available items
    assert m["MRR@10"] == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    assert (m["queries"], m["gallery"]) == (3, 3)


def test_multiple_positives_count_the_first_hit():
    q = np.array([[0.8, 0.6]], np.float32)  # order g2, g0, g1
    assert retrieval_metrics(q, G, [{0, 1}], ks=(1, 2))["R@2"] == 1.0  # g0 at rank 2
    assert retrieval_metrics(q, G, [{0, 1}], ks=(1, 2))["MRR@10"] == pytest.approx(0.5)


def test_ties_count_against_the_model_wherever_the_positive_sits():
    # g0, g1 and g3 are the same image; a query on it ties all three at similarity 1
    g = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], np.float32)
    q = np.array([[1.0, 0.0]] * 3, np.float32)
    # a single positive among three tied items ranks below both tied negatives: rank 3, at any index
    assert first_hit_ranks(q, g, [{0}, {1}, {3}]).tolist() == [3.0, 3.0, 3.0]
    # every tied item a positive: rank 1; one tied negative left: rank 2
    assert first_hit_ranks(q[:2], g, [{0, 1, 3}, {1, 3}]).tolist() == [1.0, 2.0]
    m = retrieval_metrics(q, g, [{0}, {1}, {3}], ks=(1, 2, 3))
    assert (m["R@1"], m["R@2"], m["R@3"], m["MRR@10"]) == (0.0, 0.0, 1.0, pytest.approx(1 / 3))


def test_an_imperfect_model_beyond_the_mrr_depth_scores_zero():
    # 12 gallery items at decreasing similarity; the positive is the 12th: outside top 10
    angles = np.linspace(0.0, 1.2, 12)
    g = np.stack([np.cos(angles), np.sin(angles)], 1).astype(np.float32)
    q = np.array([[1.0, 0.0]], np.float32)
    assert first_hit_ranks(q, g, [{11}]).tolist() == [np.inf]
    m = retrieval_metrics(q, g, [{11}], ks=(1, 5, 10))
    assert (m["R@10"], m["MRR@10"]) == (0.0, 0.0)
    assert retrieval_metrics(q, g, [{4}], ks=(1, 5, 10))["MRR@10"] == pytest.approx(1 / 5)


def test_dimension_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="query embeddings are 3-d but the gallery's are 2-d"):
        retrieval_metrics(np.ones((1, 3), np.float32), G, [{0}])


def test_translation_cosine_by_hand():
    e = np.eye(2, dtype=np.float32)
    # paired cos = 1 for both; with n = 2 the only non-matching partner is the other row: cos 0
    assert translation_cosine(e, e) == {"translation_cos": 1.0, "random_cos": 0.0, "gap": 1.0, "pairs": 2}


def test_overlap_at_k_by_hand():
    a, b = np.array([[1.0, 0.0]], np.float32), np.array([[0.0, 1.0]], np.float32)
    assert overlap_at_k(a, b, G, k=1) == 0.0  # top-1: g0 vs g1
    assert overlap_at_k(a, b, G, k=2) == 0.5  # {g0, g2} vs {g1, g2}
    assert overlap_at_k(a, b, G, k=3) == 1.0


def test_clustering_by_concept_not_language():
    rng = np.random.default_rng(0)
    centres = np.eye(3) * 10
    emb = np.stack([centres[c] + rng.normal(0, 0.01, 3) for c in range(3) for _ in range(3)])
    concepts = [f"c{c}" for c in range(3) for _ in range(3)]
    langs = ["en", "fr", "ja"] * 3
    m = clustering_ami(emb, concepts, langs)
    assert m["ami_concept"] == pytest.approx(1.0)
    assert m["ami_language"] < 0.1 and m["k"] == 3


def _toy_records():
    recs = []
    for i, (en, es) in enumerate([("cat", "gato"), ("dog", "perro"), ("fish", "pez"), ("bird", "pájaro"), ("cow", "vaca")]):
        img = f"img{i}.png"
        recs += [Record(img, f"photo:{en}", "photo", "en", en, "ood", "lingualens"),
                 Record(img, f"photo:{en}", "photo", "es", es, "ood", "lingualens")]
        recs += [Record(f"e{i}.png", f"emoji:{i}", "emoji", lang, f"{w} emoji", "test", "emoji")
                 for lang, w in (("en", en), ("es", es))]
    return recs


class Oracle:
    """Embeds every caption and image at its concept's one-hot vector: a perfect model."""

    def __init__(self, records, wrong_language=None):
        self.concepts = sorted({r.concept for r in records})
        self.of_text = {r.caption: r.concept for r in records}
        self.of_image = {r.image: r.concept for r in records}
        self.wrong_language = wrong_language

    def _vec(self, concept):
        v = np.zeros(len(self.concepts), np.float32)
        v[self.concepts.index(concept)] = 1
        return v

    def encode_text(self, texts):
        out = []
        for t in texts:
            answer = next((c for cap, c in self.of_text.items() if t.endswith(" " + cap) or t == cap), None)
            out.append(self._vec(answer))
        return np.stack(out)

    def encode_image(self, images):
        return np.stack([self._vec(self.of_image[str(p).split("/")[-1]]) for p in images])


def test_vqa_items_and_accuracy():
    recs = _toy_records()
    items = build_items(recs, "photo", split="test", n_wrong=3)
    assert {i.language for i in items} == {"en", "es"} and len(items) == 10
    for it in items:
        assert len(it.options) == 4 and len(set(it.options)) == 4
        assert all(o.startswith(QUESTIONS["photo"][it.language]) for o in it.options)
    oracle = Oracle(recs)
    texts = {o: v for it in items for o, v in zip(it.options, oracle.encode_text(list(it.options)))}
    imgs = {it.image: oracle.encode_image([it.image])[0] for it in items}
    acc = vqa_accuracy(items, texts, imgs)
    assert acc["en"] == {"accuracy": 1.0, "questions": 5, "chance": 0.25}


def test_suite_on_a_perfect_model_and_a_missing_language():
    recs = _toy_records()
    report = evaluate(Oracle(recs), recs, None, split="test", languages=["en", "es", "sw"], kinds=("emoji",),
                      with_clustering=False)
    ret = report["retrieval"]["emoji"]
    assert ret["skipped_languages"] == ["sw"]  # no captions: listed, not divided by zero
    assert ret["t2i"]["en"]["R@1"] == 1.0 and ret["i2t"]["es"]["R@1"] == 1.0
    assert report["consistency"]["emoji"]["per_language"]["es"]["translation_cos"] == 1.0
    assert report["summary"]["emoji_t2i_R@10_mean14"] == 1.0
    assert report["vqa"]["photo"]["es"]["accuracy"] == 1.0
