"""The app end to end: served on a free port, queried through gradio_client and driven in headless
Chromium; plus the service's refusals (empty/huge queries, bad uploads, traversal, broken models)."""
import shutil
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

from tests.app_server import running_app
from tests.tiny import tiny_dual_encoder

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def tiny_zoo(session_home):
    from core.paths import zoo_dir

    for name, role, seed in (("app-teacher", "teacher", 0), ("app-student", "student", 1)):
        model = tiny_dual_encoder("clip", seed=seed)
        model.name, model.info.role = name, role
        if role == "student":
            model.info.teacher = "app-teacher"
        model.save_pretrained(zoo_dir() / name)
    return session_home


@pytest.fixture(scope="module")
def service(tiny_zoo, small_corpus):
    from search.service import SearchService

    return SearchService(small_corpus)


def _source_tree_state() -> str | None:
    """`git status` of the checkout (None outside a git checkout, e.g. an unpacked release)."""
    import subprocess

    out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT, capture_output=True,
                         text=True)
    return out.stdout if out.returncode == 0 else None


@pytest.fixture(scope="module")
def server(tiny_zoo, small_corpus):
    """The app as served to users; every test in this module also checks it wrote nothing into the
    source tree (start-up records, caches and uploads live under $LINGUALENS_HOME)."""
    before = _source_tree_state()
    with running_app(tiny_zoo, "--teacher", "app-teacher", "--student", "app-student", "--corpus", str(small_corpus)) as url:
        yield url
    assert _source_tree_state() == before, "the app changed files in its source tree"


def test_service_rejects_empty_and_truncates_huge_queries(service):
    assert service.search_text("   ", "app-teacher", "app-student")["message"].startswith("Type something")
    result = service.search_text("猫 " * 6000, "app-teacher", "app-student", k=3)
    notices = [p.notice or "" for p in result["panels"]]
    assert all("10,000 characters" in n and "truncated to the model's 24 tokens" in n for n in notices)
    assert all(len(p.hits) == 3 for p in result["panels"])


def test_a_broken_model_only_breaks_its_own_panel(service):
    result = service.search_text("perro", "app-teacher", "no-such-model", k=4)
    teacher, student = result["panels"]
    assert len(teacher.hits) == 4 and teacher.error is None
    assert "unknown model 'no-such-model'" in student.error and result["overlap"] is None
    assert "unknown backend 'GPU'" in service.search_text("perro", "app-teacher", "app-student", "GPU", k=2)["panels"][1].error


def test_the_backend_applies_to_both_panels_and_falls_back_to_pytorch_where_nothing_is_exported(service, tmp_path):
    from core.paths import export_dir
    from export.onnx import export_model

    plain = service.search_text("perro", "app-teacher", "app-student", backend="ONNX", k=2)["panels"]
    assert [p.backend for p in plain] == ["PyTorch", "PyTorch"] and all(p.error is None and len(p.hits) == 2 for p in plain)
    assert plain[1].notice == "PyTorch: no ONNX export of app-student yet"
    assert service.best_backend(["app-teacher", "app-student"]) == "PyTorch"
    export_model("app-student", int8=False)  # under $LINGUALENS_HOME/exports, where the service looks
    try:
        mixed = service.search_text("perro", "app-teacher", "app-student", backend="ONNX", k=2)["panels"]
        assert [p.backend for p in mixed] == ["PyTorch", "ONNX"] and mixed[1].notice is None
        assert [p.ids for p in mixed][1] == [p.ids for p in plain][1]  # same model, same answer
        int8 = service.search_text("perro", "app-teacher", "app-student", backend="ONNX int8", k=2)["panels"][1]
        assert int8.backend == "PyTorch" and "no ONNX int8 export" in int8.notice  # int8 was not made
        assert service.best_backend(["app-student"]) == "ONNX" and service.best_backend([]) == "PyTorch"
    finally:
        shutil.rmtree(export_dir() / "app-student")


