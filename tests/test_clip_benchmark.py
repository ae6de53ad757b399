"""CLIP_benchmark both ways: its command line evaluates LinguaLens models (PyTorch and ONNX), and
`python -m evaluation --dataset` reads its WebDataset and XM3600 layouts — with the same recall."""
import json
from pathlib import Path

import numpy as np
import pytest

from core.records import read_manifest
from evaluation.external import DatasetFormatError, evaluate_dataset, recall_keys, recall_report

LANGUAGES = ("en", "es", "ja")
KS = (1, 3, 5)


@pytest.fixture(scope="module")
def samples(embedded_corpus):
    """12 test-split emoji images, each with its caption in English, Spanish and Japanese."""
    by_image: dict[str, dict[str, str]] = {}
    for r in read_manifest(embedded_corpus / "manifest.jsonl"):
        if r.split == "test" and r.kind == "emoji" and r.language in LANGUAGES:
            by_image.setdefault(r.image, {}).setdefault(r.language, r.caption)
    from tests.tiny import tiny_unigram

    pieces = tiny_unigram()  # the tiny models' 4,000-piece vocabulary: rare scripts fall to <unk>
    chosen, seen = [], set()
    for image, c in sorted(by_image.items()):
        captions = [c.get(lang) for lang in LANGUAGES]
        if None in captions:
            continue
        cut = {tuple(pieces.encode(t).ids) for t in captions}
        if len(cut) == len(captions) and not seen & cut:  # no two captions tokenized alike: no tied scores
            seen |= cut
            chosen.append((embedded_corpus / image, captions))
    assert len(chosen) >= 12
    return chosen[:12]


@pytest.fixture(scope="module")
def wds_dir(samples, tmp_path_factory):
    """The layout CLIP_benchmark's `clip_benchmark_export_wds` writes, in two shards, written by
    our exporter (`corpus.to_clip_benchmark`)."""
    from corpus.to_clip_benchmark import write_dataset

    root = tmp_path_factory.mktemp("wds") / "tiny"
    assert write_dataset(Path("/"), {str(image): captions for image, captions in samples}, root, max_per_shard=7) == 12
    assert (root / "test" / "nshards.txt").read_text() == "2\n" and (root / "test" / "1.tar").is_file()
    return root


@pytest.fixture(scope="module")
def xm3600_root(samples, tmp_path_factory):
    """XM3600's release layout (captions.jsonl + images/<key>.jpg) under <root>/xm3600."""
    from PIL import Image

    root = tmp_path_factory.mktemp("xm")
    (root / "xm3600" / "images").mkdir(parents=True)
    lines = []
    for i, (image, captions) in enumerate(samples):
        key = f"{i:016x}"
        Image.open(image).convert("RGB").save(root / "xm3600" / "images" / f"{key}.jpg", quality=95)
        record = {"image/key": key, **{lang: {"caption": [c, f"second {c}"]} for lang, c in zip(LANGUAGES, captions)}}
        lines.append(json.dumps(record, ensure_ascii=False))
    (root / "xm3600" / "captions.jsonl").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="module")
def tiny_model(session_home):
    from core.paths import export_dir, zoo_dir
    from export.onnx import export_model
    from tests.tiny import tiny_dual_encoder

    model = tiny_dual_encoder(seed=3)
    model.save_pretrained(zoo_dir() / "tiny-clip-benchmark")
    export_model("tiny-clip-benchmark", export_dir() / "tiny-clip-benchmark")
    return model


def clip_benchmark_metrics(tmp_path, *args) -> dict:
    from export.clip_benchmark import main

    out = tmp_path / "result.json"
    main(["eval", "--model", "tiny-clip-benchmark", "--task", "zeroshot_retrieval", "--recall_k", *map(str, KS),
          "--num_workers", "0", "--batch_size", "5", "--output", str(out), "--quiet", *args])
    return json.loads(out.read_text())["metrics"]


def assert_same(ours: dict, theirs: dict):
    """Equal counts of hits. Ours counts a tie against the query, CLIP_benchmark's torch.topk breaks
    it arbitrarily: the fixtures keep every caption distinct so no two scores tie."""
    keys = recall_keys(KS)
    assert set(keys) <= set(theirs)
    for key in keys:
        assert ours[key] == pytest.approx(theirs[key], abs=1e-6), key  # theirs is float32: 1/36 apart is a whole hit
        lo, hi = ours[key + "_interval"]
        assert lo <= ours[key] <= hi


