"""Distillation runs on a tiny teacher: the CLI end to end, teacher-cache reuse and invalidation,
resume after a real SIGKILL, two-process DDP equivalence, and refusals with clear messages."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.tiny import tiny_dual_encoder

LANGS = ["en", "es", "ja"]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_teacher(session_home):
    from core.paths import zoo_dir

    tiny_dual_encoder("clip").save_pretrained(zoo_dir() / "tiny-teacher")
    return "tiny-teacher"


def cli_args(corpus, extra=()):
    return ["--teacher", "tiny-teacher", "--recipe", "custom", "--layers", "1", "--vocab-words", "50",
            "--languages", *LANGS, "--eval-languages", *LANGS, "--corpus", str(corpus), "--epochs", "2",
            "--batch-size", "8", "--passes-per-epoch", "2", "--no-freeze-embeddings", "--no-progress", *extra]


def test_distill_cli_writes_a_student_with_a_card(tiny_teacher, small_corpus, capsys):
    from training.distill.run import main
    from zoo import load_model

    # 2e-4: this one-layer student trains its embeddings too; the default 6e-4 was chosen for frozen ones
    assert main(cli_args(small_corpus, ["--loss", "dr=1,ed=0.5", "--name", "tiny-student", "--lr", "2e-4"])) == 0
    assert "tiny-student: saved to" in capsys.readouterr().out
    student = load_model("tiny-student")
    cfg = json.loads(Path(student.info.checkpoint, "lingualens.json").read_text())
    dist = cfg["meta"]["distillation"]
    assert dist["student"]["layers_kept"] == [1] and cfg["meta"]["teacher"] == "tiny-teacher"
    card = Path(student.info.checkpoint, "README.md").read_text()
    assert "Student vs teacher" in card and "tiny-teacher" in card and "python -m training.distill" in card
    assert student.encode_text(["un gato"]).shape == (1, 16)
    # it learned: the training loss fell from the first epoch to the last
    (log,) = (Path(os.environ["LINGUALENS_HOME"]) / "cache" / "runs").glob("tiny-student-*/log.jsonl")
    epochs = [e for e in map(json.loads, log.read_text().splitlines()) if e.get("event") == "epoch"]
    assert len(epochs) == 2 and epochs[-1]["train_loss"] < epochs[0]["train_loss"]


def test_help_shows_the_schedule_distillation_really_uses(tiny_teacher, small_corpus, capsys, monkeypatch):
    """`--help` once said 30 epochs at batch 256 while a run used 4 (now 8) at batch 64: the defaults shown
    are the ones a run without flags gets."""
    from training.distill import run as distill
    from training.distill.config import default_train_config

    with pytest.raises(SystemExit):
        distill.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    want = default_train_config()
    assert want.epochs == 8 and want.batch_size == 64 and want.lr == 6e-4
    assert f"--epochs EPOCHS (default: {want.epochs})" in text and f"--batch-size BATCH_SIZE (default: {want.batch_size})" in text
    seen = {}

    def stop(cfg, train_cfg, **kwargs):
        seen["train"] = train_cfg
        raise RuntimeError("stopped before any work")

    monkeypatch.setattr(distill, "run", stop)
    assert distill.main(["--teacher", "tiny-teacher", "--corpus", str(small_corpus), "--no-progress"]) == 2
    assert seen["train"] == want


@pytest.mark.parametrize("args, message", [
    (["--loss", "dr=1,xx=2"], "unknown loss 'xx'; valid names: fd, ed, sd, mcl, dr"),
    (["--loss", "dr=one"], "malformed loss term"),
    (["--recipe", "tiny"], "unknown recipe 'tiny'; valid: half, quarter, custom"),
    (["--select", "luck"], "--select must be one of recall, agreement, got 'luck'"),
])
def test_bad_arguments_are_refused_before_work(tiny_teacher, small_corpus, capsys, monkeypatch, args, message):
    from training.distill import run as distill
    from training.distill.run import main

    monkeypatch.setattr(distill, "run", lambda *a, **k: pytest.fail("a run started"))
    base = cli_args(small_corpus)
    i = base.index("--recipe")
    base[i:i + 2] = []
    assert main(base + (["--recipe", "custom"] if "--recipe" not in args else []) + args) == 2
    assert message in capsys.readouterr().err


def test_agreement_selection_keeps_the_epoch_closest_to_the_teacher_on_val(tiny_teacher, small_corpus, capsys):
    """`--select agreement`: every epoch logs the mean cosine S(x)·T(x) on the val captions of the
    eval languages; the kept epoch is the one where it is highest, and the saved student has it."""
    from training.distill.data import student_encoder
    from training.distill.run import main, val_reference, val_score
    from zoo import load_model

    assert main(cli_args(small_corpus, ["--select", "agreement", "--epochs", "3", "--patience", "3",
                                        "--name", "tiny-agree"])) == 0, capsys.readouterr().err
    (log,) = (Path(os.environ["LINGUALENS_HOME"]) / "cache" / "runs").glob("tiny-agree-*/log.jsonl")
    epochs = [e for e in map(json.loads, log.read_text().splitlines()) if e.get("event") == "epoch"]
    assert len(epochs) == 3 and all(e["val_score"] == e["val_cosine"] and "val_t2i_R@10" in e for e in epochs)
    student = load_model("tiny-agree")
    dist = student.info.distillation
    best = max(epochs, key=lambda e: e["val_cosine"])
    assert dist["best_epoch"] == best["epoch"] and dist["val_score"] == pytest.approx(best["val_cosine"])
    # the student carries its curve, and the agreement benchmark's recipe table reads it from there
    assert [h["val_cosine"] for h in dist["history"]] == [e["val_cosine"] for e in epochs]
    from benchmarks.agreement import recipe_table

    (row,), lines = recipe_table(["tiny-agree"])
    assert row["select"] == "agreement" and row["epochs"] == 3 and row["best_epoch"] == best["epoch"]
    assert row["val_cosine"] == [e["val_cosine"] for e in epochs] and "--select agreement" in row["command"]
    assert " ".join(f"{e['val_cosine']:.3f}" for e in epochs) in lines[2]
    # the score by hand: the saved student's val captions against the teacher's
    from training.distill.config import DistillConfig
    from training.distill.data import prepare_data

    teacher = load_model("tiny-teacher")
    data = prepare_data(teacher, DistillConfig(**{k: v for k, v in dist["config"].items()
                                                 if k in DistillConfig.__dataclass_fields__}), False)
    texts, t = val_reference(teacher, data, list(LANGS))
    s = student_encoder(student.text, data).encode_text(texts)
    assert {r.split for r in data.records if r.caption in set(texts)} >= {"val"}
    assert val_score(student.text, data, list(LANGS), (texts, t))[0] == pytest.approx(float(np.mean(np.sum(s * t, 1))), abs=1e-5)
    assert val_score(student.text, data, list(LANGS), (texts, t))[0] == pytest.approx(best["val_cosine"], abs=1e-4)


def test_unwritable_output_is_a_clear_error(tiny_teacher, small_corpus, monkeypatch, capsys):
    from training.distill import run as distill

    blocker = Path(os.environ["LINGUALENS_HOME"]) / "cache" / "runs-blocker"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a directory")
    monkeypatch.setattr(distill, "cache_dir", lambda: blocker)
    assert distill.main(cli_args(small_corpus, ["--loss", "fd", "--name", "tiny-blocked"])) == 2
    assert "not writable" in capsys.readouterr().err


def test_teacher_cache_is_reused_and_invalidated(tiny_teacher, monkeypatch):
    import training.features as features
    from training.teacher_cache import teacher_text_embeddings
    from zoo import load_model

    teacher = load_model("tiny-teacher")
    texts = ["uno qz", "dos qz", "tres qz"]  # no caption or keyword of a corpus: nothing else cached them
    calls = []
    real = features.cached_features

    def spy(key, items, compute, *a, **k):
        return real(key, items, lambda b: calls.append(len(b)) or compute(b), *a, **k)

    monkeypatch.setattr("training.teacher_cache.cached_features", spy)
    first = teacher_text_embeddings(teacher, texts, progress=False)
    n = len(calls)
    again = teacher_text_embeddings(teacher, texts, progress=False)
    assert len(calls) == n and np.array_equal(first, again)  # read back, not recomputed
    teacher_text_embeddings(teacher, texts + ["cuatro qz"], progress=False)
    assert len(calls) > n  # corpus changed: rebuilt
    n = len(calls)
    import torch

    with torch.no_grad():
        teacher.text.projection.weight[:8].mul_(-1)
    teacher.info.config = None  # an in-memory change: identity falls back to a weight hash
    changed = teacher_text_embeddings(teacher, texts, progress=False)
    assert len(calls) > n and not np.allclose(changed, first)  # teacher changed: rebuilt


def _run_cli(home, corpus, extra_env=None, extra_args=(), torchrun=False):
    env = {**os.environ, "LINGUALENS_HOME": str(home), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           **(extra_env or {})}
    args = cli_args(corpus, ["--loss", "mcl", "--checkpoint-every", "3", "--name", "tiny-resume", *extra_args])
    cmd = [sys.executable, "-m", "training.distill", *args]
    if torchrun:
        import socket

        with socket.socket() as sock:  # a free port, so parallel or leftover runs never collide
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={port}",
               "-m", "training.distill", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def _prepare_home(tmp, session_home):
    import shutil

    home = tmp
    (home / "zoo").mkdir(parents=True)
    shutil.copytree(session_home / "zoo" / "tiny-teacher", home / "zoo" / "tiny-teacher")
    return home


def _student_embedding(home, texts):
    from zoo.factory import load_checkpoint

    return load_checkpoint(home / "zoo" / "tiny-resume").encode_text(texts)


TEXTS = ["a cat", "un perro", "猫", "flag"]


def test_resume_after_sigkill_ends_like_an_uninterrupted_run(tiny_teacher, small_corpus, session_home, tmp_path):
    clean = _prepare_home(tmp_path / "clean", session_home)
    assert _run_cli(clean, small_corpus).returncode == 0
    killed_home = _prepare_home(tmp_path / "killed", session_home)
    killed = _run_cli(killed_home, small_corpus, {"LINGUALENS_FAULT_SIGKILL_AT_STEP": "5"})
    assert killed.returncode == -9  # really killed, mid-epoch (step 5 of 2x7), after the step-3 checkpoint
    runs = list((killed_home / "cache" / "runs").iterdir())
    assert json.loads((runs[0] / "last.json").read_text())["global_step"] == 3
    resumed = _run_cli(killed_home, small_corpus)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    log = (runs[0] / "log.jsonl").read_text()
    assert '"event": "resumed"' in log
    np.testing.assert_allclose(_student_embedding(killed_home, TEXTS), _student_embedding(clean, TEXTS), atol=1e-6)
    a = json.loads((clean / "zoo" / "tiny-resume" / "lingualens.json").read_text())["meta"]["test_summary"]
    b = json.loads((killed_home / "zoo" / "tiny-resume" / "lingualens.json").read_text())["meta"]["test_summary"]
    assert a == pytest.approx(b, nan_ok=True)


def test_two_process_ddp_matches_one_process(tiny_teacher, small_corpus, session_home, tmp_path):
    one = _prepare_home(tmp_path / "one", session_home)
    assert _run_cli(one, small_corpus).returncode == 0
    two = _prepare_home(tmp_path / "two", session_home)
    result = _run_cli(two, small_corpus, torchrun=True)
    assert result.returncode == 0, result.stderr[-3000:]
    cfg = json.loads((two / "zoo" / "tiny-resume" / "lingualens.json").read_text())
    assert cfg["meta"]["distillation"]["world_size"] == 2
    np.testing.assert_allclose(_student_embedding(two, TEXTS), _student_embedding(one, TEXTS), atol=1e-4)


def test_real_teacher_source_distills_on_a_user_manifest(tmp_path, capsys):
    """A transformers CLIP teacher (tiny, local) -> a 1-layer BERT student from --student-init,
    trained on a CSV manifest of parallel captions; the student reloads with the teacher's
    image tower by reference."""
    from PIL import Image
    from transformers import PreTrainedTokenizerFast

    from tests.tiny import tiny_bert, tiny_hf_clip_like, tiny_unigram
    from training.distill.run import main
    from zoo import load_model

    teacher_dir = tiny_hf_clip_like("clip", tmp_path / "teacher")
    init = tmp_path / "init"
    tiny_bert(layers=2).save_pretrained(init)
    PreTrainedTokenizerFast(tokenizer_object=tiny_unigram(), bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                            pad_token="<pad>").save_pretrained(init)
    words = [("red", "rojo", "赤"), ("blue", "azul", "青"), ("green", "verde", "緑"), ("black", "negro", "黒"),
             ("white", "blanco", "白"), ("yellow", "amarillo", "黄色"), ("gray", "gris", "灰色"),
             ("pink", "rosa", "桃色"), ("brown", "marrón", "茶色"), ("purple", "morado", "紫"),
             ("orange", "naranja", "橙"), ("navy", "marino", "紺")]
    rows = ["image,caption,language"]
    for i, (en, es, ja) in enumerate(words):
        Image.new("RGB", (24, 24), en).save(tmp_path / f"{i}.png")
        rows += [f"{i}.png,a {en} square,en", f"{i}.png,un cuadrado {es},es", f"{i}.png,{ja}の四角,ja"]
    (tmp_path / "colors.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert main(["--teacher", str(teacher_dir), "--student-init", str(init), "--manifest", str(tmp_path / "colors.csv"),
                 "--recipe", "custom", "--layers", "1", "--vocab-words", "0", "--loss", "mcl=1,fd=1",
                 "--eval-languages", "en", "es", "ja", "--name", "tiny-real-student", "--epochs", "2",
                 "--batch-size", "4", "--no-progress"]) == 0, capsys.readouterr().err
    student = load_model("tiny-real-student")
    assert type(student.image).__name__ == "TransformersImageTower"  # the teacher's, by reference
    assert student.embed_dim == 16 and student.text.backbone.config.num_hidden_layers == 1
    assert student.encode_text(["un cuadrado rojo"]).shape == (1, 16)
    assert student.encode_image([tmp_path / "0.png"]).shape == (1, 16)


def test_non_hf_teacher_without_student_init_says_what_to_do(tmp_path, small_corpus, capsys):
    from tests.tiny import tiny_hf_clip_like
    from training.distill.run import main

    teacher_dir = tiny_hf_clip_like("clip", tmp_path / "teacher")
    assert main(["--teacher", str(teacher_dir), "--corpus", str(small_corpus), "--recipe", "custom",
                 "--layers", "1", "--no-progress"]) == 2
    assert "pass --student-init DIR" in capsys.readouterr().err


def test_a_layer_the_teacher_does_not_have_is_refused_before_any_work(tiny_teacher, small_corpus, monkeypatch, capsys):
    from training.distill import run as distill

    monkeypatch.setattr(distill, "prepare_data", lambda *a, **k: pytest.fail("data was prepared"))
    assert distill.main(cli_args(small_corpus, ["--keep-layers", "0", "9", "--name", "tiny-nine"])) == 2
    assert "layer indices [9] do not exist in a 2-layer teacher" in capsys.readouterr().err


def test_another_teachers_vocabulary_is_refused_before_any_work(tiny_teacher, small_corpus, monkeypatch, capsys, tmp_path):
    import torch

    from tests.tiny import tiny_bert, tiny_unigram_elsewhere
    from training.distill import run as distill
    from zoo.dual_encoder import DualEncoder
    from zoo.text_tower import HFTextTower

    base = tiny_dual_encoder("clip")
    foreign = HFTextTower(tiny_bert(), tiny_unigram_elsewhere(), prefix="query: ", max_length=24,
                          projection=torch.nn.Linear(32, 16))
    path = DualEncoder(foreign, base.image, name="foreign").save_pretrained(tmp_path / "foreign-student")
    monkeypatch.setattr(distill, "prepare_data", lambda *a, **k: pytest.fail("data was prepared"))
    assert distill.main(cli_args(small_corpus, ["--vocabulary", str(path), "--name", "tiny-foreign"])) == 2
    err = capsys.readouterr().err
    assert "foreign-student was built for another teacher" in err and "3,996 of its 4,000 pieces" in err


def test_relation_term_trains_and_is_refused_for_a_foreign_student(tiny_teacher, small_corpus, capsys):
    from training.distill.run import main
    from zoo import load_model

    assert main(cli_args(small_corpus, ["--loss", "dr", "--hidden-weight", "1.0", "--name", "tiny-hidden",
                                        "--epochs", "1"])) == 0
    student = load_model("tiny-hidden")
    assert student.info.distillation["config"]["hidden_weight"] == 1.0
    assert main(cli_args(small_corpus, ["--hidden-weight", "1.0", "--student-init", "/nonexistent",
                                        "--name", "tiny-hidden-2"])) == 2
    assert "--hidden-weight needs a student cut from the teacher's own text tower" in capsys.readouterr().err


def test_a_changed_teacher_never_resumes_the_old_teachers_run(tiny_teacher, small_corpus, session_home):
    """Runs resume by settings; a retrained teacher (same name, new weights) must start afresh."""
    import torch

    from core.paths import cache_dir, zoo_dir
    from training.distill.run import main

    teacher = tiny_dual_encoder("clip", seed=3)
    teacher.save_pretrained(zoo_dir() / "tiny-teacher-b")
    args = cli_args(small_corpus, ["--loss", "fd", "--name", "tiny-b", "--epochs", "1"])
    args[args.index("tiny-teacher")] = "tiny-teacher-b"
    assert main(args) == 0
    runs = lambda: sorted(p.name for p in (cache_dir() / "runs").iterdir() if p.name.startswith("tiny-b-"))  # noqa: E731
    assert len(runs()) == 1
    with torch.no_grad():
        teacher.text.projection.weight.mul_(-1)
    teacher.save_pretrained(zoo_dir() / "tiny-teacher-b")
    assert main(args) == 0
    assert len(runs()) == 2


def test_card_refresh_shows_every_language_beside_the_teacher(tiny_teacher, small_corpus, session_home):
    """`python -m training.student_card NAME --evaluate`: the every-language table, the model-index a
    hub renders, the ONNX sizes once exported, and the licence chain."""
    from huggingface_hub import ModelCard

    from core.paths import export_dir, zoo_checkpoint
    from core.records import read_manifest
    from export.onnx import export_model
    from training.student_card import main

    if not (zoo_checkpoint("tiny-student") / "README.md").is_file():
        pytest.skip("needs test_distill_cli_writes_a_student_with_a_card's student")
    assert main(["tiny-student", "--evaluate", "--corpus", str(small_corpus)]) == 0
    text = (zoo_checkpoint("tiny-student") / "README.md").read_text()
    languages = {r.language for r in read_manifest(small_corpus / "manifest.jsonl") if r.split == "test"}
    card = ModelCard(text)
    per_language = {r.dataset_config for r in card.data.eval_results if r.metric_type == "recall_at_10"}
    assert languages <= per_language and "group:all" in per_language  # one hub table row per language and group
    assert {r.metric_type for r in card.data.eval_results} == {"recall_at_10", "ratio_to_teacher"}
    assert card.data.license == "other" and "CC BY-SA 4.0" in text and "Unicode License v3" in text
    table = text.split("### Per language", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith(("| lang", "| ---"))]
    assert len(rows) == len(languages)  # every evaluated language, teacher beside the student
    assert "tiny-student t2i R@10" in table and "tiny-clip t2i R@10" in table  # the teacher, by its own name
    assert "Speed and memory" in text and "peak RAM" in text
    assert "ONNX export" not in text  # not exported yet: nothing claimed
    deploy = text.split("## Deploy", 1)[1].split("\n## ", 1)[0]
    assert "ONNX backend" not in deploy and "--sentence-transformers` writes" in deploy
    export_model("tiny-student", export_dir() / "tiny-student", sentence_transformers=True)
    assert main(["tiny-student"]) == 0  # no re-evaluation: the card is rebuilt from what is on disk
    text = (zoo_checkpoint("tiny-student") / "README.md").read_text()
    assert "ONNX export: sizes" in text and "`text.onnx`" in text and "### Per language" in text
    # each deploy target with its one-line load and the parity its export measured
    deploy = text.split("## Deploy", 1)[1].split("\n## ", 1)[0]
    measured = json.loads((export_dir() / "tiny-student" / "lingualens_onnx.json").read_text())
    st_diff = measured["sentence_transformers"]["parity_fp32"]["sentence_embedding_max_abs_diff"]
    assert 'backend="onnx")` | largest difference ' + f"{st_diff:.1e}" in deploy
    assert "fastembed" in deploy and "python -m export.web --model tiny-student" in deploy
