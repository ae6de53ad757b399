"""wordfreq's frequent words as distillation text: grouped by frequency rank, each word its own
anchor, no held-out language, nothing equal to a corpus caption — and a distillation run in
which the word rows are anchored to themselves, not to an English word of the same rank."""
import pytest
import torch

from corpus.word_lists import CONCEPT_PREFIX, SOURCE, self_anchored, word_list_records, wordfreq_code


def test_words_are_grouped_by_rank_in_each_language_wordfreq_has():
    import wordfreq

    said = []
    rows = word_list_records(["de", "no", "yo"], per_language=5, log=said.append)
    assert [r.caption for r in rows if r.language == "de"] == wordfreq.top_n_list("de", 5)
    assert [r.caption for r in rows if r.language == "no"] == wordfreq.top_n_list("nb", 5)  # our 'no' is its 'nb'
    assert not any(r.language == "yo" for r in rows)  # wordfreq has no Yoruba list
    assert [r.concept for r in rows if r.language == "de"] == [f"{CONCEPT_PREFIX}{k}" for k in range(5)]
    assert all(self_anchored(r.concept) for r in rows) and not self_anchored("emoji:1F408")
    assert {r.source for r in rows} == {SOURCE} and {r.split for r in rows} == {"train"} and {r.image for r in rows} == {""}
    assert said == ["word lists: 10 words in 2 of 3 languages (5 per language; dropped 0 equal to a corpus caption)"]
    assert wordfreq_code("tl") == "fil" and wordfreq_code("th") is None  # our Tagalog is its Filipino


def test_held_out_languages_bad_sizes_and_corpus_captions_are_kept_out():
    with pytest.raises(ValueError, match="held-out languages cannot be trained on: sw, th"):
        word_list_records(["de", "th", "sw"])
    with pytest.raises(ValueError, match="at least 1"):
        word_list_records(["de"], per_language=0)
    said = []
    rows = word_list_records(["de"], per_language=20, exclude={"DIE", "und"}, log=said.append)
    captions = {r.caption for r in rows}
    assert "die" not in captions and "und" not in captions and "der" in captions and len(rows) == 18
    assert "dropped 2" in said[0]


def test_word_rows_are_their_own_anchors_in_a_distillation_run(session_home, small_corpus, monkeypatch):
    from core.paths import zoo_dir
    from tests.test_distill import cli_args
    from tests.tiny import record_distill_batches, tiny_dual_encoder
    from training.distill import run as distill

    tiny_dual_encoder("clip").save_pretrained(zoo_dir() / "tiny-teacher")
    seen = record_distill_batches(monkeypatch)
    args = cli_args(small_corpus, ["--loss", "dr=1,ed=0.5", "--name", "tiny-words", "--train-sources", "emoji",
                                   SOURCE, "--words-per-language", "30", "--epochs", "1"])
    assert distill.main(args) == 0
    text_only = [(t_x[m:], t_e[m:]) for m, t_x, t_e in seen if m < len(t_x)]
    assert text_only, "no batch held a word row"
    for t_x, t_e in text_only:  # a word's anchor is the word itself
        assert torch.equal(t_x, t_e)
    paired = [(t_x[:m], t_e[:m]) for m, t_x, t_e in seen if m]
    assert any(not torch.equal(t_x, t_e) for t_x, t_e in paired)  # image captions keep their English anchors
