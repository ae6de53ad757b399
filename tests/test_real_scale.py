"""The path a full-size teacher takes, on tiny sizes: an open_clip `local-dir:` folder with a
Hugging Face text tower and open_clip's MLP projection, its exact HFTextTower view, a student
cut from it, saved and reloaded; the memory check before the first step. The real sizes run in
`benchmarks.real_scale` and the slow test at the end."""
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.tiny import MULTILINGUAL, tiny_unigram

TINY_OPEN_CLIP = {"embed_dim": 16, "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
                  "text_cfg": {"hf_pooler_type": "mean_pooler", "hf_proj_type": "mlp", "context_length": 16}}


@pytest.fixture(scope="module")
def open_clip_folder(tmp_path_factory):
    from transformers import XLMRobertaConfig

    from benchmarks.real_scale import write_open_clip_folder

    tok = tiny_unigram()
    text = XLMRobertaConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
                            intermediate_size=64, max_position_embeddings=40, type_vocab_size=1, pad_token_id=1)
    return write_open_clip_folder(tmp_path_factory.mktemp("oc") / "tiny-xlmr-oc", TINY_OPEN_CLIP, text, tok)


def test_local_dir_folder_loads_by_path_with_its_own_weights(open_clip_folder):
    from safetensors.torch import load_file

    from zoo import load_model

    model = load_model(str(open_clip_folder))
    assert model.name == f"open_clip:local-dir:{open_clip_folder.resolve()}" and model.family == "clip"
    saved = load_file(str(open_clip_folder / "open_clip_model.safetensors"))
    loaded = model.text.model.state_dict()
    key = "text.transformer.encoder.layer.0.attention.self.query.weight"
    assert torch.equal(loaded[key], saved[key])  # the folder's weights, not a fresh initialisation
    with pytest.raises(ValueError, match="pretrained= is not used"):
        load_model(f"open_clip:local-dir:{open_clip_folder}", pretrained="other.safetensors")
    with pytest.raises(FileNotFoundError, match="open_clip_config.json"):
        load_model(f"open_clip:local-dir:{open_clip_folder / 'missing'}")


def test_hf_view_is_the_same_tower_on_the_same_tensors(open_clip_folder):
    from zoo import load_model
    from zoo.text_tower import HFTextTower

    model = load_model(str(open_clip_folder))
    view = model.text.hf_view()
    assert isinstance(view, HFTextTower) and view.pooling == "mean" and view.output_dim == 16
    assert isinstance(view.projection, torch.nn.Sequential)  # open_clip's MLP head, not a stand-in
    assert view.backbone.embeddings.word_embeddings.weight.data_ptr() == \
        model.text.model.text.transformer.embeddings.word_embeddings.weight.data_ptr()
    texts = MULTILINGUAL + ["un gato negro sobre la alfombra roja del salón"]
    with torch.no_grad():
        want = torch.nn.functional.normalize(model.text(**model.text.tokenize(texts)), dim=-1).numpy()
        got = torch.nn.functional.normalize(view(**view.tokenize(texts)), dim=-1).numpy()
    # open_clip pads every text to its context; the view pads to the longest: the same vectors
    assert np.abs(got - want).max() < 1e-5


def test_student_cut_from_an_open_clip_teacher_keeps_its_mlp_head_through_save_and_load(open_clip_folder, tmp_path):
    from training.students import RECIPES, build_student
    from zoo import load_model
    from zoo.text_tower import HFTextTower

    view = load_model(str(open_clip_folder)).text.hf_view()
    recipe = replace(RECIPES["half"], tail_rank=8)  # the half recipe, its tail rank scaled to a 32-wide model
    student, report = build_student(view, recipe, ["un gato", "a cat", "кошка"], embed_dim=16)
    assert report["layers_kept"] == [0, 1] and report["text_fraction"] <= 0.5
    assert report["vocab_kept"] == view.tokenizer.get_vocab_size() and report["tail_rows"] > 0  # every piece kept
    head = student.projection
    assert isinstance(head, torch.nn.Sequential) and head is not view.projection
    assert torch.equal(head[0].weight, view.projection[0].weight)  # inherited, like the layers
    settings = student.settings()
    assert settings["projection"] == {"in": 32, "out": 16, "bias": False, "hidden": 24, "activation": "gelu"}
    student.save(tmp_path)
    assert (tmp_path / "2_Dense" / "model.safetensors").is_file() and (tmp_path / "3_Dense" / "model.safetensors").is_file()
    back = HFTextTower.load(tmp_path, settings)
    with torch.no_grad():
        a, b = student(**student.tokenize(MULTILINGUAL)), back(**back.tokenize(MULTILINGUAL))
    assert torch.allclose(a, b, atol=1e-6)
    from sentence_transformers import SentenceTransformer  # the files are a sentence-transformers model too

    st = SentenceTransformer(str(tmp_path), device="cpu", trust_remote_code=True)
    ours = torch.nn.functional.normalize(a, dim=-1).numpy()
    assert np.abs(st.encode(MULTILINGUAL, prompt="") - ours).max() < 1e-5


