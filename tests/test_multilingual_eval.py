"""The ~100-language evaluation: bootstrap intervals against hand-computed cases, paired ratios,
language groups, "not scored" languages, tokenization parity and the report files."""
import numpy as np
import pytest

from core.records import Record
from evaluation.bootstrap import concept_weights, estimate, interval, per_concept, ratio_samples, resampled_means
from evaluation.multilingual import build_queries, evaluate_multilingual, tokenization_parity
from zoo.info import ModelInfo


def test_resampled_means_by_hand():
    # concept 0: two queries, both hits; concept 1: one miss; concept 2: one hit
    sums, counts = per_concept(np.array([1.0, 1.0, 0.0, 1.0]), np.array([0, 0, 1, 2]), 3)
    assert sums.tolist() == [2.0, 0.0, 1.0] and counts.tolist() == [2.0, 1.0, 1.0]
    weights = np.array([[1, 1, 1], [2, 0, 1], [0, 3, 0], [0, 0, 3]], float)
    # (2+0+1)/(2+1+1), (4+1)/(4+1), 0/3, 3/3
    assert resampled_means(sums, counts, weights).tolist() == [0.75, 1.0, 0.0, 1.0]
    # a resample holding none of a language's queries leaves it undefined, not 0
    assert np.isnan(resampled_means(np.array([1.0, 0.0]), np.array([1.0, 0.0]), np.array([[0.0, 2.0]])))[0]


def test_weights_resample_concepts_with_replacement():
    w = concept_weights(5, n_boot=200, seed=1)
    assert w.shape == (200, 5) and (w.sum(1) == 5).all()
    assert np.array_equal(w, concept_weights(5, n_boot=200, seed=1))
    assert abs(w.mean() - 1.0) < 0.05


def test_interval_matches_the_exact_bootstrap_distribution():
    # two concepts, one hit and one miss: resample means are 0, 0.5, 1 with chances 1/4, 1/2, 1/4,
    # so the central 95% runs from 0 to 1, and the central 40% is exactly 0.5
    sums, counts = per_concept(np.array([1.0, 0.0]), np.array([0, 1]), 2)
    s = resampled_means(sums, counts, concept_weights(2, n_boot=20000, seed=0))
    assert set(np.unique(s)) == {0.0, 0.5, 1.0}
    assert abs(np.mean(s == 0.5) - 0.5) < 0.02 and abs(np.mean(s == 0.0) - 0.25) < 0.02
    assert interval(s, 0.95) == (0.0, 1.0)
    assert interval(s, 0.40) == (0.5, 0.5)
    assert estimate(0.5, s) == {"value": 0.5, "lo": 0.0, "hi": 1.0}
    assert interval(np.array([np.nan, np.nan])) != interval(np.array([np.nan, np.nan]))  # both NaN


def test_paired_ratio_cancels_shared_difficulty():
    w = concept_weights(4, n_boot=500, seed=0)
    teacher = resampled_means(*per_concept(np.array([1.0, 1.0, 0.0, 1.0]), np.arange(4), 4), w)
    half = resampled_means(*per_concept(np.array([0.5, 0.5, 0.0, 0.5]), np.arange(4), 4), w)
    r = ratio_samples(half, teacher)
    assert interval(r) == pytest.approx((0.5, 0.5))  # unpaired, this interval would be wide
    assert interval(ratio_samples(teacher, teacher)) == (1.0, 1.0)


class OneHot:
    """Images of concept i embed as e_i; a text embeds as the image it names, or as (wrong, right):
    normalize(e_wrong + 0.5 e_right), which ranks its own image second — no ties (unit vectors,
    as every encoder gives)."""

    def __init__(self, answers: dict[str, int], trained=("en",), dim: int = 4):
        self.answers, self.dim, self.info = answers, dim, ModelInfo(languages=list(trained))

    def encode_text(self, texts):
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, t in enumerate(texts):
            a = self.answers[t]
            if isinstance(a, tuple):
                out[i, a[0]], out[i, a[1]] = 1.0, 0.5
            else:
                out[i, a] = 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def encode_image(self, paths):
        return np.eye(self.dim, dtype=np.float32)[[int(p.rsplit("/", 1)[-1][0]) for p in paths]]


def _records():
    rows = []
    for i, (en, th, yo) in enumerate([("cat", "แมว", "ologbo"), ("dog", "หมา", "aja"), ("sun", "ดวงอาทิตย์", "oorun")]):
        for lang, cap in (("en", en), ("th", th), ("yo", yo)):
            rows.append(Record(f"images/{i}.png", f"emoji:{i}", "emoji", lang, cap, "test", "cldr-name"))
    rows.append(Record("images/3.png", "emoji:3", "emoji", "en", "moon", "train", "emoji"))  # not a test query
    rows.append(Record("images/0.png", "emoji:0", "emoji", "en", "pet", "test", "cldr-keyword"))  # never a query
    return rows


