"""Fuzzing the app through its public API (gradio_client against a real app process), with a
fixed, derandomized example budget so the run is repeatable and short.

Invariants after every example: no generic failure ("the upstream Gradio app has raised an
exception"), the app answers the next valid query correctly, and nothing was written outside
`$LINGUALENS_HOME` and the temporary folders the app and Gradio own.
"""
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.app_server import running_app
from tests.test_app import tiny_zoo  # noqa: F401  (fixture)

# no shrinking: a failure is reported as found (shrinking a slow end-to-end example can take minutes)
EXAMPLES = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
ODD_TEXT = st.sampled_from([
    "", " ", "\t\n", "\u202eمرحبا\u202c", "שלום\u200f", "\u200b\u200d", "'; DROP TABLE images; --", "<script>x</script>",
    "%s%n%x", "../../etc/passwd", "😀" * 500, "猫" * 12_000, "\x00\x01\x7f", "Ⓤⓝⓘⓒⓞⓓⓔ", "a\u0301" * 300,
])
# every code point except lone surrogates, which JSON clients cannot send (the service replaces them; tested in
# test_zoo_interface)
ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=400)
ALLOWED_TMP = ("gradio", "lingualens-uploads", "pytest-of-", "lingualens-test-home")


@pytest.fixture(scope="module")
def client(tiny_zoo, small_corpus):  # noqa: F811
    from gradio_client import Client

    with running_app(tiny_zoo, "--teacher", "app-teacher", "--student", "app-student", "--corpus", str(small_corpus)) as url:
        yield Client(url, verbose=False, download_files=False)  # outputs stay on the server: nothing written here


@pytest.fixture(scope="module")
def outside_before():
    return _outside_snapshot()


def _outside_snapshot() -> set[str]:
    """Entries the app must never create: the repository tree and the top of the temp folder and home."""
    root = Path(__file__).resolve().parents[1]
    own = {".git", "test-artifacts", "__pycache__", ".hypothesis", ".ruff_cache"}  # the test tools' own caches
    seen = {str(p) for p in root.rglob("*") if not own & set(p.parts)}
    seen |= {str(p) for p in Path(tempfile.gettempdir()).iterdir() if not p.name.startswith(ALLOWED_TMP)}
    seen |= {str(p) for p in Path.home().iterdir()}
    return seen


def _no_generic_failure(call):
    from gradio_client.exceptions import AppError

    try:
        return call()
    except AppError as exc:
        assert "upstream Gradio app has raised an exception" not in str(exc), str(exc)
        return exc  # a validation message (e.g. a value out of range) is an answer, not a crash


def _still_answers(client):
    message, teacher, student, *_ = client.predict("perro", "app-teacher", "app-student", "PyTorch", 3, False,
                                                   api_name="/search")
    assert message == "" and len(teacher) == 3 and len(student) == 3


@EXAMPLES
@given(query=ODD_TEXT | ANY_TEXT, k=st.integers(-3, 40), backend=st.sampled_from(["PyTorch", "ONNX", "ONNX int8", "GPU"]))
def test_text_search_survives_any_query(client, outside_before, query, k, backend):
    _no_generic_failure(lambda: client.predict(query, "app-teacher", "app-student", backend, k, False,
                                               api_name="/search"))
    _still_answers(client)


@EXAMPLES
@given(teacher=ODD_TEXT | ANY_TEXT, student=ODD_TEXT | ANY_TEXT)
def test_model_names_from_strangers_load_nothing(client, outside_before, teacher, student):
    result = _no_generic_failure(lambda: client.predict("perro", teacher, student, "PyTorch", 3, False,
                                                        api_name="/search"))
    if not isinstance(result, Exception) and teacher not in ("app-teacher", "app-student", "lit-e5s-effl0-random"):
        assert result[1] == [] and ("unknown model" in result[3] or "no model chosen" in result[3]), result[3]
    for endpoint in ("/zoo", "/download_checkpoint", "/download_onnx"):
        _no_generic_failure(lambda: client.predict(teacher, api_name=endpoint))  # noqa: B023
    _still_answers(client)


@EXAMPLES
@given(data=st.binary(max_size=4096) | st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"GIF89a" + b"\x00" * 40,
                                                         b"\xff\xd8\xff" + b"\x00" * 100]))
def test_any_bytes_as_an_image_get_an_answer(client, outside_before, tmp_path_factory, data):
    from gradio_client import handle_file

    path = tmp_path_factory.mktemp("fuzz") / "upload.png"
    path.write_bytes(data)
    result = _no_generic_failure(lambda: client.predict(handle_file(str(path)), "app-teacher", "app-student",
                                                        "PyTorch", 3, "en", api_name="/search_image"))
    if not isinstance(result, Exception):
        assert "That image cannot be used" in result[0] or len(result[1]) == 3, result[0]
    _still_answers(client)


def test_nothing_was_written_outside_the_apps_folders(client, outside_before):
    """Runs after the fuzzers in this module (file order): the snapshot taken before them holds."""
    _still_answers(client)
    new = _outside_snapshot() - outside_before
    assert not new, sorted(new)[:10]
    assert os.environ["LINGUALENS_HOME"]  # the app's own home was a temporary one