def test_uploads_are_validated_and_kept_per_session(service, tmp_path):
    good = tmp_path / "red.png"
    Image.new("RGB", (30, 30), "red").save(good)
    (tmp_path / "text.png").write_text("not an image")
    (tmp_path / "empty.jpg").write_bytes(b"")
    Image.new("1", (8000, 7000)).save(tmp_path / "huge.png")
    files = [str(tmp_path / n) for n in ("red.png", "text.png", "empty.jpg", "huge.png")]
    mine, messages = service.add_uploads([], files, tmp_path / "session-a")
    assert len(mine) == 1 and messages[0].endswith("added.")
    assert "text.png: rejected" in messages[1] and "empty.jpg: rejected" in messages[2]
    assert "over the 50 MP limit" in messages[3]
    theirs, _ = service.add_uploads([], [], tmp_path / "session-b")
    assert theirs == [] and Path(mine[0]).parent == tmp_path / "session-a"  # another session sees nothing
    everything = len(service.gallery) + len(mine)  # k over the whole gallery: the upload must be in it
    hits = service.search_text("red", "app-teacher", "app-student", k=everything, uploads=mine)["panels"][0].ids
    assert mine[0] in hits
    mine_only = service.search_text("red", "app-teacher", "app-student", k=everything)["panels"][0].ids
    assert mine[0] not in mine_only


def test_before_the_student_exists_the_teacher_answers_and_the_student_panel_says_why(service):
    result = service.search_text("perro", "app-teacher", None)
    teacher, student = result["panels"]
    assert teacher.ids and not teacher.error
    assert student.error and "distilled in the background" in student.error and result["overlap"] is None


def test_zoo_entry_refuses_traversal(service):
    from zoo.registry import UnknownModelError

    with pytest.raises(UnknownModelError, match="unknown model '../../etc'; this app offers: app-student, app-teacher"):
        service.zoo_entry("../../etc")
    entry = service.zoo_entry("app-student")
    assert entry["parameters"]["text"] > 0 and entry["export"] is None


def test_only_offered_model_names_are_ever_loaded(service, monkeypatch, tmp_path):
    """A model name from a visitor is checked against what the app offers before any file is
    opened: paths, other directories on the server, hub names that would need a download."""
    from search import models as service_module
    from tests.tiny import tiny_dual_encoder

    elsewhere = tiny_dual_encoder("clip").save_pretrained(tmp_path / "not-in-the-zoo")  # loadable, but not offered
    opened = []
    monkeypatch.setattr(service_module, "load_model", lambda name: opened.append(name) or pytest.fail("loaded"))
    for name in ("../../etc/passwd", "/etc/passwd", str(elsewhere), "openclip-ViT-B-32", "app-teacher/../x", 42):
        panel = service.search_text("perro", name, name, k=2)["panels"][0]
        assert "unknown model" in panel.error and "this app offers" in panel.error, name
    assert "no model chosen yet" in service.search_text("perro", "", "", k=2)["panels"][0].error
    assert opened == []
    assert {"app-student", "app-teacher", "lit-e5s-effl0-random"} <= set(service.offered_models())


def test_gradio_client_non_latin_query_returns_k_from_both(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    message, teacher, student, t_label, s_label, overlap = client.predict(
        "猫がいる", "app-teacher", "app-student", "PyTorch", 5, False, api_name="/search")
    assert message == "" and len(teacher) == 5 and len(student) == 5
    assert "app-teacher" in t_label and " ms " in t_label and "overlap@5" in overlap
    empty = client.predict("  ", "app-teacher", "app-student", "PyTorch", 5, False, api_name="/search")
    assert "Type something" in empty[0] and empty[1] == []
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="not in the list of choices"):  # the dropdown only accepts zoo names
        client.predict("../../etc/passwd", api_name="/zoo")
    card, plots, facts = client.predict("app-student", api_name="/zoo")
    assert "text parameters" in facts and "ONNX: not exported yet" in facts
    archive, note = client.predict("app-student", api_name="/download_checkpoint")
    import zipfile

    assert note == "" and "lingualens.json" in zipfile.ZipFile(archive).namelist()
    archive, note = client.predict("app-student", api_name="/download_onnx")
    assert archive is None and "no ONNX export yet" in note


