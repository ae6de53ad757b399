"""One small end-to-end run: corpus -> cached features -> aligned teacher -> zoo -> reports -> reload."""
import json

import numpy as np
import pytest

from training.teachers import TeacherConfig, build_teacher
from training.trainer import TrainConfig

LANGS = ("en", "es", "ja", "ru")


@pytest.fixture(scope="module")
def small_teacher(session_home):
    """200 emoji + 200 flags: enough held-out concepts (≈20 per kind) that chance is low and a
    learned alignment can show, still seconds to render and embed."""
    from corpus.corpus import CorpusConfig, build_corpus

    corpus = build_corpus(session_home / "corpus" / "teacher-e2e", CorpusConfig(limit=200), progress=False)
    path = build_teacher(TeacherConfig(family="siglip", languages=LANGS, passes_per_epoch=4),
                         TrainConfig(epochs=3, batch_size=16, patience=3), corpus=corpus, progress=False)
    return corpus, path


def test_teacher_is_ready_in_the_zoo(small_teacher, capsys):
    from zoo.__main__ import main

    _, path = small_teacher
    assert path.name == "lit-e5s-effl0-siglip"
    main(["list"])
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("lit-e5s-effl0-siglip "))
    assert line.rstrip().endswith("ready")


def test_reports_card_and_baseline(small_teacher):
    _, path = small_teacher
    report = json.loads((path / "reports" / "test" / "report.json").read_text())
    assert set(report) == {"lit-e5s-effl0-siglip", "random projection"}
    ours = report["lit-e5s-effl0-siglip"]
    assert set(ours["retrieval"]["emoji"]["t2i"]) <= set(LANGS)
    assert "chance" in ours and ours["vqa"]["photo"]  # VQA per language is reported
    # alignment learned something: above a random projection of the same towers and above chance
    mine, rand = ours["summary"]["emoji_t2i_R@1_mean"], report["random projection"]["summary"]["emoji_t2i_R@1_mean"]
    assert mine > rand and mine > 2 * ours["chance"]["emoji_t2i_R@1"]
    for png in ("emoji_t2i.png", "flag_t2i.png", "vqa_photo.png"):
        assert (path / "reports" / "test" / png).read_bytes()[:4] == b"\x89PNG"
    card = (path / "README.md").read_text()
    from huggingface_hub import ModelCard

    data = ModelCard(card).data  # the front matter as the hub reads it
    assert card.startswith("---\n") and data.language and data.base_model and data.license == "other"
    assert "python -m training.teachers" in card and "## Licences" in card
    cfg = json.loads((path / "lingualens.json").read_text())
    assert cfg["meta"]["training"]["best_epoch"] >= 1 and cfg["family"] == "siglip"


def test_reloaded_teacher_matches_sentence_transformers(small_teacher):
    from sentence_transformers import SentenceTransformer

    from zoo import load_model

    model = load_model("lit-e5s-effl0-siglip")
    texts = ["un gato", "猫", "собака", "a red flag"]
    ours = model.encode_text(texts)
    st = SentenceTransformer(str(small_teacher[1]), device="cpu").encode(texts, convert_to_numpy=True)
    assert np.abs(ours - st).max() <= 1e-5
    assert model.logit_bias is not None and model.embed_dim == 256


def test_evaluate_cli_writes_a_comparison(small_teacher, tmp_path):
    from evaluation.run import main

    corpus, _ = small_teacher
    out = tmp_path / "cmp"
    assert main(["--model", "lit-e5s-effl0-siglip", "--compare", "lit-e5s-effl0-random", "--corpus", str(corpus),
                 "--languages", "en", "ja", "--no-cost", "--no-agreement", "--out", str(out)]) == 0  # agreement: test_app runs it
    md = (out / "report.md").read_text()
    assert "lit-e5s-effl0-random / lit-e5s-effl0-siglip" in md
    assert main(["--model", "no-such-model", "--corpus", str(corpus)]) == 2
