"""Users' own data: three layouts, one record type, and bad rows reported instead of fatal."""
import json

import pytest
from PIL import Image

from core.languages import UnknownLanguageError, normalize_language
from corpus.user import ManifestError, load_image_folder, load_manifest, load_xm3600


@pytest.fixture
def images(tmp_path):
    Image.new("RGB", (8, 8), "red").save(tmp_path / "red.png")
    Image.new("RGB", (8, 8), "blue").save(tmp_path / "blue.jpg")
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (tmp_path / "empty.png").write_bytes(b"")
    return tmp_path


def test_language_codes_normalise_and_unknown_lists_known():
    assert normalize_language("pt-BR") == "pt"
    assert normalize_language("zh_Hans") == "zh"
    assert normalize_language("fil") == "tl"
    with pytest.raises(UnknownLanguageError, match="known codes: af, am, ar"):
        normalize_language("klingon")


def test_csv_manifest_with_bad_rows_reports_and_continues(images):
    (images / "m.csv").write_text(
        "image,caption,language\n"
        "red.png,a red square,en\n"
        "red.png,un carré rouge,fr\n"
        "red.png,a red square,en\n"  # duplicate
        "blue.jpg,   ,en\n"  # empty caption
        "missing.png,nothing,en\n"
        "corrupt.png,broken,en\n"
        "empty.png,zero bytes,de\n"
        "blue.jpg,ein blaues Quadrat,de-DE\n",
        encoding="utf-8",
    )
    records, report = load_manifest(images / "m.csv")
    assert [(r.language, r.caption) for r in records] == [
        ("en", "a red square"), ("fr", "un carré rouge"), ("de", "ein blaues Quadrat")]
    assert report.duplicates == 1 and report.empty_captions == 1
    assert len(report.bad_images) == 3
    assert "missing.png" in report.summary() and "3 missing/unreadable images skipped" in report.summary()
    assert records[0].concept == records[1].concept  # two captions of one image, one concept


def test_jsonl_manifest_unknown_language_is_rejected(images):
    (images / "m.jsonl").write_text(json.dumps({"image": "red.png", "caption": "x", "language": "xx"}) + "\n")
    with pytest.raises(UnknownLanguageError, match="'xx'.*known codes"):
        load_manifest(images / "m.jsonl")


def test_manifest_with_nothing_usable_says_why(images):
    (images / "m.csv").write_text("image,caption,language\nmissing.png,a,en\ncorrupt.png,b,en\n")
    with pytest.raises(ManifestError, match="no usable rows.*2 missing/unreadable"):
        load_manifest(images / "m.csv")


def test_manifest_missing_columns_and_bad_split(images):
    (images / "m.csv").write_text("image,text\nred.png,a\n")
    with pytest.raises(ManifestError, match="lacks column"):
        load_manifest(images / "m.csv")
    (images / "s.csv").write_text("image,caption,language,split\nred.png,a,en,holdout\n")
    with pytest.raises(ManifestError, match="split 'holdout'"):
        load_manifest(images / "s.csv")


def test_image_folder(images):
    (images / "captions.jsonl").write_text(
        json.dumps({"image": "red.png", "caption": "赤い四角", "language": "ja"}, ensure_ascii=False) + "\n")
    records, report = load_image_folder(images)
    assert records[0].language == "ja" and records[0].image == str(images / "red.png")
    with pytest.raises(ManifestError, match="no captions"):
        load_image_folder(images / "nowhere")


def test_xm3600_layout_skips_uncovered_languages(images):
    (images / "imgs").mkdir()
    Image.new("RGB", (4, 4)).save(images / "imgs" / "000a.jpg")
    line = {"image/key": "000a", "image/locale": "en",
            "en": {"caption": ["a black image", "darkness"]},
            "fr": {"caption": ["une image noire"]},
            "mi": {"caption": ["he pikitia pango"]}}
    (images / "captions.jsonl").write_text(json.dumps(line) + "\n")
    records, report = load_xm3600(images / "captions.jsonl", images / "imgs")
    assert sorted(r.caption for r in records) == ["a black image", "darkness", "une image noire"]
    assert {r.concept for r in records} == {"xm3600:000a"} and report.skipped_languages == {"mi": 1}
