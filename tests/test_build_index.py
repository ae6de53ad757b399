"""Your own photos: resumable sharded embedding, ranks that split the work, an index the app serves."""
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from tests.tiny import tiny_dual_encoder


@pytest.fixture(scope="module")
def zoo_models(session_home):
    from core.paths import zoo_dir

    for name, seed, image_seed in (("idx-teacher", 0, 0), ("idx-student", 1, 0), ("idx-other", 2, 5)):
        model = tiny_dual_encoder("clip", seed=seed)
        if image_seed != seed:  # another image tower
            model.image = tiny_dual_encoder("clip", seed=image_seed).image
        elif name == "idx-student":  # a student shares its teacher's image tower, byte for byte
            model.image = tiny_dual_encoder("clip", seed=0).image
        model.name = name
        model.save_pretrained(zoo_dir() / name)
    return session_home


@pytest.fixture()
def photos(tmp_path):
    root = tmp_path / "photos"
    (root / "trip").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(7):
        Image.fromarray(rng.integers(0, 255, (40 + i, 50, 3), dtype=np.uint8)).save(root / ("trip" if i % 2 else ".") / f"p{i}.png")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "notes.txt").write_text("not an image, not listed")
    return root


def test_build_resume_and_serve(zoo_models, photos, tmp_path, monkeypatch):
    from search import build_index as bi

    out = tmp_path / "index"
    real = bi.embed_shard
    calls = []

    def dies_on_third(model, root, files, path):
        calls.append(path.name)
        if len(calls) == 3:
            raise KeyboardInterrupt  # a kill between shards
        real(model, root, files, path)

    monkeypatch.setattr(bi, "embed_shard", dies_on_third)
    with pytest.raises(KeyboardInterrupt):
        bi.build(photos, out, "idx-teacher", shard_size=3, show_progress=False)
    assert sorted(p.name for p in (out / "shards").glob("*.safetensors")) == ["00000.safetensors", "00001.safetensors"]
    calls.clear()
    monkeypatch.setattr(bi, "embed_shard", lambda *a: (calls.append(a[3].name), real(*a)))
    meta = bi.build(photos, out, "idx-teacher", shard_size=3, show_progress=False)
    assert calls == ["00002.safetensors"]  # only the missing shard was embedded again
    assert meta["count"] == 7 and meta["kind"] == "exact" and list(meta["skipped"]) == ["broken.jpg"]
    assert "broken.jpg" in meta["skipped"] and str(photos) not in json.dumps(meta["skipped"])

    from zoo import load_model

    meta, index = bi.read_index(out)
    model = load_model("idx-teacher")
    stored = np.stack([index._index.reconstruct(i) for i in range(len(index))])  # exact index: vectors as added
    fresh = model.encode_image([Image.open(p) for p in index.payloads])
    assert np.abs(stored - fresh).max() < 1e-5  # every payload sits beside its own image's vector
    assert sorted(index.payloads) == sorted(str(photos.resolve() / n) for n in json.loads(
        (out / "images.json").read_text())["files"] if n != "broken.jpg")


def test_a_changed_folder_needs_restart_and_ranks_split_the_shards(zoo_models, photos, tmp_path):
    from search import build_index as bi

    out = tmp_path / "index"
    with pytest.raises(bi.IndexBuildError, match="rank 0 has not listed"):  # another rank waits for rank 0's listing
        bi.build(photos, out, "idx-teacher", shard_size=2, rank=1, world=2, wait_s=1, show_progress=False)
    bi._listing(out, photos.resolve(), restart=False)  # rank 0 lists first
    assert bi.build(photos, out, "idx-teacher", shard_size=2, rank=1, world=2, show_progress=False) is None
    assert sorted(p.name for p in (out / "shards").glob("*")) == ["00001.safetensors", "00003.safetensors"]
    meta = bi.build(photos, out, "idx-teacher", shard_size=2, rank=0, world=2, show_progress=False)
    assert meta["count"] == 7
    Image.new("RGB", (9, 9)).save(photos / "new.png")
    with pytest.raises(bi.IndexBuildError, match="changed since .* --restart"):
        bi.build(photos, out, "idx-teacher", shard_size=2, show_progress=False)
    assert bi.build(photos, out, "idx-teacher", shard_size=2, restart=True, show_progress=False)["count"] == 8


def test_bad_arguments_are_named(zoo_models, photos, tmp_path):
    from search import build_index as bi

    with pytest.raises(bi.IndexBuildError, match="not a directory"):
        bi.build(tmp_path / "nowhere", tmp_path / "i", "idx-teacher")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no pictures here")
    with pytest.raises(bi.IndexBuildError, match="no images"):
        bi.build(tmp_path / "empty", tmp_path / "i", "idx-teacher")
    with pytest.raises(bi.IndexBuildError, match="not a zoo checkpoint"):
        bi.build(photos, tmp_path / "i", "no-such-model")
    with pytest.raises(bi.IndexBuildError, match="not a LinguaLens image index"):
        bi.read_index(tmp_path)


def test_the_service_serves_the_index_to_models_that_share_its_image_tower(zoo_models, photos, small_corpus, tmp_path):
    from search import build_index as bi
    from search.service import SearchService

    out = tmp_path / "index"
    bi.build(photos, out, "idx-teacher", shard_size=4, show_progress=False)
    service = SearchService(small_corpus, user_index=out)
    assert len(service.gallery) == 7 and all(p.startswith(str(photos.resolve())) for p in service.gallery)
    teacher, student = service.search_text("a photo", "idx-teacher", "idx-student", k=3)["panels"]
    assert len(teacher.hits) == 3 and len(student.hits) == 3 and student.error is None
    other = service.search_text("a photo", "idx-teacher", "idx-other", k=3)["panels"][1]
    assert "embedded with idx-teacher's image tower" in other.error
    shutil.rmtree(out / "shards")  # the built index does not need its shards
    assert len(SearchService(small_corpus, user_index=out).gallery) == 7