@pytest.mark.parametrize("runtime", ["pytorch", "onnx"])
def test_webdataset_gives_the_same_recall_both_ways(tiny_model, wds_dir, tmp_path, runtime):
    theirs = clip_benchmark_metrics(tmp_path, "--pretrained", runtime, "--dataset", "wds/tiny",
                                    "--dataset_root", str(wds_dir))
    ours = evaluate_dataset(tiny_model, wds_dir, ks=KS, n_boot=200)
    assert ours["images"] == 12 and ours["captions"] == 36 and ours["format"] == "wds"
    assert_same(ours, theirs)


def test_xm3600_gives_the_same_recall_both_ways(tiny_model, xm3600_root, tmp_path):
    theirs = clip_benchmark_metrics(tmp_path, "--pretrained", "pytorch", "--dataset", "crossmodal3600",
                                    "--dataset_root", str(xm3600_root), "--language", "es")
    ours = evaluate_dataset(tiny_model, xm3600_root, language="es", ks=KS, n_boot=200)
    assert ours["images"] == 12 and ours["captions"] == 12  # the first caption per image, as CLIP_benchmark
    assert_same(ours, theirs)


def test_recall_definitions_on_a_hand_made_case():
    # 2 images; image 0 has captions 0 and 1, image 1 has caption 2
    images = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    texts = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]], np.float32)  # caption 1 points at the wrong image
    r = recall_report(texts, images, [["a", "b"], ["c"]], ks=(1,), n_boot=50)
    assert r["image_retrieval_recall@1"] == pytest.approx(2 / 3)  # captions 0 and 2 find their image
    # image 0's best caption is caption 0 (its own); image 1 ties between captions 1 and 2 at 1.0:
    # ties count against the query, so image 1 misses at k=1
    assert r["text_retrieval_recall@1"] == pytest.approx(1 / 2)
    assert r["text_retrieval_recall@1_if_ties_won"] == pytest.approx(2 / 2)  # the tie won: image 1 finds caption 2
    assert r["image_retrieval_recall@1_if_ties_won"] == pytest.approx(2 / 3)  # no tie on this side


def test_bad_datasets_are_refused_with_a_reason(tmp_path, wds_dir, tiny_model):
    with pytest.raises(DatasetFormatError, match="neither a CLIP_benchmark WebDataset"):
        evaluate_dataset(tiny_model, tmp_path)
    broken = tmp_path / "broken"
    (broken / "test").mkdir(parents=True)
    (broken / "dataset_type.txt").write_text("retrieval\n")
    (broken / "test" / "nshards.txt").write_text("3\n")
    (broken / "test" / "0.tar").write_bytes((wds_dir / "test" / "0.tar").read_bytes())
    with pytest.raises(DatasetFormatError, match="1.tar, 2.tar are missing"):
        evaluate_dataset(tiny_model, broken)
    (broken / "dataset_type.txt").write_text("classification\n")
    with pytest.raises(DatasetFormatError, match="classification dataset"):
        evaluate_dataset(tiny_model, broken)


def test_xm3600_needs_a_language(xm3600_root, tiny_model):
    with pytest.raises(DatasetFormatError, match="--dataset-language"):
        evaluate_dataset(tiny_model, xm3600_root)
    with pytest.raises(DatasetFormatError, match="no image with a 'xx' caption"):
        evaluate_dataset(tiny_model, xm3600_root, language="xx")


def test_evaluate_command_reads_a_dataset(tiny_model, wds_dir, tmp_path, capsys):
    from evaluation.run import main

    assert main(["--model", "tiny-clip-benchmark", "--dataset", str(wds_dir), "--recall-k", "1", "5",
                 "--bootstrap", "100", "--out", str(tmp_path / "r")]) == 0
    (saved,) = json.loads((tmp_path / "r" / "external.json").read_text()).values()
    assert saved["image_retrieval_recall@5"] == pytest.approx(
        evaluate_dataset(tiny_model, wds_dir, ks=(5,), n_boot=10)["image_retrieval_recall@5"])
    assert "image_retrieval_recall@1" in capsys.readouterr().out


def test_the_corpus_exports_one_dataset_per_language(small_corpus, tmp_path):
    from corpus.to_clip_benchmark import captions_by_image, export
    from evaluation.external import read_wds_retrieval

    counts = export(tmp_path, ["th", "es"], corpus=small_corpus)
    records = read_manifest(small_corpus / "manifest.jsonl")
    for lang in ("th", "es"):
        expected = captions_by_image(records, "test", lang)
        images, captions = read_wds_retrieval(tmp_path / lang)
        assert counts[lang] == len(images) == len(expected) > 0
        assert captions == list(expected.values())  # every caption of the language, in image order
    with pytest.raises(ValueError, match="no test captions in xx"):
        export(tmp_path / "bad", ["xx"], corpus=small_corpus)
