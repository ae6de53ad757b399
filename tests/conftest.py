"""Offline by construction: every test runs with the hub disabled and artifacts in a temp home."""
import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import shutil  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

# No test may touch the user's real ~/.cache/lingualens: the whole session gets its own home.
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="lingualens-test-home-"))
os.environ["LINGUALENS_HOME"] = str(_SESSION_HOME)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_SESSION_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def session_home():
    """The session's LINGUALENS_HOME, shared so the embedded corpus is built once."""
    return _SESSION_HOME


@pytest.fixture(scope="session")
def embedded_corpus(session_home):
    """The full embedded corpus (≈15 s on 2 cores), shared by every test that needs real data."""
    from corpus.corpus import build_corpus

    return build_corpus(session_home / "corpus" / "embedded-v2", progress=False)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("LINGUALENS_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture(scope="session")
def small_corpus(session_home):
    """40 emoji + 40 flags with every caption: the real corpus code, seconds to build."""
    from corpus.corpus import CorpusConfig, build_corpus

    return build_corpus(session_home / "corpus" / "small", CorpusConfig(limit=40), progress=False)
