"""Each distillation loss on hand-checkable cases: zero at the teacher, gradient sign, permutation
invariance, temperature, and ED's English anchoring."""
import math

import pytest
import torch
import torch.nn.functional as F

from training.losses.base import DistillBatch
from training.losses.combine import LOSSES, CombinedLoss, parse_weights
from training.losses.dr import DistributionalReplication
from training.losses.ed import EnglishDistillation
from training.losses.fd import FeatureDistillation
from training.losses.mcl import MultilingualContrastive
from training.losses.sd import SimilarityDistillation


def batch(s_x, t_x=None, t_e=None, v=None, s_e=None, scale=math.log(10), family="clip"):
    t_x = s_x if t_x is None else t_x
    return DistillBatch(s_x=s_x, t_x=t_x, t_e=t_x if t_e is None else t_e, v=t_x if v is None else v,
                        logit_scale=torch.tensor(scale), logit_bias=torch.tensor(-1.0) if family == "siglip" else None,
                        family=family, s_e=s_e)


def unit(n=6, d=4, seed=0):
    return F.normalize(torch.randn(n, d, generator=torch.Generator().manual_seed(seed)), dim=-1)


@pytest.mark.parametrize("loss", [FeatureDistillation(), FeatureDistillation("mse"), SimilarityDistillation(),
                                  DistributionalReplication()])
def test_zero_when_student_equals_teacher(loss):
    t = unit()
    assert loss(batch(t.clone(), t_x=t, v=unit(seed=1))).item() == pytest.approx(0.0, abs=1e-6)


def test_ed_zero_when_student_sits_on_the_english_anchor():
    t_e, t_x = unit(seed=2), unit(seed=3)  # the same-language teacher embedding is irrelevant to ED
    assert EnglishDistillation()(batch(t_e.clone(), t_x=t_x, t_e=t_e, s_e=t_e.clone())).item() == pytest.approx(0, abs=1e-6)
    assert FeatureDistillation()(batch(t_e.clone(), t_x=t_x)).item() > 0.1  # FD would pull it elsewhere


def test_ed_gradient_points_at_english_not_at_the_same_language_teacher():
    t_e = torch.tensor([[1.0, 0.0]])
    t_x = torch.tensor([[0.0, 1.0]])
    theta = torch.tensor(0.5, requires_grad=True)  # student at angle θ; English anchor at 0, t_x at π/2
    s = torch.stack([torch.cos(theta), torch.sin(theta)])[None]
    EnglishDistillation()(batch(s, t_x=t_x, t_e=t_e, s_e=t_e)).backward()
    assert theta.grad.item() > 0  # descent lowers θ: towards English
    with pytest.raises(ValueError, match="needs the student's embedding of the English twin"):
        EnglishDistillation()(batch(t_e, t_x=t_x, t_e=t_e))


def test_mcl_is_minimal_at_the_teacher():
    v = torch.eye(4)
    at_teacher = MultilingualContrastive()(batch(v.clone(), t_x=v, t_e=v, v=v, scale=math.log(20)))
    shuffled = MultilingualContrastive()(batch(v[[1, 2, 3, 0]], t_x=v, t_e=v, v=v, scale=math.log(20)))
    assert at_teacher.item() < 0.01 < shuffled.item()


@pytest.mark.parametrize("name", list(LOSSES))
def test_gradient_sign_on_a_2d_toy(name):
    """Student at angle θ > 0, teacher (and image, and anchor) at 0: descent must lower θ."""
    theta = torch.tensor([0.4, -0.3, 2.0], requires_grad=True)
    targets = torch.tensor([0.0, -math.pi / 2, math.pi / 2 + 0.3])
    s = torch.stack([torch.cos(theta), torch.sin(theta)], 1)
    t = torch.stack([torch.cos(targets), torch.sin(targets)], 1)
    loss = LOSSES[name]()
    loss(batch(s, t_x=t, t_e=t, v=t, s_e=t if loss.needs_student_english else None, scale=math.log(5))).backward()
    assert theta.grad[0].item() > 0  # first student is above its teacher: moving down reduces the loss


