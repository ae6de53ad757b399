"""Embedded corpus: caption cleaning, concept splits, manifest round trip, determinism, bad input."""
import json
import os

import pytest

from core.records import Record, read_manifest, write_manifest
from corpus.corpus import CorpusConfig, build_corpus, load_corpus
from corpus.emoji_source import clean_name, emoji_concepts, group_key
from corpus.split import assign_splits


@pytest.mark.parametrize("raw, clean", [
    (":flag_for_Fiji:", "flag for Fiji"),
    (":man_astronaut:", "man astronaut"),
    (":旗_フィジー:", "旗 フィジー"),
    ("  :face__with_tears: ", "face with tears"),
    (":keycap_#:", "keycap #"),
])
def test_clean_name(raw, clean):
    assert clean_name(raw) == clean


def test_gendered_variants_share_a_group():
    assert group_key("\U0001F468\u200D\U0001F680", "man astronaut") == group_key("\U0001F9D1\u200D\U0001F680", "astronaut")
    assert group_key("\U0001F3C3\u200D\u2640\uFE0F", "woman running") == group_key("\U0001F3C3", "person running")
    assert group_key("\U0001F431", "cat face") != group_key("\U0001F436", "dog face")


def test_emoji_concepts_cover_the_package():
    concepts = emoji_concepts()
    assert len(concepts) >= 1800
    flags = [c for c in concepts if c.kind == "flag"]
    assert len(flags) >= 250 and all(len(c.territory) == 2 for c in flags)
    assert all(len(c.names) == 14 for c in concepts)
    assert all(not any(0x1F3FB <= ord(ch) <= 0x1F3FF for ch in c.char) for c in concepts)


def test_split_is_deterministic_disjoint_and_proportional():
    groups = [f"g{i}" for i in range(1000)]
    a, b = assign_splits(groups, seed=3), assign_splits(reversed(groups), seed=3)
    assert a == b
    counts = {s: sum(v == s for v in a.values()) for s in ("train", "val", "test")}
    assert counts == {"train": 800, "val": 100, "test": 100}
    assert assign_splits(groups, seed=4) != a
    with pytest.raises(ValueError, match="sum"):
        assign_splits(groups, fractions=(0.5, 0.5, 0.5))


def test_manifest_round_trip(tmp_path):
    recs = [Record("images/a.png", "emoji:1F431", "emoji", "ja", "猫の顔", "test", "emoji"),
            Record("images/b.png", "flag:FR", "flag", "fr", "France", "train", "cldr")]
    write_manifest(tmp_path / "m.jsonl", recs)
    assert sorted(read_manifest(tmp_path / "m.jsonl"), key=lambda r: r.image) == recs
    (tmp_path / "bad.jsonl").write_text('{"image": 1}\nnot json\n')
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        read_manifest(tmp_path / "bad.jsonl")


def test_full_corpus_contents_and_concept_disjoint_splits(embedded_corpus):
    records = load_corpus(embedded_corpus)
    stats = json.loads((embedded_corpus / "stats.json").read_text())
    assert stats["emoji_package_concepts"] >= 1800
    assert stats["languages"]["flag"] >= 60
    assert stats["concepts"]["photo"] >= 10
    split_of = {}
    for r in records:
        assert split_of.setdefault(r.concept, r.split) == r.split, r.concept
        assert (embedded_corpus / r.image).is_file()
    image_split = {}
    for r in records:  # no image in two splits either
        assert image_split.setdefault(r.image, r.split) == r.split
    assert {r.split for r in records if r.kind == "photo"} == {"ood"}
    assert {r.split for r in records if r.kind == "emoji"} == {"train", "val", "test"}
    assert "DATA_CARD.md" in os.listdir(embedded_corpus)
    card = (embedded_corpus / "DATA_CARD.md").read_text()
    assert "CC BY-SA 4.0" in card and "| ja | Japanese | Han/Kana | ✓ |" in card
    # CLDR names in ~100 languages; every language listed, held-out ones marked
    assert len(stats["captions_per_language_split"]) >= 95
    assert "| gu | Gujarati | Gujarati | ✓ | held out (dev) |" in card
    assert "| th | Thai | Thai | ✓ | **held out (test)** |" in card and "| yo | Yoruba | Latin |  |  |" in card
    by_lang = {(r.language, r.concept): r.caption for r in records if r.source == "cldr-name"}
    assert by_lang[("th", "emoji:1F408")] == "แมว" and by_lang[("sw", "emoji:1F408")] == "paka"
    # a test split of ≥ 15% of groups: every language's score rests on ≥ 250 queries
    emoji_test = {r.concept for r in records if r.kind == "emoji" and r.split == "test"}
    assert len(emoji_test) >= 0.15 * stats["concepts"]["emoji"]
    for lang, counts in stats["captions_per_language_split"].items():
        if counts.get("train", 0) >= 1000:
            assert counts["test"] >= 250, lang
    # near-duplicates never straddle splits
    split = {r.concept: r.split for r in records}
    assert split["emoji:1F408"] == split["emoji:1F408-200D-2B1B"]  # cat / black cat
    assert split["emoji:1F43B"] == split["emoji:1F43B-200D-2744-FE0F"]  # bear / polar bear


