"""The photo-aware image head: the gate and the ConSE mix by hand, the checkpoint round trip and
refusal of a tampered gate, ONNX parity, and the validation-only gate choice."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from tests.tiny import tiny_dual_encoder
from zoo.heads import Gate, PhotoAwareHead


def test_gate_weight_by_hand_and_bad_gates_refused():
    g = Gate(floor=0.2, ceiling=0.8, low=0.3, high=0.7)
    w = g.weight(torch.tensor([0.9, 0.7, 0.5, 0.3, 0.0]))
    assert w.tolist() == pytest.approx([0.2, 0.2, 0.5, 0.8, 0.8])
    for bad, message in [(dict(ceiling=1.5), "ceiling must be in"), (dict(low=0.5, high=0.5), "low < high"),
                         (dict(floor=float("nan")), "must be a number"), (dict(high="x"), "must be a number")]:
        with pytest.raises(ValueError, match=message):
            Gate(**{**dict(floor=0.0, ceiling=0.5, low=0.1, high=0.2), **bad})


def test_flatness_by_hand():
    from zoo.heads import flatness

    x = torch.zeros(2, 3, 4, 4)
    x[1, 0, 0, 1] = 1.0  # one changed pixel breaks the two comparisons that touch it
    # 3x3 pixels are compared (right and down); in image 1, pixels (0,0) and (0,1) see the change
    assert flatness(x).tolist() == pytest.approx([1.0, 7 / 9])
    noise = torch.randn(1, 3, 16, 16)
    assert flatness(noise).item() == 0.0


def _photo_head(dims=(8, 6, 4), classes=5, gate=Gate(0.25, 0.75, 0.2, 0.6), top_k=2, seed=0):
    from zoo.heads import MLPHead

    torch.manual_seed(seed)
    return PhotoAwareHead(MLPHead(list(dims)), nn.Linear(dims[0], classes), torch.randn(classes, dims[-1]), gate,
                          top_k=top_k).eval()


def test_forward_is_the_documented_mix():
    from zoo.heads import with_flatness

    head = _photo_head()
    feats = torch.randn(3, 8)
    flat = torch.tensor([0.1, 0.4, 0.9])  # below, inside and above the ramp
    with torch.no_grad():
        got = head(with_flatness(feats, flat))
        for i, f in enumerate(feats):
            p = head.classifier(f).softmax(-1)
            top = torch.argsort(p, descending=True)[:2]
            conse = F.normalize(sum(p[k] * head.class_text[k] for k in top), dim=0)
            w = 0.25 + 0.5 * min(max((0.6 - flat[i].item()) / 0.4, 0.0), 1.0)
            want = F.normalize((1 - w) * F.normalize(head.head(f), dim=0) + w * conse, dim=0)
            assert torch.allclose(got[i], want, atol=1e-6)
    assert torch.allclose(got.norm(dim=-1), torch.ones(3), atol=1e-6)
    with pytest.raises(ValueError, match="class_text must be"):
        PhotoAwareHead(head.head, head.classifier, torch.zeros(4, 4), head.gate)
    with pytest.raises(ValueError, match="top_k must be in 1..5"):
        PhotoAwareHead(head.head, head.classifier, head.class_text, head.gate, top_k=6)


def _half_flat(seed: int, size: int = 40) -> Image.Image:
    """Left half noise, right half one flat colour: flatness about one half."""
    a = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
    a[:, size // 2 + seed % 5:] = (200, 30, 60)
    return Image.fromarray(a)


def _tiny_photo_model():
    model = tiny_dual_encoder("clip")
    img = model.image
    torch.manual_seed(1)
    gate = Gate(0.1, 0.9, 0.2, 0.8)  # half-flat images land on the ramp
    img.head = PhotoAwareHead(img.head, nn.Linear(img.head.dims[0], 12), torch.randn(12, model.embed_dim), gate, top_k=3)
    return model.eval()


def test_checkpoint_round_trip_and_tampered_gate(tmp_path):
    from zoo.checkpoint import CheckpointError
    from zoo.factory import load_checkpoint

    model = _tiny_photo_model()
    images = [Image.new("RGB", (50, 30), "red"), _half_flat(0), _half_flat(3), Image.new("L", (20, 20), 128)]
    path = model.save_pretrained(tmp_path / "photo")
    back = load_checkpoint(path)
    assert isinstance(back.image.head, PhotoAwareHead) and back.image.head.gate == model.image.head.gate
    assert np.abs(back.encode_image(images) - model.encode_image(images)).max() < 1e-6
    cfg_path = path / "lingualens.json"
    cfg = json.loads(cfg_path.read_text())
    assert cfg["image"]["head"]["photo"]["top_k"] == 3
    cfg["image"]["head"]["photo"]["gate"]["ceiling"] = 7
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="malformed image head settings.*ceiling must be in"):
        load_checkpoint(path)


def test_onnx_image_graph_keeps_the_photo_head(tmp_path):
    import onnxruntime as ort

    from export.onnx import export_towers

    model = _tiny_photo_model()
    export_towers(model, tmp_path)
    from zoo.heads import flatness

    images = [_half_flat(i) for i in range(5)] + [Image.new("RGB", (40, 40), "white")]
    x = model.image.prepare(images)["pixel_values"]
    w = model.image.head.gate.weight(flatness(x))
    assert ((w > 0.1) & (w < 0.9)).sum() >= 3  # the ramp itself is exported, not only its ends
    got = ort.InferenceSession(str(tmp_path / "image.onnx")).run(None, {"pixel_values": x.numpy()})[0]
    assert np.abs(got - model.encode_image(images)).max() <= 1e-4


def _gate_data(photo_scale: float):
    """Flat drawings that the head finds, textured photos whose classes are their concepts."""
    from training.photo_gate import GateData

    torch.manual_seed(0)
    d = 4
    emoji_text = F.normalize(torch.randn(6, d), dim=-1)
    gallery = torch.cat([emoji_text * 10, torch.zeros(6, 4), torch.full((6, 1), 0.9)], 1)  # head = first 4 features
    photo_text = F.normalize(torch.randn(2, d), dim=-1)
    photos = torch.cat([torch.randn(2, 4) * 0.01, torch.eye(2, 4) * photo_scale, torch.full((2, 1), 0.05)], 1)
    return GateData(emoji_queries=emoji_text, emoji_target=list(range(6)), gallery=gallery, photos=photos,
                    photo_queries=photo_text, photo_target=[{0}, {1}])


def _gate_parts():
    head = nn.Sequential(nn.Linear(8, 4, bias=False))
    with torch.no_grad():
        head[0].weight.copy_(torch.cat([torch.eye(4), torch.zeros(4, 4)], 1))
    head.dims = [8, 4]
    classifier = nn.Linear(8, 4, bias=False)
    with torch.no_grad():
        classifier.weight.copy_(torch.cat([torch.zeros(4, 4), torch.eye(4) * 50], 1))
    return head, classifier


def test_gate_choice_keeps_drawings_and_prefers_the_gentlest_gate():
    from training.photo_gate import choose_gate

    head, classifier = _gate_parts()
    data = _gate_data(photo_scale=3.0)
    class_text = torch.cat([data.photo_queries, F.normalize(torch.randn(2, 4), dim=-1)])
    choice = choose_gate(head, classifier, class_text, data, top_k=1)
    chosen = [r for r in choice.table if r["chosen"]]
    assert len(chosen) == 1 and chosen[0]["keeps_drawings"]
    assert chosen[0]["photo_R@10"] == 1.0 and choice.head_only["emoji_R@10"] == 1.0
    best_photo = max(r["photo_R@10"] for r in choice.table if r["keeps_drawings"])
    gentlest = min(r["drawing_weight"] for r in choice.table if r["keeps_drawings"] and r["photo_R@10"] == best_photo)
    assert chosen[0]["drawing_weight"] == gentlest


def test_no_gate_that_keeps_drawings_means_the_trained_head_alone():
    from training.photo_gate import choose_gate

    head, classifier = _gate_parts()
    data = _gate_data(photo_scale=3.0)
    class_text = torch.cat([data.photo_queries, F.normalize(torch.randn(2, 4), dim=-1)])
    choice = choose_gate(head, classifier, class_text, data, top_k=1, max_emoji_drop=-1.0)  # nothing can pass
    assert choice.gate == Gate(0.0, 0.0, 0.0, 1.0) and not any(r["chosen"] for r in choice.table)
    assert choice.gate.weight(torch.tensor([0.5, 5.0, 50.0])).tolist() == [0.0, 0.0, 0.0]  # no photo weight at all