@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("family", ["clip", "siglip"])
def test_invariant_to_batch_permutation(name, family):
    s, t, e, v = unit(seed=4), unit(seed=5), unit(seed=6), unit(seed=7)
    p = torch.tensor([3, 0, 5, 1, 4, 2])
    loss = LOSSES[name]()
    se = unit(seed=8) if loss.needs_student_english else None
    a = loss(batch(s, t, e, v, se, family=family))
    b = loss(batch(s[p], t[p], e[p], v[p], se[p] if se is not None else None, family=family))
    assert a.item() == pytest.approx(b.item(), rel=1e-5)


def test_temperature_behaviour():
    s, t, v = unit(seed=9), unit(seed=10), unit(seed=11)
    dr = DistributionalReplication()
    # at zero scale every softmax is uniform: nothing to replicate
    assert dr(batch(s, t_x=t, v=v, scale=-30.0)).item() == pytest.approx(0.0, abs=1e-6)
    assert dr(batch(s, t_x=t, v=v, scale=math.log(50))).item() > dr(batch(s, t_x=t, v=v, scale=math.log(2))).item()
    eye = torch.eye(4)  # perfectly aligned: a sharper temperature lowers the contrastive loss
    mcl = MultilingualContrastive()
    assert mcl(batch(eye, t_x=eye, v=eye, scale=math.log(30))).item() < mcl(batch(eye, t_x=eye, v=eye, scale=0.0)).item()


def test_weight_strings():
    assert parse_weights("dr") == {"dr": 1.0}
    assert parse_weights("dr=1, ED=0.5") == {"dr": 1.0, "ed": 0.5}
    for bad, msg in [("dr=abc", "malformed"), ("xx=1", "unknown loss 'xx'; valid names: fd, ed, sd, mcl, dr"),
                     ("", "empty"), ("dr=1,dr=2", "twice"), ("dr=0", "all loss weights are zero")]:
        with pytest.raises(ValueError, match=msg):
            parse_weights(bad)


def test_combined_loss_is_the_weighted_sum():
    s, t, e, v = unit(seed=12), unit(seed=13), unit(seed=14), unit(seed=15)
    b = batch(s, t, e, v, s_e=unit(seed=16))
    combo = CombinedLoss("dr=1,ed=0.5,fd=2")
    expected = DistributionalReplication()(b) + 0.5 * EnglishDistillation()(b) + 2 * FeatureDistillation()(b)
    assert combo(b).item() == pytest.approx(expected.item(), rel=1e-6)
    assert combo.needs_student_english and set(combo.last) == {"dr", "ed", "fd"}


def test_hidden_relation_term_by_hand():
    import math

    import torch

    from training.losses.hidden import hidden_relation_loss

    mask = torch.tensor([[1, 1, 0]])
    t = torch.tensor([[[2.0, 0.0], [0.0, 2.0], [9.0, 9.0]]])  # third token is padding
    assert hidden_relation_loss(t, t, mask).item() == 0.0
    # student with no structure: uniform rows over the two real tokens
    s = torch.zeros(1, 3, 2)
    # teacher rows: softmax([4, 0] / sqrt 2) and its mirror; KL(p || uniform) = sum p log(2 p)
    p = torch.softmax(torch.tensor([4.0, 0.0]) / math.sqrt(2), 0)
    expected = float((p * torch.log(2 * p)).sum())
    assert hidden_relation_loss(s, t, mask).item() == pytest.approx(expected, rel=1e-5)
    # a width-8 student and a width-2 teacher are comparable: only relations are matched
    assert hidden_relation_loss(torch.randn(1, 3, 8), t, mask).item() >= 0
    with pytest.raises(ValueError, match="needs the teacher's tokenization"):
        hidden_relation_loss(torch.zeros(1, 4, 2), t, torch.ones(1, 4))