def test_server_refuses_files_outside_its_directories(server, small_corpus):
    # positive control: a gallery image inside the corpus is served, so the refusals below are refusals
    image = next(small_corpus.rglob("*.png"))
    with urllib.request.urlopen(server + "gradio_api/file=" + urllib.parse.quote(str(image)), timeout=5) as response:
        assert response.status == 200 and response.read() == image.read_bytes()
    for path in ("gradio_api/file=/etc/passwd", "file=/etc/passwd", "gradio_api/file=../../../../etc/passwd"):
        try:
            with urllib.request.urlopen(server + path, timeout=5) as response:
                assert b"root:" not in response.read()
        except urllib.error.HTTPError as err:
            assert err.code in (403, 404, 400)


@pytest.mark.browser
def test_browser_search_shows_both_galleries(server):
    if not shutil.which("chromium"):
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    from benchmarks.app_screenshot import screenshot_search

    teacher_imgs, student_imgs = screenshot_search(server, "собака", ARTIFACTS / "app-search.png")
    assert teacher_imgs >= 1 and student_imgs >= 1
    assert (ARTIFACTS / "app-search.png").stat().st_size > 10_000


@pytest.mark.browser
def test_browser_image_query_shows_both_galleries(server, tmp_path):
    if not shutil.which("chromium"):
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    from benchmarks.app_screenshot import image_search

    photo = tmp_path / "query.png"
    Image.new("RGB", (64, 48), "orange").save(photo)
    teacher, student = image_search(server, photo, ARTIFACTS / "app-image-search.png")
    assert teacher and student
    assert all(caption for caption in teacher)  # every result names what it shows


