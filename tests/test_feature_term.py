"""The agreement levers of distillation: the feature term S(x)→T(x) on every row equals FD mixed
in by weight, and train-split CLDR keywords reach a real run as self-anchored text that no val or
test string ever enters."""
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from training.distill.step import DistillStep
from training.losses.combine import CombinedLoss

TEXTS = ["cat", "gato", "dog", "perro", "pet"]  # rows 0-3: two image concepts; row 4: a keyword


class LookupTower(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(len(TEXTS), 6)
        torch.manual_seed(0)
        nn.init.normal_(self.emb.weight)

    def tokenize(self, texts):
        return {"ids": torch.tensor([TEXTS.index(t) for t in texts])}

    def forward(self, ids):
        return self.emb(ids)


def _step(loss: str, feature_weight: float = 0.0, gallery_weight: float = 0.0) -> DistillStep:
    g = torch.Generator().manual_seed(1)
    data = SimpleNamespace(texts=TEXTS, t_text=nn.functional.normalize(torch.randn(len(TEXTS), 6, generator=g), dim=-1),
                           v_image=nn.functional.normalize(torch.randn(3, 6, generator=g), dim=-1),  # row 2: not trained
                           concept_of_row={0: 0, 1: 0, 2: 1, 3: 1, 4: 2}, english_row=[0, 2, -1], image_row=[0, 1, -1])
    teacher = SimpleNamespace(logit_scale=torch.tensor(2.0), logit_bias=None, family="clip")
    return DistillStep(data, teacher, CombinedLoss(loss), torch.device("cpu"), feature_weight=feature_weight,
                       gallery_weight=gallery_weight)


def test_feature_weight_is_fd_mixed_in_by_weight():
    tower, batch = LookupTower(), [1, 4, 2]
    with_term = _step("dr", feature_weight=0.5)(tower, batch)
    mixed = _step("dr=1,fd=0.5")(tower, batch)
    assert with_term.item() == pytest.approx(mixed.item(), rel=1e-6)
    assert with_term.item() > _step("dr")(tower, batch).item()  # the term is there (the student is not the teacher)
    with pytest.raises(ValueError, match="feature weight"):
        _step("dr", feature_weight=-1.0)


def test_gallery_term_is_dr_over_every_training_image_by_hand():
    tower, batch = LookupTower(), [1, 4, 2]
    step = _step("fd", gallery_weight=2.0)
    assert step.gallery.shape == (2, 6)  # the two training images; the third image row is no training image
    rows = sorted(batch, key=lambda r: r == 4)  # captions with an image first, as the step orders them
    s = nn.functional.normalize(tower.emb.weight[rows], dim=-1)
    t = step.data.t_text[rows]
    g = step.data.v_image[:2]
    scale = torch.tensor(2.0).exp()
    p_t = torch.softmax(scale * t @ g.T, -1)
    log_p_s = torch.log_softmax(scale * s @ g.T, -1)
    kl = (p_t * (p_t.log() - log_p_s)).sum(-1).mean()
    fd = (1 - (s * t).sum(-1)).mean()
    assert step(tower, batch).item() == pytest.approx((fd + 2.0 * kl).item(), rel=1e-5)
    with torch.no_grad():  # a student equal to its teacher on these rows: nothing left to replicate
        tower.emb.weight[rows] = t
    assert step(tower, batch).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="gallery weight"):
        _step("dr", gallery_weight=-0.5)


def test_keywords_reach_a_run_as_their_own_anchors_and_never_as_evaluated_text(session_home, small_corpus, monkeypatch):
    from core.paths import zoo_dir
    from corpus.corpus import load_corpus, load_keywords
    from corpus.keyword_text import evaluated_strings
    from tests.test_distill import cli_args
    from tests.tiny import record_distill_batches, tiny_dual_encoder
    from training.distill import run as distill

    tiny_dual_encoder("clip").save_pretrained(zoo_dir() / "tiny-teacher")
    seen = record_distill_batches(monkeypatch)
    texts = []
    real_prepare = distill.prepare_data

    def prepare(*a, **k):
        data = real_prepare(*a, **k)
        texts.extend(data.texts)
        return data

    monkeypatch.setattr(distill, "prepare_data", prepare)
    args = cli_args(small_corpus, ["--loss", "dr", "--feature-weight", "1", "--name", "tiny-keywords", "--train-sources",
                                   "emoji", "cldr-keyword", "--keywords-per-language", "15", "--epochs", "1"])
    assert distill.main(args) == 0
    text_only = [(t_x[m:], t_e[m:]) for m, t_x, t_e in seen if m < len(t_x)]
    assert text_only, "no batch held a keyword row"
    assert all(torch.equal(t_x, t_e) for t_x, t_e in text_only)  # a keyword is its own anchor
    corpus = load_corpus(small_corpus)
    banned = evaluated_strings(corpus, load_keywords(small_corpus, ("train", "val", "test"), ()))
    keyword_texts = set(texts) - {r.caption for r in corpus if r.split == "train"}
    assert keyword_texts and keyword_texts <= {r.caption for r in load_keywords(small_corpus)}
    assert not {t.casefold() for t in keyword_texts} & banned  # evaluated keywords and names stay out
