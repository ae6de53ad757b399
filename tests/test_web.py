"""The browser page (`python -m export.web`): its folder, its refusals, and — in headless Chromium —
the same top-8 as Python for 20 queries in 10 scripts, with no request outside its folder."""
import json
import shutil

import numpy as np
import pytest

from benchmarks.web import QUERIES

LONG = "perro " * 40  # longer than the tiny model's 24 tokens: the page must cut it as Python does


def _npm_ready() -> bool:
    from export.web import PAGE, RUNTIME_FILES

    return shutil.which("npm") is not None or all((PAGE / "node_modules" / f).is_file() for f in RUNTIME_FILES)


@pytest.fixture(scope="module")
def page(session_home, small_corpus, tmp_path_factory):
    if not _npm_ready():
        pytest.skip("npm is not installed and export/web_page/node_modules is missing (.ci/run installs it)")
    from core.paths import zoo_dir
    from export.onnx import export_model
    from export.web import write_page
    from tests.tiny import tiny_dual_encoder

    model = tiny_dual_encoder("clip", seed=3)
    model.name = "tiny-web"
    model.save_pretrained(zoo_dir() / "tiny-web")
    export_model("tiny-web")  # fp32 only: no int8 is published
    return model, write_page("tiny-web", tmp_path_factory.mktemp("web") / "page", corpus=small_corpus, progress=False)


def test_the_folder_holds_the_page_the_model_the_gallery_and_the_runtime(page, small_corpus):
    from corpus.corpus import app_gallery, load_corpus
    from export.web import FILES, RUNTIME_FILES

    model, out = page
    settings = json.loads((out / "web.json").read_text())
    gallery, captions = app_gallery(load_corpus(small_corpus))
    assert settings["variant"] == "fp32" and settings["count"] == len(gallery) and settings["dim"] == 16
    assert settings["prefix"] == "query: " and settings["max_length"] == 24 and settings["k"] == 8
    assert settings["runtime"] == {"onnxruntime-web": "1.30.0", "@huggingface/tokenizers": "0.2.0"}  # the lock file's
    for name in (*FILES.values(), "index.html", "search.mjs", *(f"runtime/{n}" for n in RUNTIME_FILES.values())):
        assert (out / name).is_file(), name
    items = json.loads((out / FILES["gallery"]).read_text())
    assert [i["source"] for i in items] == gallery and items[0]["caption"] == captions[gallery[0]]
    assert len(list((out / "thumbs").glob("*.webp"))) == len(gallery)
    # the stored embeddings are the model's own image embeddings of the gallery
    stored = np.fromfile(out / FILES["embeddings"], dtype="<f4").reshape(len(gallery), 16)
    want = model.encode_image([str(small_corpus / p) for p in gallery[:5]])
    assert np.abs(stored[:5] - want).max() <= 1e-4


def test_int8_is_refused_where_the_gate_did_not_publish_it(page, small_corpus, tmp_path, capsys):
    from export.web import main

    assert main(["--model", "tiny-web", "--out", str(tmp_path / "p"), "--corpus", str(small_corpus),
                 "--variant", "int8", "--no-progress"]) == 2
    assert "tiny-web has no published int8 text graph" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_without_npm_the_export_says_what_to_install(monkeypatch, tmp_path):
    import export.web as web

    monkeypatch.setattr(web, "PAGE", tmp_path)  # no node_modules here
    monkeypatch.setattr(web.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="install Node.js and npm, or run `npm ci`"):
        web.runtime_dir()


@pytest.mark.browser
def test_browser_page_ranks_like_python_in_ten_scripts(page):
    if not shutil.which("chromium"):
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    from benchmarks.web import browser, open_page, page_search, served, type_and_read
    from export.web import rank_like_the_page

    model, out = page
    queries = [*QUERIES, LONG]
    with served(out) as url, browser() as b:
        opened = open_page(b.new_context(), url)
        got = page_search(opened["page"], queries)
        typed = type_and_read(opened["page"], "собака")
        shown = opened["page"].inner_text("#status")
    assert opened["outside"] == []  # nothing fetched from anywhere but the page's folder
    want = rank_like_the_page(out, queries)
    assert [r["ids"] for r in got] == want
    assert typed == rank_like_the_page(out, ["собака"])[0] and "ms in your browser" in shown