def test_bad_images_through_the_api_get_a_message_and_the_app_stays_up(server, tmp_path):
    """Corrupt, truncated, empty, non-image, oversized, animated, CMYK and 16-bit files sent to
    `/search_image`: each is searched or answered with what is wrong — never a bare failure."""
    import io

    import numpy as np
    from gradio_client import Client, handle_file

    good = Image.fromarray((np.mgrid[0:64, 0:64][0] * 4 % 256).astype(np.uint8))
    buf = io.BytesIO()
    good.convert("RGB").save(buf, "JPEG")
    jpeg = buf.getvalue()
    frames = [Image.new("RGB", (32, 32), c) for c in ("red", "blue")]
    cases = {
        "corrupt.png": b"\x89PNG\r\n\x1a\n" + b"garbage" * 20, "truncated.jpg": jpeg[: len(jpeg) // 2],
        "empty.png": b"", "notes.txt": "not an image at all".encode(),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    Image.new("1", (8000, 7000)).save(tmp_path / "huge.png")  # 56 MP, tiny on disk
    frames[0].save(tmp_path / "animated.gif", save_all=True, append_images=frames[1:])
    good.convert("RGB").convert("CMYK").save(tmp_path / "cmyk.jpg")
    Image.fromarray(np.asarray(good).astype(np.uint16) * 257).save(tmp_path / "sixteen.png")
    client = Client(server, verbose=False)
    outcomes = {}
    for path in sorted(tmp_path.iterdir()):
        message, teacher, *_ = client.predict(handle_file(str(path)), "app-teacher", "app-student", "PyTorch", 3, "en",
                                              api_name="/search_image")
        outcomes[path.name] = (message, len(teacher))
    for name in ("corrupt.png", "truncated.jpg", "empty.png", "notes.txt", "huge.png"):
        assert "That image cannot be used" in outcomes[name][0] and "/tmp" not in outcomes[name][0], (name, outcomes[name])
    assert "over the 50 MP limit" in outcomes["huge.png"][0] and "0 bytes" in outcomes["empty.png"][0]
    for name in ("animated.gif", "cmyk.jpg", "sixteen.png"):
        assert outcomes[name] == ("", 3), (name, outcomes[name])  # searched: first frame / converted
    message, teacher, *_ = client.predict("perro", "app-teacher", "app-student", "PyTorch", 3, False, api_name="/search")
    assert message == "" and len(teacher) == 3  # still answering


def test_every_api_endpoint_is_intended(server):
    """No endpoint without an intended name (a timer registered with a string "False" once
    exposed `/False`), and nothing unnamed reachable by index."""
    from gradio_client import Client

    api = Client(server, verbose=False).view_api(return_format="dict", print_info=False)
    assert set(api["named_endpoints"]) == {"/search", "/search_image", "/zoo", "/download_checkpoint", "/download_onnx"}
    assert not api["unnamed_endpoints"]


def test_the_query_language_is_named_with_the_students_measured_ratio(service, small_corpus):
    """Thai is told by its script, Spanish by its words; the ratio is the one the student's
    every-language report measured, with its interval — or "not measured" where there is none."""
    from evaluation.run import default_out, run

    assert service.language_note("perro", "app-student") == ("", "")  # the guesser is not built yet: say nothing
    service.warm_language_guesser()
    said, kept = service.language_note("แมว", "app-student")
    assert said == "Query language: Thai (th), from its script (Thai)." and kept == "app-student (test split) — Thai: not measured"
    out = default_out("app-student", "test", "app-teacher")
    run(["app-student", "app-teacher"], "test", small_corpus, None, False, out, n_boot=100, progress=False)
    try:
        import json

        measured = json.loads((out / "multilingual.json").read_text())["ratios"]["app-student"]["th"]
        said, kept = service.language_note("แมว", "app-student")
        assert f"Thai: keeps **{measured['value']:.2f}** [{measured['lo']:.2f}, {measured['hi']:.2f}] of `app-teacher`'s R@10" in kept
        overlap = json.loads((out / "agreement.json").read_text())["results"]["app"]["keywords"]["per_language"]["app-student"]["th"]
        assert f"shares **{10 * overlap['overlap@10']['value']:.1f}** of its top 10 with the teacher's on single words" in kept
        spanish = next(w for r in service.records if r.language == "es" and r.split == "train" for w in r.caption.split()
                       if service.query_language(w).languages == ("es",))  # a word only Spanish captions use
        said, kept = service.language_note(spanish, "app-student")
        assert said == "Query language: Spanish (es), from its words." and "Spanish: keeps" in kept
        assert service.language_note("pizza", "app-student")[1] == ""  # a word of many languages: no one ratio
        assert service.language_note("perro", "app-teacher")[1] == ""  # a teacher has no ratio to itself
    finally:
        shutil.rmtree(out)


@pytest.mark.browser
def test_browser_zoo_tab_shows_the_selected_models_card_on_open(server):
    if not shutil.which("chromium"):
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    from benchmarks.app_screenshot import zoo_tab

    selected, card = zoo_tab(server)
    assert selected == "app-student" and "app-student" in card


@pytest.mark.browser
def test_browser_a_model_added_while_the_app_runs_appears_by_itself(server, tiny_zoo):
    if not shutil.which("chromium"):
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    from benchmarks.app_screenshot import dropdown_choices
    from core.paths import zoo_dir

    assert "app-newcomer" not in dropdown_choices(server, "student-model")  # the Search tab's student list
    model = tiny_dual_encoder("clip", seed=5)
    model.name, model.info.role = "app-newcomer", "student"
    model.save_pretrained(zoo_dir() / "app-newcomer")
    try:
        assert "app-newcomer" in dropdown_choices(server, "student-model", appears="app-newcomer", timeout_ms=30_000)
    finally:
        shutil.rmtree(zoo_dir() / "app-newcomer")


@pytest.mark.browser
def test_browser_names_the_query_language_beside_the_results(server):
    if not shutil.which("chromium"):
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    from benchmarks.app_screenshot import search_notes

    student_label, line = search_notes(server, "แมว")
    assert "Query language: Thai (th), from its script" in line
    assert "Thai: not measured" in student_label  # the tiny student has no every-language report


def test_path_gallery_answers_exactly_like_gradios_gallery(small_corpus, tmp_path):
    import gradio as gr
    import numpy as np

    from serving.gradio_patches import path_gallery

    images = sorted(str(p) for p in (small_corpus / "images").rglob("*.png"))[:8]
    svg = tmp_path / "x.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>')
    with gr.Blocks():
        ours, theirs = path_gallery(gr), gr.Gallery()
    cases = [[(p, f"caption {i}") for i, p in enumerate(images)], [(images[0], None)], [], None,
             [(str(svg), "svg")], [(np.zeros((4, 4, 3), np.uint8), "array")], images[:2]]
    for value in cases:  # file paths built directly; anything else through Gradio's own code
        assert ours.postprocess(value).model_dump() == theirs.postprocess(value).model_dump(), value


@contextmanager
def ui_in_process(service, teacher, student):
    """The app's own page (`app.build_ui`) served from this process, so a test can set what the
    page shows (the background build's status) or change the zoo between start and page open."""
    import gradio as gr

    import app
    from tests.app_server import free_port

    demo = app.build_ui(service, teacher, student)
    gr.set_static_paths([str(service.root)])
    demo.queue(default_concurrency_limit=2)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, share=False, prevent_thread_lock=True, quiet=True,
                allowed_paths=[str(service.root)])
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.mark.browser
def test_browser_status_line_shows_the_background_builds_progress(tiny_zoo, small_corpus, monkeypatch):
    if not shutil.which("chromium"):
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    from benchmarks.app_screenshot import _page
    from search.service import SearchService
    from serving import background

    line = background.describe_progress(background.FIRST_STUDENT, {"epoch": 2, "epochs": 4, "step": 61, "steps": 144,
                                                                   "eta_s": 540.0}, "lit-e5s-effl0-siglip")
    monkeypatch.setitem(background.STATUS, "background", line)  # what the child's last status line said
    with ui_in_process(SearchService(small_corpus), "app-teacher", "app-student") as url, _page(url, 900) as page:
        page.wait_for_function("(document.querySelector('#build-status')?.innerText || '').includes('epoch 2/4')",
                               timeout=20_000)
        shown = page.inner_text("#build-status")
    assert "step 61/144, about 9 min left · next: lit-e5s-effl0-siglip" in shown


@pytest.mark.browser
def test_browser_a_page_opened_after_a_model_appears_uses_it_at_once(tiny_zoo, small_corpus):
    """The app started before any student existed; one appears; a page opened now has it selected
    before the status timer's first tick, and its first query is answered by it."""
    if not shutil.which("chromium"):
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    from benchmarks.app_screenshot import _page
    from core.paths import zoo_dir
    from search.service import SearchService

    service = SearchService(small_corpus)
    with ui_in_process(service, "app-teacher", None) as url:
        model = tiny_dual_encoder("clip", seed=7)
        model.name, model.info.role = "app-aa-late", "student"  # sorts first among the students
        model.save_pretrained(zoo_dir() / "app-aa-late")
        try:
            with _page(url, 1100) as page:
                page.wait_for_function("document.querySelector('#student-model input')?.value === 'app-aa-late'",
                                       timeout=4_000)  # < the 5 s timer: set by the page open itself
                page.fill("#query textarea", "perro")
                page.click("#search-button")
                page.wait_for_selector("#student-gallery img", timeout=60_000)
                label = page.inner_text("#student-label")
        finally:
            shutil.rmtree(zoo_dir() / "app-aa-late")
    assert "app-aa-late" in label and "no model chosen" not in label
