"""A transformers SigLIP teacher cut into a student like any LinguaLens teacher, on tiny sizes:
its exact `HFTextTower` view (last-position pooling, the head as the projection, the same
tensors), the cut itself (an identity cut reproduces the teacher), save and load without
sentence-transformers modules, distillation from a manifest, ONNX export with parity and the
search index. The full size runs in `benchmarks.real_scale`."""
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.tiny import MULTILINGUAL, tiny_hf_clip_like

TEXTS = MULTILINGUAL + ["un gato negro sobre la alfombra roja del salón", ""]


@pytest.fixture(scope="module")
def siglip_folder(tmp_path_factory):
    return tiny_hf_clip_like("siglip", tmp_path_factory.mktemp("sig") / "tiny-siglip", layers=4)


def embed(tower, texts):
    with torch.no_grad():
        return F.normalize(tower(**tower.tokenize(texts)), dim=-1).numpy()


def test_siglip_view_is_the_same_tower_on_the_same_tensors(siglip_folder):
    from zoo import load_model

    model = load_model(str(siglip_folder))
    view = model.text.hf_view()
    text = model.text.model.text_model
    assert view.pooling == "last" and view.padding == "max_length" and view.max_length == 64
    assert view.projection is text.head and isinstance(text.head, torch.nn.Linear)  # the teacher keeps its head
    assert view.backbone.get_input_embeddings().weight.data_ptr() == text.embeddings.token_embedding.weight.data_ptr()
    assert view.num_parameters() == model.text.num_parameters()
    assert np.abs(embed(view, TEXTS) - model.encode_text(TEXTS)).max() < 1e-6


def test_siglip2_text_towers_have_the_same_view(tmp_path):
    from zoo import load_model

    model = load_model(str(tiny_hf_clip_like("siglip2", tmp_path / "s2", layers=2)))
    view = model.text.hf_view()
    assert type(view.backbone).__name__ == "Siglip2TextModel" and view.pooling == "last"
    assert np.abs(embed(view, TEXTS) - model.encode_text(TEXTS)).max() < 1e-6


def test_clip_text_towers_have_no_view(tmp_path):
    from zoo import load_model

    with pytest.raises(ValueError, match="SigLIP and SigLIP2 teachers can"):
        load_model(str(tiny_hf_clip_like("clip", tmp_path / "clip"))).text.hf_view()


def test_an_identity_cut_reproduces_the_teacher_and_the_half_cut_round_trips(siglip_folder, tmp_path):
    from training.students import RECIPES, build_student
    from zoo import load_model
    from zoo.text_tower import HFTextTower

    model = load_model(str(siglip_folder))
    view = model.text.hf_view()
    whole = replace(RECIPES["half"], keep_layers=(0, 1, 2, 3), vocab_words=0, tail_rank=0, vocab_fill="", max_text_fraction=1.0)
    same, report = build_student(view, whole, [])
    assert report["text_fraction"] == 1.0 and np.abs(embed(same, TEXTS) - model.encode_text(TEXTS)).max() < 1e-6

    half, report = build_student(view, replace(RECIPES["half"], tail_rank=8, script_floor=50), ["un gato", "a cat"])
    assert report["layers_kept"] == [0, 1] and report["text_fraction"] <= 0.5 and report["tail_rows"] > 0
    assert report["vocab_kept"] == view.tokenizer.get_vocab_size() and report["sentence_transformers"] is False
    assert half.projection is not view.projection and torch.equal(half.projection.weight, view.projection.weight)
    half.save(tmp_path)
    assert not (tmp_path / "modules.json").exists()  # sentence-transformers would pool it differently
    assert (tmp_path / "2_Dense" / "model.safetensors").is_file()
    back = HFTextTower.load(tmp_path, half.settings())
    assert type(back.backbone).__name__ == "SiglipTextModel" and back.pooling == "last"
    assert np.abs(embed(back, TEXTS) - embed(half, TEXTS)).max() < 1e-6


