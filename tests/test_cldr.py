"""CLDR annotation extract: regeneration round trip on tiny tarballs made here, locale selection
with reasons, byte-identical rebuilds, and clear refusals of corrupt, tampered or mismatched files."""
import gzip
import io
import json
import tarfile

import pytest

from corpus.cldr import EXTRACT_PATH, ExtractError, emoji_key, extract, load_extract, main, write_extract

CAT, DOG, BEAR, POLAR = "\U0001F408", "\U0001F415", "\U0001F43B", "\U0001F43B\u200D\u2744\uFE0F"


def _tarball(path, folder, key, locales):
    with tarfile.open(path, "w:gz") as tar:
        for loc, anns in locales.items():
            data = json.dumps({key: {"identity": {"language": loc}, "annotations": anns}}).encode()
            info = tarfile.TarInfo(f"package/{folder}/{loc}/annotations.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def tarballs(tmp_path):
    full = _tarball(tmp_path / "full.tgz", "annotations", "annotations", {
        "fr": {CAT: {"default": ["animal", "chat"], "tts": ["chat"]}, DOG: {"default": ["chien"], "tts": ["chien"]}},
        "fr-CA": {CAT: {"tts": ["chat"]}, DOG: {"tts": ["chien"]}},
        "de": {CAT: {"default": ["Katze"], "tts": ["Katze"]}},
        "fil": {CAT: {"default": ["pusa"], "tts": ["pusa"]}, DOG: {"tts": ["aso"]}},
        "xx": {CAT: {"tts": ["\u2603\u2603"]}, DOG: {"tts": ["\u2603"]}},
        "und": {CAT: {"tts": ["?"]}, DOG: {"tts": ["?"]}},
    })
    # derived data names sequences; CLDR keys drop VS16 where the emoji package keeps it
    derived = _tarball(tmp_path / "derived.tgz", "annotationsDerived", "annotationsDerived", {
        "fr": {POLAR.replace("\uFE0F", ""): {"default": ["ours", "blanc"], "tts": ["ours blanc"]}},
    })
    return full, derived


def unknown_fraction(names):
    return sum("\u2603" in n for n in names) / len(names)  # the snowman stands for <unk> pieces


def test_extract_selects_locales_with_reasons(tarballs):
    full, derived = tarballs
    data = extract(full, derived, [CAT, DOG, POLAR, BEAR], unknown_fraction, min_names=2)
    assert sorted(data["names"]) == ["fr", "tl"]  # Filipino uses the project's code
    fr = data["names"]["fr"]
    assert fr[emoji_key(CAT)] == ["chat", ["animal"]]  # the name is not repeated as a keyword
    assert fr[emoji_key(POLAR)] == ["ours blanc", ["blanc", "ours"]]
    assert emoji_key(BEAR) not in fr
    assert data["skipped"] == {"de": "names only 1 of the corpus emoji (< 2)",
                               "fr-CA": "regional or script variant of a base locale",
                               "xx": "100.0% of its name pieces are unknown to the teacher's tokenizer"}
    assert data["emoji"] == sorted(emoji_key(c) for c in (CAT, DOG, POLAR, BEAR))


def test_round_trip_is_byte_identical(tarballs, tmp_path):
    full, derived = tarballs
    a = write_extract(extract(full, derived, [CAT, DOG, POLAR], unknown_fraction, min_names=2), tmp_path / "a.json.gz")
    b = write_extract(extract(full, derived, [CAT, DOG, POLAR], unknown_fraction, min_names=2), tmp_path / "b.json.gz")
    assert a.read_bytes() == b.read_bytes()
    loaded = load_extract(a, expected_emoji={emoji_key(c) for c in (CAT, DOG, POLAR)})
    assert loaded.languages == ["fr", "tl"]
    assert loaded.names["tl"][emoji_key(CAT)] == ("pusa", ())
    assert loaded.skipped["de"].startswith("names only 1")


def test_bad_extracts_fail_naming_the_file(tarballs, tmp_path):
    full, derived = tarballs
    good = write_extract(extract(full, derived, [CAT, DOG], unknown_fraction, min_names=2), tmp_path / "x.json.gz")
    with pytest.raises(ExtractError, match="x.json.gz: made for a different emoji set"):
        load_extract(good, expected_emoji={emoji_key(CAT)})
    data = json.loads(gzip.decompress(good.read_bytes()))
    data["names"]["fr"][emoji_key(CAT)][0] = "chien"
    tampered = tmp_path / "tampered.json.gz"
    tampered.write_bytes(gzip.compress(json.dumps(data).encode()))
    with pytest.raises(ExtractError, match="tampered.json.gz: names do not match"):
        load_extract(tampered)
    corrupt = tmp_path / "corrupt.json.gz"
    corrupt.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ExtractError, match="corrupt.json.gz: corrupt CLDR extract"):
        load_extract(corrupt)
    with pytest.raises(ExtractError, match="missing.json.gz: CLDR extract missing"):
        load_extract(tmp_path / "missing.json.gz")
    not_cldr = tmp_path / "other.tgz"
    _tarball(not_cldr, "something", "x", {"fr": {}})
    with pytest.raises(ExtractError, match="other.tgz: no annotations/<locale>/annotations.json inside"):
        extract(not_cldr, derived, [CAT], unknown_fraction)


def test_cli_reports_a_bad_tarball(tmp_path, capsys):
    bad = tmp_path / "bad.tgz"
    bad.write_bytes(b"not a tarball")
    assert main(["--full", str(bad), "--derived", str(bad), "--out", str(tmp_path / "o.json.gz")]) == 2
    assert "bad.tgz: not a readable CLDR annotations tarball" in capsys.readouterr().err


def test_shipped_extract_covers_100_languages_and_the_corpus():
    from core.languages import HELD_OUT_LANGUAGES
    from corpus.emoji_source import emoji_concepts

    cldr = load_extract(EXTRACT_PATH, expected_emoji={emoji_key(c.char) for c in emoji_concepts()})
    assert len(cldr.languages) >= 95 and set(HELD_OUT_LANGUAGES) <= set(cldr.languages)
    assert all(len(v) >= 1500 for v in cldr.names.values())
    assert cldr.names["th"][emoji_key(CAT)][0] == "แมว"
    assert cldr.names["sw"][emoji_key(CAT)][0] == "paka"
    assert EXTRACT_PATH.stat().st_size <= 5_000_000
    assert (EXTRACT_PATH.parent / "LICENSE").read_text().startswith("UNICODE LICENSE V3")