def test_unsupported_projection_heads_are_refused_by_name():
    from zoo.text_tower import projection_linears

    with pytest.raises(ValueError, match="unsupported projection head"):
        projection_linears(torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Linear(4, 4)))
    assert projection_linears(None) == []


def test_step_memory_estimate_by_hand_and_the_refusal_names_the_limit():
    from training.memory import InsufficientMemory, check_fits, step_bytes

    # 1,000 trainable parameters × 12 bytes + 2 layers × 4·8 tokens × (68·16 + 10·2·8) bytes, × 1.25
    assert step_bytes(1000, batch=4, seq=8, hidden=16, layers=2, heads=2) == int(1.25 * (12_000 + 2 * 32 * (1088 + 160)))
    from tests.tiny import tiny_bert
    from zoo.text_tower import HFTextTower

    tower = HFTextTower(tiny_bert(layers=2), tiny_unigram(), max_length=24)
    need = check_fits(tower, 8, 16, available=2**40)
    assert need > 0
    with pytest.raises(InsufficientMemory, match=r"only 0\.0 GiB is available; lower --batch-size"):
        check_fits(tower, 8, 16, available=1024)


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_full_size_open_clip_teacher_distills_under_torchrun_and_exports(tmp_path, monkeypatch):
    """The real XLM-R-base / ViT-B-32 architecture (random weights), from its `local-dir:` folder:
    two CPU processes under torchrun distill its half student for a few steps, keeping all
    250,002 pieces; the student exports to ONNX with parity. (`benchmarks.real_scale` measures it.)"""
    import json
    import os
    import socket
    import subprocess
    import sys
    from pathlib import Path

    from PIL import Image

    from benchmarks.real_scale import write_xlmr_b32
    from export.onnx import export_model

    root = Path(__file__).resolve().parents[1]
    teacher = write_xlmr_b32(tmp_path / "xlmr-b32")
    words = [("red", "rojo", "赤"), ("blue", "azul", "青"), ("green", "verde", "緑"), ("black", "negro", "黒"),
             ("white", "blanco", "白"), ("yellow", "amarillo", "黄色"), ("gray", "gris", "灰色"), ("pink", "rosa", "桃色"),
             ("brown", "marrón", "茶色"), ("purple", "morado", "紫"), ("orange", "naranja", "橙"), ("navy", "marino", "紺")]
    rows = ["image,caption,language,split"]
    for i, (en, es, ja) in enumerate(words):
        Image.new("RGB", (40, 40), en).save(tmp_path / f"{i}.png")
        split = "train" if i < 8 else "val" if i < 10 else "test"
        rows += [f"{i}.png,a {en} square,en,{split}", f"{i}.png,un cuadrado {es},es,{split}", f"{i}.png,{ja}の四角,ja,{split}"]
    (tmp_path / "colors.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    home = tmp_path / "home"
    env = {**os.environ, "LINGUALENS_HOME": str(home), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={port}",
                          "-m", "training.distill", "--teacher", str(teacher), "--manifest", str(tmp_path / "colors.csv"),
                          "--recipe", "half", "--loss", "dr", "--eval-languages", "en", "es", "ja", "--epochs", "1",
                          "--batch-size", "8", "--passes-per-epoch", "3", "--name", "xlmr-b32-half", "--no-progress"],
                         cwd=root, env=env, capture_output=True, text=True, timeout=2000)
    assert run.returncode == 0, run.stderr[-3000:]
    meta = json.loads((home / "zoo" / "xlmr-b32-half" / "lingualens.json").read_text())["meta"]
    report = meta["distillation"]["student"]
    assert meta["distillation"]["world_size"] == 2
    assert report["text_params_teacher"] > 270_000_000 and report["text_fraction"] <= 0.5
    assert report["vocab_kept"] == 250_002 and report["tail_rows"] > 0 and report["layers_kept"] == [0, 1, 2, 3, 4, 5]
    monkeypatch.setenv("LINGUALENS_HOME", str(home))
    out = export_model("xlmr-b32-half", tmp_path / "export")  # fp32; parity enforced inside (≤ 1e-4)
    config = json.loads((out / "lingualens_onnx.json").read_text())
    assert max(config["parity_fp32"].values()) <= 1e-4


def test_a_teacher_folder_is_offered_only_when_the_operator_names_it(open_clip_folder):
    from search.models import ModelCache

    folder = str(open_clip_folder)
    assert folder in ModelCache(operator_models=(folder,)).offered_models()
    assert ModelCache(operator_models=(folder,)).require_offered(folder) == folder
    with pytest.raises(Exception, match="unknown model"):  # a visitor cannot open a path the operator did not name
        ModelCache().require_offered(folder)


def test_an_image_tower_stored_by_reference_is_identified_by_its_folder(open_clip_folder, tmp_path):
    import os
    import shutil

    from search.build_index import image_identity, reference_identity

    copy = Path(shutil.copytree(open_clip_folder, tmp_path / "copy"))
    assert image_identity(str(copy)) == reference_identity(str(copy)) != reference_identity(str(open_clip_folder))
    before = image_identity(str(copy))
    weights = copy / "open_clip_model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 1))  # new weights, same place
    assert image_identity(str(copy)) != before