def test_keywords_are_tagged_and_keep_held_out_languages_out(embedded_corpus):
    from core.languages import HELD_OUT_LANGUAGES
    from corpus.corpus import load_keywords

    train = load_keywords(embedded_corpus)
    assert train and {r.source for r in train} == {"cldr-keyword"} and {r.split for r in train} == {"train"}
    assert not {r.language for r in train} & set(HELD_OUT_LANGUAGES)
    split = {r.concept: r.split for r in load_corpus(embedded_corpus)}
    assert all(split[r.concept] == "train" for r in train)
    everything = load_keywords(embedded_corpus, splits=("train", "val", "test"), exclude_languages=())
    assert {"th"} <= {r.language for r in everything}


def test_near_duplicate_groups():
    from corpus.emoji_source import near_duplicate_groups

    concepts = emoji_concepts()
    groups = near_duplicate_groups(concepts)
    code = {c.names["en"]: c.hexcode for c in concepts if c.kind == "emoji"}
    assert groups[code["cat"]] == groups[code["black cat"]]
    assert groups[code["sun"]] == groups[code["sun behind cloud"]]
    assert groups[code["man astronaut"]] == groups[code["woman astronaut"]]
    assert groups[code["cat"]] != groups[code["dog"]]
    assert groups[code["person running"]] != groups[code["person bowing"]]  # "person" alone links nothing
    sizes = {}
    for g in groups.values():
        sizes[g] = sizes.get(g, 0) + 1
    assert max(sizes.values()) < 0.05 * len(concepts)


def test_corrupt_cldr_extract_fails_the_build_naming_the_file(tmp_path):
    bad = tmp_path / "cldr.json.gz"
    bad.write_bytes(b"\x1f\x8bnot really gzip")
    with pytest.raises(ValueError, match="cldr.json.gz: corrupt CLDR extract"):
        build_corpus(tmp_path / "c", CorpusConfig(limit=2, cldr_extract=str(bad)), progress=False)
    assert not (tmp_path / "c").exists()


def test_rebuild_is_byte_identical(tmp_path):
    a = build_corpus(tmp_path / "a", CorpusConfig(limit=12), progress=False)
    b = build_corpus(tmp_path / "b", CorpusConfig(limit=12), progress=False)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files_a == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    # rebuilding over an existing corpus swaps it in whole
    build_corpus(a, CorpusConfig(limit=12), progress=False)
    assert (a / "manifest.jsonl").read_bytes() == (b / "manifest.jsonl").read_bytes()


def test_cache_dir_that_is_a_file_fails_before_work(tmp_path, monkeypatch):
    """A home that cannot be created fails before any work — as root too (CI runs as root, and root
    can write into read-only directories, but nothing can create a path under a regular file)."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("LINGUALENS_HOME", str(blocker / "home"))
    called = []
    monkeypatch.setattr("corpus.corpus.emoji_concepts", lambda: called.append(1) or ())
    with pytest.raises(PermissionError, match="LINGUALENS_HOME"):
        build_corpus(progress=False)
    assert not called, "no work may start before the directory check"


def test_cli_build_prints_card(tmp_path, capsys):
    from corpus.__main__ import main

    assert main(["build", "--out", str(tmp_path / "c"), "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "## Contents" in out and "corpus written to" in out
