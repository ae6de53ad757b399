"""The shared trainer: losses by hand, determinism, best-epoch selection, logs, NaN stop, resume."""
import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from training.losses.contrastive import clip_loss, family_loss, siglip_loss
from training.trainer import TrainConfig, Trainer, TrainingDiverged, concept_batches, warmup_cosine


def test_clip_and_siglip_losses_by_hand():
    e = torch.eye(2)
    # logits = I: each row's CE is -log(e / (e + 1)) = log(1 + 1/e)
    assert clip_loss(e, e, torch.tensor(0.0)).item() == pytest.approx(math.log(1 + math.exp(-1)), abs=1e-6)
    # diagonal: -log σ(1) twice; off-diagonal: -log σ(-0) = log 2 twice; divided by B = 2
    expected = (2 * math.log(1 + math.exp(-1)) + 2 * math.log(2)) / 2
    assert siglip_loss(e, e, torch.tensor(0.0), torch.tensor(0.0)).item() == pytest.approx(expected, abs=1e-6)
    with pytest.raises(ValueError, match="needs a logit bias"):
        family_loss("siglip", e, e, torch.tensor(0.0))


def test_warmup_then_cosine():
    f = warmup_cosine(total_steps=10, warmup_steps=2)
    assert [round(f(s), 3) for s in (0, 1, 2, 6, 10)] == [0.5, 1.0, 1.0, 0.5, 0.0]


def test_concept_batches_never_repeat_a_concept():
    caps = [[0, 1, 2], [3], [4, 5], [6], [7, 8]]
    batches = concept_batches(caps, batch_size=2, passes=3, rng=np.random.default_rng(0))
    owner = {c: i for i, cs in enumerate(caps) for c in cs}
    assert len(batches) == 6
    for b in batches:
        assert len({owner[int(c)] for c in b}) == len(b)


class Toy(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 1)
        self.drop = nn.Dropout(0.2)

    def forward(self, x):
        return self.lin(self.drop(x))


def _toy_setup(tmp_path, epochs=4, nan_at=None, checkpoint_every=0):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    X, w = torch.randn(64, 4, generator=g), torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
    y = X @ w
    model = Toy()
    calls = {"n": 0}

    def batches(epoch):
        perm = np.random.default_rng([0, epoch]).permutation(64)
        return [perm[i:i + 8] for i in range(0, 64, 8)]

    def loss_fn(m, idx):
        calls["n"] += 1
        loss = ((m(X[idx]) - y[idx]) ** 2).mean()
        return loss * float("nan") if nan_at is not None and calls["n"] == nan_at else loss

    def evaluate(m):
        with torch.no_grad():
            return -float(((m.lin(X) - y) ** 2).mean()), {}

    cfg = TrainConfig(epochs=epochs, lr=0.05, warmup_frac=0.0, patience=10, checkpoint_every=checkpoint_every)
    return Trainer(model, cfg, tmp_path, batches, loss_fn, evaluate, progress=False), model


