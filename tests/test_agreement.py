"""Agreement with the teacher on the app's gallery: query kinds, galleries, top-10 overlap and
cosine against hand-computed cases; the keyword training text and the two held-out groups."""
import numpy as np
import pytest

from benchmarks.agreement import choice_score, choose
from core.languages import DEV_HELD_OUT_LANGUAGES, HELD_OUT_LANGUAGES, TEST_HELD_OUT_LANGUAGES, choosable_languages
from core.records import Record
from corpus.keyword_text import evaluated_strings, keyword_text_records
from evaluation.agreement import build_query_sets, evaluate_agreement, overlap_at_k, top_k
from evaluation.agreement_report import agreement_markdown
from evaluation.multilingual import language_groups
from zoo.info import ModelInfo

N = 12  # concepts 0-5 train, 6-11 test; one image each; names "en<i>" / "fr<i>"


class Lookup:
    """Images of concept i embed as e_i; a text as the unit vector its table names."""

    def __init__(self, table: dict[str, int]):
        self.table, self.info = table, ModelInfo(languages=["en", "fr"])

    def encode_text(self, texts):
        out = np.zeros((len(texts), N), np.float32)
        for i, t in enumerate(texts):
            if ", " in t:  # a phrase: both names
                for part in t.split(", "):
                    out[i, self.table[part]] += 1.0
            else:
                out[i, self.table[t]] = 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def encode_image(self, paths):
        return np.eye(N, dtype=np.float32)[[int(p.rsplit("/", 1)[-1].split(".")[0]) for p in paths]]


def _corpus():
    records = [Record(f"img/{i}.png", f"emoji:{i:02d}", "emoji", lang, f"{lang}{i}", "train" if i < 6 else "test", "cldr-name")
               for i in range(N) for lang in ("en", "fr")]
    keywords = [Record("img/0.png", "emoji:00", "emoji", "en", "animal", "train", "cldr-keyword"),
                Record("img/6.png", "emoji:06", "emoji", "en", "Animal", "test", "cldr-keyword"),
                Record("img/7.png", "emoji:07", "emoji", "fr", "bête", "test", "cldr-keyword"),
                Record("img/1.png", "emoji:01", "emoji", "en", "pet", "train", "cldr-keyword")]
    return records, keywords


def _teacher_table():
    return {f"{lang}{i}": i for i in range(N) for lang in ("en", "fr")} | {"animal": 0, "Animal": 6, "bête": 7, "pet": 1}


def test_query_sets_galleries_and_positives():
    records, keywords = _corpus()
    concepts, gals, sets = build_query_sets(records, keywords, "test")
    assert len(gals["app"]) == N and len(gals["test"]) == 6 and len(concepts) == 6
    names = sets["names"]
    assert len(names.language) == 12 and sorted(set(names.texts)) == sorted(f"{lang}{i}" for i in range(6, N) for lang in ("en", "fr"))
    kw = sets["keywords"]
    # "Animal" (test) and "animal" (train) are one keyword: its app-gallery positives are both concepts' images
    en = [i for i, lang in enumerate(kw.language) if lang == "en"]
    assert len(en) == 1 and kw.texts[kw.text_index[en[0]]] == "Animal"
    assert kw.positives["app"][en[0]] == {gals["app"].index("img/0.png"), gals["app"].index("img/6.png")}
    assert kw.positives["test"][en[0]] == {gals["test"].index("img/6.png")}
    assert "pet" not in kw.texts  # a train-only keyword is no test query
    ph = sets["phrases"]
    assert len(ph.language) == 6  # three pairs of six names per language
    for ti, pos in zip(ph.text_index, ph.positives["app"]):
        a, b = ph.texts[ti].split(", ")
        assert pos == {gals["app"].index(f"img/{int(a[2:])}.png"), gals["app"].index(f"img/{int(b[2:])}.png")}
        assert a[:2] == b[:2]


def test_top_k_and_overlap_by_hand():
    gallery = np.eye(4, dtype=np.float32)
    q = np.array([[0.9, 0.1, 0.3, 0.0], [0.0, 0.0, 0.2, 1.0]], np.float32)
    assert top_k(q, gallery, k=2).tolist() == [[0, 2], [3, 2]]
    a, b = np.array([[0, 1, 2], [3, 4, 5]]), np.array([[2, 1, 9], [6, 7, 8]])
    assert overlap_at_k(a, b).tolist() == pytest.approx([2 / 3, 0.0])