def test_evaluation_by_hand():
    truth = {"cat": 0, "dog": 1, "sun": 2, "แมว": 0, "หมา": 1, "ดวงอาทิตย์": 2, "ologbo": 0, "aja": 1, "oorun": 2}
    student = {**truth, "หมา": (0, 1), "ดวงอาทิตย์": (0, 2)}  # two Thai names now point at the cat first
    models = {"student": OneHot(student), "teacher": OneHot(truth)}
    rep = evaluate_multilingual(models, _records(), None, reference="teacher", n_boot=200)
    assert rep["gallery_size"] == 3 and rep["queries"] == 9 and rep["concepts"] == 3
    assert rep["languages"]["th"]["group"] == "held-out" and rep["languages"]["en"]["group"] == "trained"
    assert rep["languages"]["yo"]["group"] == "outside XLM-R"
    th = rep["per_model"]["student"]["th"]["t2i"]
    # each wrong Thai query ranks its own image 2nd, behind the cat
    assert th["R@1"]["value"] == pytest.approx(1 / 3) and th["R@5"]["value"] == 1.0
    assert th["MRR@10"]["value"] == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert rep["per_model"]["teacher"]["th"]["t2i"]["R@1"]["value"] == 1.0
    assert rep["per_model"]["student"]["th"]["i2t"]["R@1"]["value"] == 1.0  # each image still finds its name first
    assert rep["ratios"]["student"]["en"] == {"value": 1.0, "lo": 1.0, "hi": 1.0}
    assert rep["groups"]["student"]["held-out"]["languages"] == 1
    # groups carry image→text beside text→image: the members' mean, and its ratio to the reference
    for model in ("student", "teacher"):
        pm = rep["per_model"][model]
        assert rep["groups"][model]["all"]["i2t R@10"]["value"] == pytest.approx(
            np.mean([pm[lang]["i2t"]["R@10"]["value"] for lang in ("en", "th", "yo")]))
    assert rep["groups"]["student"]["all"]["i2t ratio"]["value"] == pytest.approx(
        rep["groups"]["student"]["all"]["i2t R@10"]["value"] / rep["groups"]["teacher"]["all"]["i2t R@10"]["value"])
    assert "i2t ratio" not in rep["groups"]["teacher"]["all"]  # the reference has no ratio to itself
    assert rep["worst"]["student"][0] in {"en", "th", "yo"}
    # a language with no test query is not scored: absent, never 0 or 1
    assert "fr" not in rep["per_model"]["student"]
    rep_en = evaluate_multilingual(models, _records(), None, languages=["en"], n_boot=50)
    assert list(rep_en["languages"]) == ["en"] and rep_en["reference"] is None
    with pytest.raises(ValueError, match="no test queries"):
        evaluate_multilingual(models, _records(), None, languages=["fr"])


def test_queries_exclude_keywords_and_other_splits():
    qs = build_queries(_records())
    assert "pet" not in qs.texts and "moon" not in qs.texts and len(qs.gallery) == 3


def test_tokenization_parity_against_a_trimmed_student():
    from tests.tiny import tiny_unigram
    from training.students import trim_tokenizer

    full = tiny_unigram()

    class Tower:
        def __init__(self, tok):
            self.tokenizer, self.prefix = tok, "query: "

    class Model:
        def __init__(self, tok):
            self.text = Tower(tok)

    texts = {"en": ["a cat on a mat", "the sun"]}
    keep = {i for e in full.encode_batch(["query: a cat on a mat"]) for i in e.ids}
    trimmed, _ = trim_tokenizer(full, keep)
    same = tokenization_parity(Model(full), Model(full), texts)["en"]
    assert same["parity"] == 1.0 and same["unk_rate"] == same["reference_unk_rate"]
    cut = tokenization_parity(Model(trimmed), Model(full), texts)["en"]
    assert cut["parity"] == 0.5  # the kept sentence tokenizes as before, "the sun" does not
    assert cut["pieces_per_query"] >= cut["reference_pieces_per_query"]
    assert tokenization_parity(OneHot({}), Model(full), texts) == {}


def test_report_files(tmp_path):
    from evaluation.multilingual_report import write_multilingual

    truth = {"cat": 0, "dog": 1, "sun": 2, "แมว": 0, "หมา": 1, "ดวงอาทิตย์": 2, "ologbo": 0, "aja": 1, "oorun": 2}
    rep = evaluate_multilingual({"s": OneHot({**truth, "หมา": (0, 1)}), "t": OneHot(truth)}, _records(), None,
                                reference="t", n_boot=100)
    files = write_multilingual(tmp_path, rep, "tiny")
    md = files["markdown"].read_text()
    assert "## By language group" in md and "| held-out | 1 |" in md and "s ÷ t" in md
    assert "| th | Thai | Thai | held-out | 3 |" in md
    assert files["plot"].read_bytes()[:4] == b"\x89PNG"


def test_languages_below_the_floor_by_point_and_by_interval():
    from benchmarks.multilingual import below_floor

    rep = {"ratios": {"s": {"th": {"value": 0.80, "lo": 0.70, "hi": 0.95}, "ka": {"value": 0.70, "lo": 0.60, "hi": 0.85},
                            "en": {"value": 1.00, "lo": 0.90, "hi": 1.10}}}}
    assert below_floor("s", rep) == (["ka", "th"], ["ka"])
    from benchmarks.multilingual import short_list

    assert short_list([]) == "none" and short_list(["a", "b", "c"], limit=2) == "a, b (+1 more, 3 in all)"
