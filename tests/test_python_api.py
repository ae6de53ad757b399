"""`lingualens.ImageSearch`: a folder searched in three lines, cached, with PyTorch or ONNX alike."""
import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.tiny import tiny_dual_encoder

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def api_model(session_home):
    from core.paths import zoo_dir

    model = tiny_dual_encoder("clip", seed=3)
    model.name = "api-model"
    model.save_pretrained(zoo_dir() / "api-model")
    return "api-model"


@pytest.fixture()
def folder(tmp_path):
    root = tmp_path / "pictures"
    (root / "trip").mkdir(parents=True)
    for i, colour in enumerate(["red", "navy", "gold", "teal", "white"]):
        Image.new("RGB", (30 + 7 * i, 40), colour).save(root / ("trip" if i % 2 else ".") / f"{colour}.png")
    (root / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    return root


def _ranking(model, folder: Path, query: str) -> list[tuple[str, float]]:
    paths = sorted(p for p in folder.rglob("*.png"))
    scores = model.encode_text([query]) @ model.encode_image([Image.open(p) for p in paths]).T
    return sorted(((str(p), float(s)) for p, s in zip(paths, scores[0])), key=lambda x: -x[1])


def test_text_and_image_queries_rank_like_the_model_does(api_model, folder):
    from lingualens import ImageSearch
    from zoo import load_model

    search = ImageSearch(folder, model=api_model, progress=False)
    assert len(search) == 5 and list(search.skipped) == ["broken.jpg"] and str(folder) not in search.skipped["broken.jpg"]
    got = search("собака на пляже", k=3)
    want = _ranking(load_model(api_model), folder, "собака на пляже")[:3]
    assert [p for p, _ in got] == [p for p, _ in want]
    assert np.allclose([s for _, s in got], [s for _, s in want], atol=1e-5)
    by_image = search(folder / "gold.png", k=5)
    assert len(by_image) == 5 and by_image == sorted(by_image, key=lambda x: -x[1])
    with pytest.raises(ValueError, match="type something"):
        search("   ")
    with pytest.raises(NotADirectoryError):
        ImageSearch(folder / "nowhere", model=api_model)


def test_a_second_run_embeds_only_what_changed(api_model, folder, monkeypatch):
    import lingualens

    lingualens.ImageSearch(folder, model=api_model, progress=False)
    seen = []
    real = lingualens.embed_images
    monkeypatch.setattr(lingualens, "embed_images", lambda enc, paths, root: (seen.extend(paths), real(enc, paths, root))[1])
    again = lingualens.ImageSearch(folder, model=api_model, progress=False)
    assert seen == [] and len(again) == 5 and "broken.jpg" in again.skipped  # all from the cache
    Image.new("RGB", (64, 64), "black").save(folder / "red.png")  # a changed file
    lingualens.ImageSearch(folder, model=api_model, progress=False)
    assert [Path(p).name for p in seen] == ["red.png"]


def test_an_onnx_export_searches_like_its_pytorch_model(api_model, folder, tmp_path):
    from export.onnx import export_model
    from lingualens import ImageSearch

    exported = export_model(api_model, tmp_path / "api-model-onnx")
    torch_hits = ImageSearch(folder, model=api_model, progress=False)("un chat", k=5)
    onnx_hits = ImageSearch(folder, model=str(exported), progress=False)("un chat", k=5)
    assert [p for p, _ in onnx_hits] == [p for p, _ in torch_hits]
    assert np.allclose([s for _, s in onnx_hits], [s for _, s in torch_hits], atol=1e-4)


def test_the_readme_example_runs(api_model, folder):
    readme = (ROOT / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "from lingualens import" in b)
    assert len([line for line in block.splitlines() if line.strip() and not line.startswith("#")]) == 3
    code = block.replace("lit-e5s-effl0-clip-half-dr", api_model).replace("~/Pictures", str(folder))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    assert str(folder) in out.getvalue()
