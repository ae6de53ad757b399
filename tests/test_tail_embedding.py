"""Factorized-tail students: every piece kept, sizes counted, checkpoints and other libraries agree."""
import json

import numpy as np
import pytest
import torch

from tests.tiny import MULTILINGUAL, tiny_bert, tiny_unigram, tiny_unigram_elsewhere
from training.students import StudentRecipe, build_student, full_rows_within, vocabulary_budget
from zoo.embeddings import TailFactorizedEmbedding
from zoo.text_tower import HFTextTower

TEXTS = ["a cat on a mat", "the dog and the cat", "la casa de mi padre"]


def test_svd_tail_is_exact_at_full_rank_and_least_squares_below():
    torch.manual_seed(0)
    table = torch.randn(50, 8)
    exact = TailFactorizedEmbedding.from_table(table, full_rows=10, rank=7)  # 40 centred rows of width 8: rank <= 8
    ids = torch.arange(50)
    assert torch.equal(exact(ids)[:10], table[:10])  # full rows copied bit for bit
    # rank 7 of a centred 8-d cloud loses only the smallest singular direction
    tail = table[10:] - table[10:].mean(0)
    s = torch.linalg.svdvals(tail)
    err = (exact(ids)[10:] - table[10:]).pow(2).sum()
    torch.testing.assert_close(err, s[7:].pow(2).sum(), rtol=1e-4, atol=1e-4)
    low = TailFactorizedEmbedding.from_table(table, full_rows=10, rank=2)
    err2 = (low.materialize()[10:] - table[10:]).pow(2).sum()
    torch.testing.assert_close(err2, s[2:].pow(2).sum(), rtol=1e-4, atol=1e-4)  # Eckart–Young optimum
    assert low(torch.tensor([[3, 40]])).shape == (1, 2, 8)
    assert sum(p.numel() for p in low.parameters()) == 10 * 8 + 40 * 2 + 2 * 8 + 8


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="not below the embedding width"):
        TailFactorizedEmbedding(10, 10, rank=8, dim=8)
    with pytest.raises(ValueError, match="positive sizes"):
        TailFactorizedEmbedding(0, 10, rank=2, dim=8)
    with pytest.raises(ValueError, match="does not fit"):
        full_rows_within(budget_rows=100, vocab=10_000, rank=4, width=8)  # the tail alone costs 40k numbers


def test_full_rows_within_spends_the_same_parameters():
    # 1000 full rows of width 8 = 8000 numbers; a rank-2 tail over 2000 pieces: k*8 + (2000-k)*2 + 2*8 + 8 <= 8000
    k = full_rows_within(1000, 2000, 2, 8)
    assert k * 8 + (2000 - k) * 2 + 2 * 8 + 8 <= 8000 < (k + 1) * 8 + (1999 - k) * 2 + 24


@pytest.fixture(scope="module")
def teacher():
    torch.manual_seed(0)
    return HFTextTower(tiny_bert(layers=4), tiny_unigram(), prefix="query: ", max_length=24,
                       projection=torch.nn.Linear(32, 16))


@pytest.fixture(scope="module")
def student(teacher):
    return build_student(teacher, StudentRecipe("half", vocab_words=0, max_text_fraction=0.5, vocab_fill="script",
                                                script_floor=10, tail_rank=4), TEXTS)


def test_tail_student_keeps_every_piece_within_the_budget(teacher, student):
    tower, report = student
    assert report["vocab_kept"] == teacher.tokenizer.get_vocab_size() == 4000  # nothing dropped
    assert report["tail_rank"] == 4 and report["full_rows"] + report["tail_rows"] == 4000
    assert tower.num_parameters() / teacher.num_parameters() == report["text_fraction"] <= 0.5
    # the same size as the trimmed student of the same budget, within one row
    budget = vocabulary_budget(teacher, report["layers_kept"], 0.5, 16)
    assert report["full_rows"] == full_rows_within(budget, 4000, 4, 32) < budget
    # every text — seen, unseen, any script — is cut into exactly the teacher's pieces
    for text in [*TEXTS, *MULTILINGUAL, "ድመት ሰላም", "ქართული"]:
        assert tower.tokenizer.encode(text).tokens == teacher.tokenizer.encode(text).tokens, text
    # training-text pieces sit in full rows with the teacher's values
    emb = tower.backbone.embeddings.word_embeddings
    for piece in teacher.tokenizer.encode("query: " + TEXTS[0]).tokens:
        new, old = tower.tokenizer.token_to_id(piece), teacher.tokenizer.token_to_id(piece)
        assert new < emb.full_rows
        assert torch.equal(emb.weight[new], teacher.backbone.embeddings.word_embeddings.weight[old])


def test_tail_student_round_trips_and_loads_in_other_libraries(student, tmp_path):
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel

    from tests.tiny import tiny_dual_encoder
    from zoo.dual_encoder import DualEncoder
    from zoo.factory import load_checkpoint

    tower, _ = student
    base = tiny_dual_encoder()
    model = DualEncoder(tower, base.image, family="clip", name="tiny-tail")
    path = model.save_pretrained(tmp_path / "tail")
    config = json.loads((path / "config.json").read_text())
    assert config["lingualens_tail"]["rank"] == 4 and "modeling_lingualens" in config["auto_map"]["AutoModel"]
    loaded = load_checkpoint(path)
    ours = model.encode_text(MULTILINGUAL)
    np.testing.assert_allclose(loaded.encode_text(MULTILINGUAL), ours, atol=1e-6)
    assert isinstance(loaded.text.backbone.embeddings.word_embeddings, TailFactorizedEmbedding)
    # other libraries load it through the shipped code, and only when asked to trust it
    hf = AutoModel.from_pretrained(str(path), trust_remote_code=True)
    assert type(hf).__name__ == "TailFactorizedBertModel"
    for k, v in tower.backbone.state_dict().items():
        assert torch.equal(hf.state_dict()[k], v), k
    st = SentenceTransformer(str(path), device="cpu", trust_remote_code=True)
    assert np.abs(st.encode(MULTILINGUAL, convert_to_numpy=True) - ours).max() <= 1e-5