def test_siglip_teacher_distills_exports_and_serves(siglip_folder, tmp_path, monkeypatch):
    import json

    from PIL import Image

    from export.onnx import UnsupportedArchitecture, export_model
    from export.runtime import OnnxEncoder
    from search.build_index import main as build_index
    from training.distill.run import main as distill
    from zoo import load_model

    monkeypatch.setenv("LINGUALENS_HOME", str(tmp_path / "home"))
    colours = [("red", "rojo"), ("blue", "azul"), ("green", "verde"), ("black", "negro"), ("white", "blanco"),
               ("yellow", "amarillo"), ("gray", "gris"), ("pink", "rosa"), ("brown", "marrón"), ("navy", "marino")]
    rows, images = ["image,caption,language,split"], tmp_path / "images"
    images.mkdir()
    for i, (en, es) in enumerate(colours):
        Image.new("RGB", (40, 30), en).save(images / f"{i}.png")
        split = "train" if i < 6 else "val" if i < 8 else "test"
        rows += [f"images/{i}.png,a {en} square,en,{split}", f"images/{i}.png,un cuadrado {es},es,{split}"]
    (tmp_path / "colours.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert distill(["--teacher", str(siglip_folder), "--manifest", str(tmp_path / "colours.csv"), "--recipe", "half",
                    "--tail-rank", "8", "--script-floor", "50", "--loss", "dr", "--eval-languages", "en", "es",
                    "--epochs", "1", "--batch-size", "4", "--passes-per-epoch", "2", "--name", "sig-half", "--no-progress"]) == 0
    student = load_model("sig-half")
    assert student.text.pooling == "last" and student.family == "siglip"
    card = (tmp_path / "home" / "zoo" / "sig-half" / "README.md").read_text(encoding="utf-8")
    assert "library_name: transformers" in card and "SentenceTransformer(dir" not in card

    for ref, out in ((str(siglip_folder), tmp_path / "teacher-onnx"), ("sig-half", tmp_path / "student-onnx")):
        export_model(ref, out)  # parity with PyTorch (≤ 1e-4) is enforced inside, text and image
        config = json.loads((out / "lingualens_onnx.json").read_text())
        assert config["text"]["pooling"] == "last" and config["image"]["preprocess"]["resize"] == "squash"
    onnx = OnnxEncoder(tmp_path / "student-onnx")
    assert np.abs(onnx.encode_text(TEXTS) - student.encode_text(TEXTS)).max() < 1e-4
    with pytest.raises(UnsupportedArchitecture, match="no pooling for this tower"):
        export_model("sig-half", tmp_path / "st-layout", sentence_transformers=True)

    assert build_index(["--images", str(images), "--out", str(tmp_path / "index"), "--model", "sig-half"]) == 0
    assert (tmp_path / "index").is_dir()


def test_a_tokenizer_without_a_mask_gives_a_view_and_a_graph_without_one(siglip_folder, tmp_path):
    """SigLIP's own tokenizer returns input ids only, and the model attends to the padding too:
    the view, its student and the exported graph do the same."""
    from export.onnx import export_model
    from export.runtime import OnnxEncoder
    from zoo import load_model

    model = load_model(str(siglip_folder))
    masked = model.encode_text(TEXTS)
    model.text.tokenizer.model_input_names = ["input_ids"]
    assert set(model.text.tokenize(TEXTS)) == {"input_ids"}
    unmasked = model.encode_text(TEXTS)
    assert np.abs(unmasked - masked).max() > 1e-3  # the padding is attended to: another function
    view = model.text.hf_view()
    assert view.attention_mask is False and view.settings()["attention_mask"] is False
    assert np.abs(embed(view, TEXTS) - unmasked).max() < 1e-6
    tokenizer_dir = tmp_path / "no-mask"
    import shutil

    shutil.copytree(siglip_folder, tokenizer_dir)
    import json

    config = json.loads((tokenizer_dir / "tokenizer_config.json").read_text())
    (tokenizer_dir / "tokenizer_config.json").write_text(json.dumps({**config, "model_input_names": ["input_ids"]}))
    out = export_model(str(tokenizer_dir), tmp_path / "onnx")  # parity ≤ 1e-4 enforced inside
    onnx = OnnxEncoder(out)
    assert onnx.text_inputs == ["input_ids"] == onnx.config["text"]["inputs"]
    assert np.abs(onnx.encode_text(TEXTS) - unmasked).max() < 1e-4
