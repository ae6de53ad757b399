"""CLDR display names as parallel distillation text: English-anchored concepts, no territory
names (they caption the flags), no held-out language, nothing equal to a val/test caption —
and a distillation run that mixes them with image-paired captions."""
import pytest

from corpus.display_names import KIND, SOURCE, display_name_records


def test_display_names_are_parallel_and_english_anchored():
    rows = display_name_records(["de", "ja"], log=lambda m: None)
    by_concept = {}
    for r in rows:
        by_concept.setdefault(r.concept, {})[r.language] = r.caption
    assert by_concept["display:language:de"] == {"en": "German", "de": "Deutsch", "ja": "ドイツ語"}
    assert by_concept["display:script:Cyrl"]["en"] == "Cyrillic"
    assert by_concept["display:currency:EUR"]["de"] == "Euro"
    assert by_concept["display:unit:mass-kilogram"]["de"] == "Kilogramm"
    assert all("en" in langs for langs in by_concept.values())
    assert {r.kind for r in rows} == {KIND} and {r.source for r in rows} == {SOURCE}
    assert {r.split for r in rows} == {"train"} and {r.image for r in rows} == {""}
    assert not any(c.startswith("display:territory") for c in by_concept)  # flag captions stay out


def test_held_out_languages_unknown_kinds_and_evaluated_captions_are_kept_out():
    with pytest.raises(ValueError, match="held-out languages cannot be trained on: th"):
        display_name_records(["de", "th"])
    with pytest.raises(ValueError, match="unknown display-name kinds"):
        display_name_records(["de"], what=("territory",))
    said = []
    rows = display_name_records(["de"], exclude={"deutsch", "German"}, what=("language",), log=said.append)
    captions = {r.caption for r in rows}
    assert "Deutsch" not in captions and "German" not in captions and "Französisch" in captions
    assert not any(r.concept == "display:language:de" for r in rows)  # its anchor went: the whole concept goes
    assert said and "dropped" in said[0]


def test_distillation_mixes_text_without_images(session_home, small_corpus, monkeypatch, capsys):
    from core.paths import zoo_dir
    from tests.test_distill import cli_args, tiny_teacher  # noqa: F401 - fixture
    from tests.tiny import tiny_dual_encoder
    from training.distill import run as distill
    from training.distill import step as distill_step

    tiny_dual_encoder("clip").save_pretrained(zoo_dir() / "tiny-teacher")
    seen = []
    original = distill_step.DistillBatch

    def spy(**kw):
        seen.append((len(kw["s_x"]), len(kw["v"])))
        return original(**kw)

    monkeypatch.setattr(distill_step, "DistillBatch", spy)
    args = cli_args(small_corpus, ["--loss", "dr=1,mcl=0.5", "--name", "tiny-display", "--train-sources", "emoji",
                                   "cldr", SOURCE, "--text-budget", "2000", "--epochs", "1"])
    assert distill.main(args) == 0
    assert any(0 < m < b for b, m in seen) and any(m == 0 for b, m in seen)  # mixed and text-only batches train
    assert distill.main(args[:-4] + ["--train-sources", "emoji", "wordlists"]) == 2
    assert "unknown caption source(s) wordlists" in capsys.readouterr().err
