"""The real default student, built from scratch as `python app.py` builds it (≈ 8 min on 2 cores: slow).

The promise under test: a word for "cat" in a language distillation never saw (Thai, Swahili,
Amharic, Georgian are held out of every training input) finds a cat with the student whenever
it finds one with the teacher. (The embedded teacher itself finds none for "paka" and "ድመት".)
"""
import re

import pytest

HELD_OUT_CAT = {"th": "แมว", "sw": "paka", "am": "ድመት", "ka": "კატა"}


@pytest.fixture(scope="module")
def default_zoo(tmp_path_factory):
    """A fresh home, or $LINGUALENS_SLOW_HOME to reuse one already built (nothing current is rebuilt)."""
    import os
    from pathlib import Path

    from training.build_zoo import build_default_zoo

    home = Path(os.environ.get("LINGUALENS_SLOW_HOME") or tmp_path_factory.mktemp("default-zoo"))
    old = os.environ.get("LINGUALENS_HOME")
    os.environ["LINGUALENS_HOME"] = str(home)
    try:
        build_default_zoo(families=("clip",), losses=("dr",), progress=False, log=lambda m: None)
        yield home
    finally:
        if old is None:
            os.environ.pop("LINGUALENS_HOME", None)
        else:
            os.environ["LINGUALENS_HOME"] = old


@pytest.mark.slow
@pytest.mark.timeout(3600)  # building the teacher and the student is most of it (≈ 8 min uncontended on 2 cores)
def test_held_out_words_for_cat_find_cats_with_the_student_too(default_zoo):
    from core.languages import HELD_OUT_LANGUAGES
    from search.service import SearchService
    from zoo import load_model

    assert set(HELD_OUT_CAT) <= set(HELD_OUT_LANGUAGES)
    student = load_model("lit-e5s-effl0-clip-half-dr")
    assert not set(HELD_OUT_CAT) & set(student.info.languages)  # never trained on
    service = SearchService()
    cats = {p for p, caption in service.gallery_captions.items() if re.search(r"\bcat\b", caption)}
    assert len(cats) >= 5
    found_by_teacher = 0
    for lang, word in HELD_OUT_CAT.items():
        teacher_panel, student_panel = service.search_text(word, "lit-e5s-effl0-clip", "lit-e5s-effl0-clip-half-dr",
                                                           k=8)["panels"]
        assert not teacher_panel.error and not student_panel.error
        if cats & set(teacher_panel.ids):
            found_by_teacher += 1
            assert cats & set(student_panel.ids), (lang, word, [h[1] for h in student_panel.hits])
    assert found_by_teacher >= 2  # otherwise the test could not fail


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.timeout(3600)
def test_browser_cat_photo_finds_cats_with_the_photo_aware_teacher(default_zoo, tmp_path):
    """Upload a photo of a cat (the gallery's own cat photo, mirrored and cropped, so it is not the
    same file) in the Image query tab: the teacher's top results show a cat."""
    import shutil

    from PIL import ImageOps

    from benchmarks.app_screenshot import image_search
    from corpus.photos import PHOTOS
    from tests.app_server import running_app

    if not shutil.which("chromium"):
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    cat = next(p for p in PHOTOS if p.name == "cat").load().convert("RGB")
    w, h = cat.size
    query = tmp_path / "my-cat.jpg"
    ImageOps.mirror(cat).crop((w // 10, h // 10, w - w // 20, h - h // 20)).save(query, quality=85)
    with running_app(default_zoo, "--teacher", "lit-e5s-effl0-clip", "--student", "lit-e5s-effl0-clip-half-dr",
                     timeout_s=900) as url:
        teacher, student = image_search(url, query, tmp_path / "cat-photo-search.png", timeout_ms=300_000)
    assert teacher and student
    assert any(re.search(r"\bcats?\b", c, re.IGNORECASE) for c in teacher), teacher


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_default_student_loads_in_sentence_transformers_onnx_and_fastembed(default_zoo, tmp_path):
    """The real default student (tail embedding, 250k pieces) through the deploy layout: what
    `SentenceTransformer(dir, backend="onnx")` and fastembed return is LinguaLens's embedding, in
    a fresh process that prints nothing on stderr."""
    import json
    import subprocess
    import sys
    import textwrap

    import numpy as np

    from export.onnx import export_model
    from zoo import load_model

    name = "lit-e5s-effl0-clip-half-dr"
    # the gate on eight languages in eight scripts: what is tested is the layout, not the gate (the app's export gates on all)
    out = export_model(name, tmp_path / "export", int8=True, sentence_transformers=True,
                       gate_languages=["en", "es", "ru", "zh", "ar", "hi", "ja", "ko"])
    cfg = json.loads((out / "lingualens_onnx.json").read_text())
    texts = ["perro", "犬", "собака", "แมว", "paka", "ድመት", "a cat sitting on a mat"]
    code = textwrap.dedent("""
        import json, sys
        from sentence_transformers import SentenceTransformer
        from fastembed import TextEmbedding
        from fastembed.common.model_description import ModelSource, PoolingType
        layout, texts, prefix, files = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
        out = {}
        for variant, file in files.items():
            st = SentenceTransformer(layout, backend="onnx", trust_remote_code=True,
                                     model_kwargs={"file_name": file, "provider": "CPUExecutionProvider"})
            out[variant] = st.encode(texts, convert_to_numpy=True).tolist()
        TextEmbedding.add_custom_model("lingualens/default", pooling=PoolingType.DISABLED, normalization=False,
                                       sources=ModelSource(hf="lingualens/default"), dim=len(out["fp32"][0]),
                                       model_file=files["fp32"], output_name="sentence_embedding")
        out["fastembed"] = [v.tolist() for v in TextEmbedding("lingualens/default", specific_model_path=layout)
                            .embed([prefix + t for t in texts])]
        print(json.dumps(out))
    """)
    st = cfg["sentence_transformers"]
    run = subprocess.run([sys.executable, "-c", code, str(out / st["folder"]), json.dumps(texts), cfg["text"]["prefix"],
                          json.dumps(st["files"])], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    notice = "Default prompt name is set to 'query'"
    assert [line for line in run.stderr.splitlines() if line.strip() and not line.startswith(notice)] == []
    got = json.loads(run.stdout.strip().splitlines()[-1])
    ours = load_model(name).encode_text(texts)
    assert np.abs(np.array(got["fp32"]) - ours).max() <= 1e-4
    assert np.abs(np.array(got["fastembed"]) - ours).max() <= 1e-4
    if "int8" in st["files"]:  # published by the gate: close to fp32, as the gate measured
        assert (np.array(got["int8"]) * ours).sum(1).min() > 0.95