def test_training_is_deterministic_and_logs(tmp_path):
    t1, m1 = _toy_setup(tmp_path / "a")
    h1 = t1.fit()
    t2, m2 = _toy_setup(tmp_path / "b")
    t2.fit()
    assert torch.equal(m1.lin.weight, m2.lin.weight)
    lines = [json.loads(line) for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert [entry["epoch"] for entry in lines] == [1, 2, 3, 4]
    assert h1[-1]["val_score"] > h1[0]["val_score"]  # it learns
    assert (tmp_path / "a" / "best.safetensors").is_file()


def test_best_epoch_weights_are_restored(tmp_path):
    trainer, model = _toy_setup(tmp_path)
    history = trainer.fit()
    best = max(history, key=lambda h: h["val_score"])
    assert trainer.best_epoch == best["epoch"]
    assert trainer.evaluate(model)[0] == pytest.approx(best["val_score"])


def test_nan_loss_stops_with_the_step_and_keeps_last_good(tmp_path):
    trainer, _ = _toy_setup(tmp_path, nan_at=12)
    with pytest.raises(TrainingDiverged, match="at step 11 \\(epoch 2\\).*last good checkpoint"):
        trainer.fit()
    meta = json.loads((tmp_path / "last.json").read_text())
    assert meta["epoch"] == 1 and meta["step_in_epoch"] == 0  # the end of epoch 1, not the bad step


def test_resume_mid_epoch_matches_uninterrupted(tmp_path):
    full, m_full = _toy_setup(tmp_path / "full", checkpoint_every=3)
    full.fit()
    # interrupted run: crash at call 20 (mid epoch 3), after the step-18 checkpoint
    crashing, _ = _toy_setup(tmp_path / "resumed", nan_at=20, checkpoint_every=3)
    with pytest.raises(TrainingDiverged):
        crashing.fit()
    assert json.loads((tmp_path / "resumed" / "last.json").read_text())["global_step"] == 18
    resumed, m_res = _toy_setup(tmp_path / "resumed", checkpoint_every=3)
    resumed.fit()
    torch.testing.assert_close(m_res.lin.weight, m_full.lin.weight)
    assert [h["val_score"] for h in resumed.history] == pytest.approx([h["val_score"] for h in full.history])


def test_default_settings_bound_what_a_kill_loses(tmp_path):
    """With default settings, a run that dies late in a long epoch resumes from at most
    `checkpoint_every` steps back — not from the start of the epoch."""
    every = TrainConfig().checkpoint_every
    assert every > 0
    steps_per_epoch = 2 * every + 50
    g = torch.Generator().manual_seed(1)
    X = torch.randn(64, 4, generator=g)
    y = X @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
    calls = {"n": 0}

    def batches(epoch):
        rng = np.random.default_rng([0, epoch])
        return [rng.choice(64, 8, replace=False) for _ in range(steps_per_epoch)]

    def loss_fn(m, idx):
        calls["n"] += 1
        loss = ((m(X[idx]) - y[idx]) ** 2).mean()
        return loss * float("nan") if calls["n"] == 2 * every + 30 else loss  # dies late in epoch 1

    cfg = TrainConfig(epochs=1, lr=0.01, warmup_frac=0.0)
    trainer = Trainer(Toy(), cfg, tmp_path, batches, loss_fn, lambda m: (0.0, {}), progress=False)
    with pytest.raises(TrainingDiverged):
        trainer.fit()
    saved = json.loads((tmp_path / "last.json").read_text())
    assert saved["epoch"] == 0 and saved["global_step"] == 2 * every  # lost 29 steps, not the 429 of the epoch so far


def test_resume_refuses_a_different_config(tmp_path):
    trainer, _ = _toy_setup(tmp_path, epochs=1)
    trainer.fit()
    other, _ = _toy_setup(tmp_path, epochs=2)
    with pytest.raises(ValueError, match="another config"):
        other.fit()


def test_progress_reports_epoch_step_and_time_left(tmp_path, monkeypatch):
    """What the app's status line shows while a student trains: every epoch start, and every
    PROGRESS_EVERY_S during one (0 here: every step), with the steps left times the pace so far.
    A fake clock moves exactly 1 s per training step, so every estimate is known by hand."""
    import training.trainer as trainer_module

    clock = {"t": 100.0}
    monkeypatch.setattr(trainer_module, "PROGRESS_EVERY_S", 0.0)
    monkeypatch.setattr(trainer_module.time, "perf_counter", lambda: clock["t"])
    trainer, _ = _toy_setup(tmp_path, epochs=2)
    step_loss = trainer.loss_fn

    def timed_loss(m, idx):
        clock["t"] += 1.0
        return step_loss(m, idx)

    trainer.loss_fn = timed_loss
    reports = []
    trainer.on_progress = reports.append
    trainer.fit()
    assert reports[0] == {"epoch": 1, "epochs": 2, "step": 0, "steps": 8, "eta_s": None}  # nothing timed yet
    during = [r for r in reports if r["step"] > 0]
    assert [(r["epoch"], r["step"]) for r in during] == [(e, s) for e in (1, 2) for s in range(1, 9)]
    assert [r["eta_s"] for r in during] == [float(16 - i) for i in range(1, 17)]  # 1 s per step left
    second_epoch_start = [r for r in reports if r["epoch"] == 2 and r["step"] == 0]
    assert second_epoch_start[0]["eta_s"] == 8.0