def test_tampered_tail_config_is_refused(student, tmp_path):
    from tests.tiny import tiny_dual_encoder
    from zoo.checkpoint import CheckpointError
    from zoo.dual_encoder import DualEncoder
    from zoo.factory import load_checkpoint

    path = DualEncoder(student[0], tiny_dual_encoder().image, name="t").save_pretrained(tmp_path / "t")
    config = json.loads((path / "config.json").read_text())
    config["lingualens_tail"]["rank"] = 64  # wider than the 32-d model
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="lingualens_tail"):
        load_checkpoint(path)
    config["lingualens_tail"]["rank"] = 3  # plausible, but not what the weights hold
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="wrong shapes"):
        load_checkpoint(path)


def test_tail_student_exports_to_onnx_with_parity(student, session_home, tmp_path):
    from core.paths import zoo_dir
    from export.onnx import export_model
    from export.runtime import OnnxEncoder
    from tests.tiny import tiny_dual_encoder
    from zoo.dual_encoder import DualEncoder

    model = DualEncoder(student[0], tiny_dual_encoder().image, family="clip", name="tiny-tail-export")
    model.save_pretrained(zoo_dir() / "tiny-tail-export")
    out = export_model("tiny-tail-export", tmp_path / "onnx")
    texts = [*MULTILINGUAL, "ድመት", ""]  # pieces from the full rows and from the low-rank tail
    ids = student[0].tokenize(texts)["input_ids"]
    assert (ids >= student[0].backbone.embeddings.word_embeddings.full_rows).any()
    assert np.abs(OnnxEncoder(out).encode_text(texts) - model.encode_text(texts)).max() <= 1e-4


def test_a_vocabulary_is_reused_for_its_teacher_and_refused_for_another(teacher, student, tmp_path):
    from tests.tiny import tiny_dual_encoder
    from training.students import Vocabulary
    from zoo.dual_encoder import DualEncoder

    path = DualEncoder(student[0], tiny_dual_encoder().image, name="v").save_pretrained(tmp_path / "v")
    vocab = Vocabulary.of_checkpoint(path)
    assert len(vocab.pieces) == 4000 and vocab.full_rows == student[1]["full_rows"]
    recipe = StudentRecipe("half", vocab_words=0, max_text_fraction=0.5, tail_rank=4)
    again, report = build_student(teacher, recipe, [], vocabulary=vocab)  # no text needed: the pieces are given
    assert again.tokenizer.to_str() == student[0].tokenizer.to_str() and report["full_rows"] == vocab.full_rows
    torch.testing.assert_close(again.backbone.embeddings.word_embeddings.materialize(),
                               student[0].backbone.embeddings.word_embeddings.materialize())
    # another teacher: the same kind of model, but its tokenizer has other pieces
    other = HFTextTower(tiny_bert(layers=4), tiny_unigram_elsewhere(), prefix="query: ", max_length=24,
                        projection=torch.nn.Linear(32, 16))
    with pytest.raises(ValueError, match="was built for another teacher: 3,99"):
        build_student(other, recipe, [], vocabulary=vocab)
    with pytest.raises(ValueError, match="has factorized tail, but the recipe's tail_rank is 0"):
        build_student(teacher, StudentRecipe("half", vocab_words=0, max_text_fraction=0.5), [], vocabulary=vocab)


def test_an_xlm_roberta_tail_student_round_trips_through_the_shipped_code(tmp_path):
    """The shipped code is generated per base class: XLM-R (model type "xlm-roberta") as well as BERT."""
    from transformers import AutoModel, XLMRobertaConfig, XLMRobertaModel

    from zoo.embeddings import install_tail

    torch.manual_seed(0)
    cfg = XLMRobertaConfig(vocab_size=4000, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=64, pad_token_id=1)
    backbone = XLMRobertaModel(cfg, add_pooling_layer=False).eval()
    table = backbone.embeddings.word_embeddings.weight.detach().clone()
    install_tail(backbone, full_rows=1000, rank=4).load_state_dict(
        TailFactorizedEmbedding.from_table(table, 1000, 4).state_dict())
    tower = HFTextTower(backbone, tiny_unigram(), max_length=24)
    tower.save(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "lingualens_tail_xlm-roberta"
    reloaded = HFTextTower.load(tmp_path, tower.settings())
    hf = AutoModel.from_pretrained(str(tmp_path), trust_remote_code=True)
    assert type(hf).__name__ == "TailFactorizedXLMRobertaModel" and hf.pooler is None
    inputs = tower.tokenize(MULTILINGUAL)
    with torch.no_grad():
        ours = tower(**inputs)
        np.testing.assert_allclose(reloaded(**inputs).numpy(), ours.numpy(), atol=1e-6)
        theirs = tower.pool(hf(**inputs).last_hidden_state, inputs["attention_mask"])
    np.testing.assert_allclose(theirs.numpy(), ours.numpy(), atol=1e-5)
