"""Published figures come from results files, and results files know which code they measured."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks import publish
from benchmarks.common import write_results
from core.progress import PROGRESS_FILE_ENV, read_marks
from core.results_index import BY_STEM, ENTRIES, OTHER_FILES, ROOT, ResultsEntry, code_fingerprint, status
from search.service import SearchService


def test_generated_docs_match_results_and_commands():
    """README figures, docs/cli.md and results/README.md are exactly what the publisher writes
    now: a hand-typed figure, a rerun not republished, a changed --help or code that made a
    results file stale all fail here."""
    stale = [str(p.relative_to(ROOT)) for p, text in publish.rendered().items() if p.read_text() != text]
    assert not stale, f"out of date: {stale}; run `python -m benchmarks.publish`"


def test_readme_is_short_and_links_the_reference():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    for link in ("docs/cli.md", "docs/guide.md", "docs/design.md", "results/README.md"):
        assert link in text and (ROOT / link).is_file()


def test_inline_figure_is_rewritten_from_its_results_file():
    expected = f"{json.loads((ROOT / 'results' / 'app_startup.json').read_text())['later_start']['seconds_to_ready']:.0f} s"
    out = publish.render_doc("later starts in <!--n:startup.later-->999 s<!--/n--> on 2 cores")
    assert out == f"later starts in <!--n:startup.later-->{expected}<!--/n--> on 2 cores"


def test_unknown_figure_or_block_is_an_error():
    with pytest.raises(publish.PublishError, match="unknown figure"):
        publish.render_doc("<!--n:no.such.figure-->1<!--/n-->")
    with pytest.raises(publish.PublishError, match="unknown block"):
        publish.render_doc("<!--block:nothing-->\nx\n<!--/block-->")


def test_every_results_file_is_indexed():
    indexed = {f for e in ENTRIES for f in e.files} | set(OTHER_FILES) | {"README.md"}
    present = {p.name for p in (ROOT / "results").iterdir() if p.is_file()}
    assert present <= indexed, f"not in core/results_index.py: {sorted(present - indexed)}"


def test_status_follows_the_measured_code(tmp_path: Path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "results").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "b.py").write_text("y = 2\n")
    entry = ResultsEntry("demo", "a demo", "python -m demo", ("pkg/*.py",))
    result = tmp_path / "results" / "demo.json"
    result.write_text(json.dumps({"value": 1}))
    assert status(entry, tmp_path)[0] == "unrecorded"
    known = ResultsEntry("demo", "a demo", "python -m demo", ("pkg/*.py",), known_stale="rebuilt since")
    assert status(known, tmp_path) == ("stale", "rebuilt since")
    result.write_text(json.dumps({"value": 1, "provenance": {"commit": "abc123", "written": "today",
                                                              "code": code_fingerprint(entry.measures, tmp_path)}}))
    assert status(entry, tmp_path) == ("current", "made at abc123 on today")
    (tmp_path / "pkg" / "b.py").write_text("y = 3\n")
    state, why = status(entry, tmp_path)
    assert state == "stale" and "pkg/b.py" in why and "pkg/a.py" not in why
    (tmp_path / "pkg" / "c.py").write_text("z = 0\n")  # a new file the globs now match counts too
    assert "pkg/c.py" in status(entry, tmp_path)[1]


def test_write_results_records_provenance(tmp_path: Path):
    write_results("speed", {"value": 1}, "# table\n", out=tmp_path)
    data = json.loads((tmp_path / "speed.json").read_text())
    assert data["value"] == 1
    assert data["provenance"]["code"] == code_fingerprint(BY_STEM["speed"].measures)
    assert "benchmarks/speed.py" in data["provenance"]["code"]
    assert data["provenance"]["command"].startswith("python")
    assert (tmp_path / "speed.md").read_text().startswith("# table\n\nMade by `python")
    assert (tmp_path / "speed.json").read_text().count("\n") == 1  # compact: the .md is the readable view


def test_results_files_stay_small_enough_for_git():
    """A results file is committed: one over 5 MB (several students' per-language intervals,
    indented) belongs in a cache, not in the repository."""
    big = {p.name: p.stat().st_size for p in (ROOT / "results").iterdir() if p.stat().st_size > 5_000_000}
    assert not big, f"results files over 5 MB: {big}"


def test_jobs_report_their_progress_units(tmp_path: Path, monkeypatch):
    """The reliability benchmark kills jobs inside these units; each must count to its total."""
    marks = tmp_path / "marks.jsonl"
    monkeypatch.setenv(PROGRESS_FILE_ENV, str(marks))
    src = tmp_path / "ckpt"
    (src / "sub").mkdir(parents=True)
    for name in ("a.txt", "b.txt", "sub/c.txt"):
        (src / name).write_text(name)
    zipped = SearchService.zip_dir(src, "demo", tmp_path / "downloads")
    assert [(m["job"], m["done"], m["total"]) for m in read_marks(marks)] == [("zip", i, 3) for i in range(4)]
    assert sorted(zipfile.ZipFile(zipped).namelist()) == ["a.txt", "b.txt", "sub/c.txt"]
    marks.unlink()
    images = []
    for i in range(2):
        images.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(images[-1])
    kept, _ = SearchService.add_uploads([], [*images, str(tmp_path / "missing.png")], tmp_path / "store")
    assert len(kept) == 2
    assert [(m["done"], m["total"]) for m in read_marks(marks)] == [(0, 3), (1, 3), (2, 3)]
    marks.write_text(marks.read_text() + '{"job": "zip", "do')  # a line cut short by a kill is ignored
    assert len(read_marks(marks)) == 3