def test_agreement_by_hand():
    records, keywords = _corpus()
    teacher = _teacher_table()
    # the student sends every French test name to the next concept: cosine 0 with the teacher there
    student = {**teacher, **{f"fr{i}": 6 + (i - 5) % 6 for i in range(6, N)}}
    models = {"student": Lookup(student), "teacher": Lookup(teacher)}
    rep = evaluate_agreement(models, records, keywords, None, "test", reference="teacher", n_boot=200)
    assert rep["galleries"] == {"app": N, "test": 6}
    names = rep["results"]["app"]["names"]["per_language"]
    en, fr = names["student"]["en"], names["student"]["fr"]
    assert en["cosine"]["value"] == pytest.approx(1.0) and en["overlap@10"]["value"] == pytest.approx(1.0)
    assert en["ratio"]["value"] == 1.0 and en["R@1"]["value"] == 1.0
    assert fr["cosine"]["value"] == pytest.approx(0.0, abs=1e-6)
    # its own image ties with 10 other zero-score images and one image scores higher: rank 12, a miss
    assert fr["R@10"]["value"] == 0.0 and fr["ratio"]["value"] == 0.0
    # top 10 over 12 images, ties broken by index: teacher's list = own image + the 9 lowest others,
    # the student's = the next image + the 9 lowest others; they share what both lists hold
    t_top, s_top = {}, {}
    for i in range(6, N):
        j = 6 + (i - 5) % 6
        t_top[i] = [i] + [k for k in range(N) if k != i][:9]
        s_top[i] = [j] + [k for k in range(N) if k != j][:9]
    expected = np.mean([len(set(t_top[i]) & set(s_top[i])) / 10 for i in range(6, N)])
    assert fr["overlap@10"]["value"] == pytest.approx(expected)
    groups = rep["results"]["app"]["names"]["groups"]["student"]
    assert groups["all"]["cosine"]["value"] == pytest.approx(0.5) and groups["all"]["worst_overlap"]["language"] == "fr"
    assert groups["all"]["ratio"]["value"] == pytest.approx(0.5)
    # on the test images alone the same queries hold the same cosine
    assert rep["results"]["test"]["names"]["per_language"]["student"]["fr"]["cosine"]["value"] == pytest.approx(0.0, abs=1e-6)
    text = "\n".join(agreement_markdown(rep, "student"))
    assert "keywords on the app's gallery" in text and "| fr | fr |" not in text
    with pytest.raises(ValueError, match="unknown query kind"):
        evaluate_agreement(models, records, keywords, None, kinds=("words",))


def test_held_out_groups():
    assert len(DEV_HELD_OUT_LANGUAGES) == 6 and not set(DEV_HELD_OUT_LANGUAGES) & set(TEST_HELD_OUT_LANGUAGES)
    assert set(HELD_OUT_LANGUAGES) == set(DEV_HELD_OUT_LANGUAGES) | set(TEST_HELD_OUT_LANGUAGES)
    groups = language_groups(["en", "gu", "th", "fr"], trained={"en"})
    assert groups == {"en": "trained", "gu": "dev held-out", "th": "held-out", "fr": "untrained"}
    assert choosable_languages(["en", "gu", "th", "sw"]) == ["en", "gu"]


def test_a_choice_cannot_see_the_test_held_out_group():
    def report(values: dict[str, float]) -> dict:
        per_lang = {lang: {"overlap@10": {"value": v}} for lang, v in values.items()}
        return {"results": {"app": {"keywords": {"per_language": {"s": per_lang}}}}}

    a = report({"en": 0.6, "gu": 0.5, "th": 0.1, "sw": 0.1})
    b = report({"en": 0.5, "gu": 0.5, "th": 0.9, "sw": 0.9})  # better only where nobody may look
    assert choice_score(a, "s") == pytest.approx(0.55) and choice_score(b, "s") == pytest.approx(0.5)
    assert choose({"s": a}) == "s"
    reports = {"a": {"results": {"app": {"keywords": {"per_language": {"a": a["results"]["app"]["keywords"]["per_language"]["s"]}}}}},
               "b": {"results": {"app": {"keywords": {"per_language": {"b": b["results"]["app"]["keywords"]["per_language"]["s"]}}}}}}
    assert choose(reports) == "a"


def test_keyword_training_text_keeps_evaluated_strings_out():
    records, keywords = _corpus()
    banned = evaluated_strings(records, keywords)
    assert {"animal", "bête", "en6"} <= banned and "pet" not in banned
    rows = keyword_text_records([k for k in keywords if k.split == "train"], 10, banned, log=lambda m: None)
    # "animal" is a train keyword, but also (case-folded) a test keyword: evaluated, never trained on
    assert [(r.caption, r.concept, r.source, r.image) for r in rows] == [("pet", "words:kw0", "cldr-keyword", "")]
    with pytest.raises(ValueError, match="held-out"):
        keyword_text_records([Record("img/0.png", "emoji:00", "emoji", "th", "แมว", "train", "cldr-keyword")], 5)
    with pytest.raises(ValueError, match="at least 1"):
        keyword_text_records([], 0)


def test_the_vocabulary_fill_is_chosen_on_the_dev_group_only():
    from benchmarks.embedding_tail import choose_fill, fill_recipe
    from training.students import RECIPES

    langs = {"en": "trained", "gu": "dev held-out", "ta": "dev held-out", "th": "held-out"}
    rep = {"languages": {lang: {"group": g} for lang, g in langs.items()},
           "ratios": {"script:1000": {"en": {"value": 0.9}, "gu": {"value": 0.90}, "ta": {"value": 0.90}, "th": {"value": 0.5}},
                      "used": {"en": {"value": 0.9}, "gu": {"value": 0.80}, "ta": {"value": 0.80}, "th": {"value": 1.0}},
                      "script:0": {"en": {"value": 0.9}, "gu": {"value": 0.905}, "ta": {"value": 0.905}, "th": {"value": 0.2}}}}
    chosen, scores = choose_fill(rep, ["script:1000", "used", "script:0"], "script:1000")
    assert scores == pytest.approx({"script:1000": 0.90, "used": 0.80, "script:0": 0.905})
    assert chosen == "script:1000"  # better only on Thai (test group) or by less than 0.01: the recipe's fill stays
    rep["ratios"]["used"].update({"gu": {"value": 0.99}, "ta": {"value": 0.95}})
    assert choose_fill(rep, ["script:1000", "used"], "script:1000")[0] == "used"
    assert fill_recipe(RECIPES["half"], "used").vocab_fill == "" and fill_recipe(RECIPES["half"], "script:0").script_floor == 0
    with pytest.raises(ValueError, match="unknown fill"):
        fill_recipe(RECIPES["half"], "floor")
