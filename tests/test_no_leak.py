"""Nothing derived from test text shapes a model, and held-out languages reach no training input.

The leak test distills the same tiny teacher on copies of a small corpus that differ in their
Spanish test captions: vocabulary and weights must be bit-identical. A third copy changes the
Spanish *train* captions instead, which must change the student — so the test can fail.
"""
import shutil
from pathlib import Path

import pytest

from core.languages import HELD_OUT_LANGUAGES
from core.records import read_manifest, write_manifest
from tests.tiny import tiny_dual_encoder


def _distill(home: Path, corpus: Path, monkeypatch) -> Path:
    from core.paths import zoo_dir
    from training.distill.run import main

    monkeypatch.setenv("LINGUALENS_HOME", str(home))
    tiny_dual_encoder("clip").save_pretrained(zoo_dir() / "tiny-teacher")
    args = ["--teacher", "tiny-teacher", "--recipe", "custom", "--layers", "1", "--vocab-words", "30",
            "--languages", "en", "es", "ja", "--eval-languages", "en", "es", "--corpus", str(corpus),
            "--epochs", "1", "--batch-size", "8", "--passes-per-epoch", "1", "--no-freeze-embeddings",
            "--loss", "fd", "--name", "leak-probe", "--no-progress"]
    assert main(args) == 0
    return zoo_dir() / "leak-probe"


def _edit_captions(corpus: Path, split: str, word: str) -> int:
    """Rewrite every Spanish emoji caption of one split; returns how many were changed."""
    recs = read_manifest(corpus / "manifest.jsonl")
    hits = [i for i, r in enumerate(recs) if r.split == split and r.language == "es" and r.kind == "emoji"]
    for i in hits:
        recs[i] = type(recs[i])(**{**recs[i].__dict__, "caption": f"{word} {recs[i].caption}"})
    write_manifest(corpus / "manifest.jsonl", recs)
    return len(hits)


def held_out_only_texts(corpus: Path) -> set[str]:
    """Captions that exist only in held-out languages (a shared string such as "taxi" proves nothing)."""
    from corpus.corpus import load_corpus

    records = load_corpus(corpus)
    return {r.caption for r in records if r.language in HELD_OUT_LANGUAGES} - \
        {r.caption for r in records if r.language not in HELD_OUT_LANGUAGES}


def _student_bytes(ckpt: Path) -> tuple[bytes, bytes]:
    return (ckpt / "tokenizer.json").read_bytes(), (ckpt / "model.safetensors").read_bytes()


@pytest.mark.timeout(600)
def test_changing_test_captions_changes_nothing_train_captions_do(small_corpus, tmp_path, monkeypatch):
    corpora = {}
    for name in ("base", "test-edit", "train-edit"):
        corpora[name] = tmp_path / name / "corpus"
        shutil.copytree(small_corpus, corpora[name])
    assert _edit_captions(corpora["test-edit"], "test", "misterioso") > 0
    assert _edit_captions(corpora["train-edit"], "train", "misterioso") > 0
    students = {name: _student_bytes(_distill(tmp_path / name / "home", corpus, monkeypatch))
                for name, corpus in corpora.items()}
    assert students["test-edit"] == students["base"], "a test caption shaped the student"
    assert students["train-edit"] != students["base"], "the probe cannot see a change in training text"


def test_training_view_drops_held_out_languages(small_corpus):
    from corpus.corpus import load_corpus
    from training.selection import training_texts, training_view

    records = load_corpus(small_corpus)
    assert {r.language for r in records} & set(HELD_OUT_LANGUAGES), "the corpus itself holds them"
    view = training_view(records)
    assert not {r.language for r in view} & set(HELD_OUT_LANGUAGES)
    assert {r.source for r in view} == {"emoji", "cldr", "lingualens"}
    texts = training_texts(view)
    assert {r.split for r in view if r.caption in texts and r.kind != "photo"} >= {"train"}
    held_only = held_out_only_texts(small_corpus)
    assert held_only and not held_only & set(texts)
    with pytest.raises(ValueError, match="held-out languages cannot be trained on: th"):
        training_view(records, languages=["th", "es"])


def test_held_out_languages_reach_no_training_input(small_corpus, session_home, monkeypatch):
    """Every input of a teacher's heads and of a student: feature caches, batches, vocabulary."""
    import training.embedded as embedded
    import training.students as students
    from core.paths import zoo_dir
    from training.distill.config import DistillConfig
    from training.distill.data import prepare_data

    held_only = held_out_only_texts(small_corpus)
    assert held_only
    seen: list[str] = []

    def fake_features(key, items, compute, batch_size, desc, progress=True):
        import numpy as np

        seen.extend(items)
        return np.zeros((len(items), 8), np.float32)

    monkeypatch.setattr(embedded, "cached_features", fake_features)
    monkeypatch.setattr(embedded, "e5_small_text_tower", lambda: None)
    monkeypatch.setattr(embedded, "efficientnet_lite0_tower", lambda: None)
    monkeypatch.setattr(embedded, "image_backbone_features", lambda tower, root: None)
    monkeypatch.setattr(embedded, "flatness_features",
                        lambda tower, images, root, key, progress=True: fake_features(key, images, None, 16, ""))
    feats = embedded.load_embedded_features(small_corpus, progress=False)
    assert seen and not held_only & set(seen)
    assert not {r.language for r in feats.records} & set(HELD_OUT_LANGUAGES)

    tiny_dual_encoder("clip").save_pretrained(zoo_dir() / "tiny-teacher")
    from zoo import load_model

    data = prepare_data(load_model("tiny-teacher"), DistillConfig(teacher="tiny-teacher", corpus=str(small_corpus)),
                        progress=False)
    assert not held_only & set(data.texts)
    assert not {r.language for r in data.records} & set(HELD_OUT_LANGUAGES)
    asked: list[str] = []
    monkeypatch.setattr("wordfreq.top_n_list", lambda lang, n: asked.append(lang) or [])
    students.vocabulary_texts({r.language for r in data.records if r.split == "train"}, 10, data.texts)
    assert asked and not set(asked) & set(HELD_OUT_LANGUAGES) and not {"nb"} & set(HELD_OUT_LANGUAGES)


def test_text_budget_keeps_english_anchors_and_says_when_it_is_too_big():
    from core.records import Record
    from training.selection import cap_training_text

    rows = [Record(f"i{c}.png", f"c{c}", "emoji", lang, f"{lang}-{c}", "train", "emoji")
            for c in range(10) for lang in ("en", "es", "ja")]
    rows.append(Record("t.png", "t", "emoji", "es", "es-test", "test", "emoji"))
    capped = cap_training_text(rows, 15, seed=1)
    train_caps = {r.caption for r in capped if r.split == "train"}
    assert len(train_caps) == 15 and {f"en-{c}" for c in range(10)} <= train_caps
    assert any(r.caption == "es-test" for r in capped)  # other splits untouched
    assert cap_training_text(rows, 15, seed=1) == capped  # seeded
    said = []
    assert cap_training_text(rows, 1000, log=said.append) == rows
    assert said == ["text budget 1,000 is more than the 30 training captions there are: using all of them"]
    with pytest.raises(ValueError, match="below the 10 English anchor captions"):
        cap_training_text(rows, 5)