def test_text_rows_without_an_image_relate_to_the_batchs_images():
    """Rows past len(v) have no image: DR and SD compare every caption with the M images; MCL's
    image term uses the M paired rows only; with no image at all those terms are zero."""
    s, t, te, v = unit(5, seed=1), unit(5, seed=2), unit(5, seed=3), unit(3, seed=4)
    scale = math.log(10)
    b = batch(s, t_x=t, t_e=te, v=v, scale=scale)

    def kl(p_logits, q_logits):  # mean over rows of KL(softmax p || softmax q), by hand
        p, logq = p_logits.softmax(-1), q_logits.log_softmax(-1)
        return (p * (p.log() - logq)).sum(-1).mean()

    ts, ss = 10 * t @ v.T, 10 * s @ v.T  # [5 captions, 3 images]
    assert DistributionalReplication()(b).item() == pytest.approx(0.5 * (kl(ts, ss) + kl(ts.T, ss.T)).item(), rel=1e-5)
    expected_sd = F.mse_loss(s @ s.T, t @ t.T) + F.mse_loss(s @ v.T, t @ v.T)
    assert SimilarityDistillation()(b).item() == pytest.approx(expected_sd.item(), rel=1e-5)
    from training.losses.contrastive import clip_loss

    expected_mcl = 0.5 * (clip_loss(s[:3], v, torch.tensor(scale)) + clip_loss(s, te, torch.tensor(scale)))
    assert MultilingualContrastive()(b).item() == pytest.approx(expected_mcl.item(), rel=1e-5)

    leaf = s.clone().requires_grad_(True)
    text_only = batch(leaf, t_x=t, t_e=te, v=torch.empty(0, 4), scale=scale)
    assert DistributionalReplication()(text_only).item() == 0.0
    assert SimilarityDistillation()(text_only).item() == pytest.approx(F.mse_loss(s @ s.T, t @ t.T).item(), rel=1e-5)
    assert MultilingualContrastive()(text_only).item() == pytest.approx(0.5 * clip_loss(s, te, torch.tensor(scale)).item(), rel=1e-5)
    DistributionalReplication()(text_only).backward()  # a zero that keeps the graph: backward works
    assert leaf.grad is not None and leaf.grad.abs().sum().item() == 0.0


def test_dr_is_kl_from_teacher_to_student_not_the_reverse():
    """KL is asymmetric: on this batch the two directions differ, and DR must be KL(P_T || P_S)."""
    s, t, v = unit(4, seed=21), unit(4, seed=22), unit(4, seed=23)
    b = batch(s, t_x=t, v=v, scale=math.log(10))
    ts, ss = 10 * t @ v.T, 10 * s @ v.T

    def kl(p_logits, q_logits):
        p, logq = p_logits.softmax(-1), q_logits.log_softmax(-1)
        return (p * (p.log() - logq)).sum(-1).mean()

    forward = 0.5 * (kl(ts, ss) + kl(ts.T, ss.T))
    reverse = 0.5 * (kl(ss, ts) + kl(ss.T, ts.T))
    assert abs(forward.item() - reverse.item()) > 1e-3  # the case can tell the directions apart
    assert DistributionalReplication()(b).item() == pytest.approx(forward.item(), rel=1e-5)


def test_mcl_sigmoid_form_by_hand_for_siglip_teachers():
    """SigLIP teachers: both MCL terms are the pairwise sigmoid loss, −Σ log σ(z·(s·t·exp(scale) + bias)) / n
    with z = +1 on the diagonal and −1 elsewhere; dropping either term changes the value."""
    s, v, te = unit(3, seed=31), unit(3, seed=32), unit(3, seed=33)
    scale, bias = math.log(10), -1.0

    def sigmoid_loss(a, c):
        z = 2 * torch.eye(len(a)) - 1
        return -F.logsigmoid(z * (10 * a @ c.T + bias)).sum() / len(a)

    got = MultilingualContrastive()(batch(s, t_x=s, t_e=te, v=v, scale=scale, family="siglip")).item()
    image_term, english_term = sigmoid_loss(s, v).item(), sigmoid_loss(s, te).item()
    assert got == pytest.approx(0.5 * (image_term + english_term), rel=1e-5)
    assert abs(image_term - english_term) > 1e-3  # so a dropped term would show
