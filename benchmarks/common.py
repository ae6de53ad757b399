"""Shared helpers for benchmark scripts: where results go and how a table is written."""
from __future__ import annotations

from pathlib import Path

from core.io import atomic_write_json, atomic_write_text
from core.results_index import provenance
from evaluation.cost import machine  # noqa: F401  (re-exported: every result names its machine)

RESULTS = Path(__file__).resolve().parents[1] / "results"


def write_results(stem: str, data: dict, markdown: str, out: Path = RESULTS) -> Path:
    """Write `stem`.json and .md; both record how and from which code they were made, so a later
    check can tell when the code they measure has moved on (`core.results_index.status`). The JSON
    is compact: the .md is what people read, and indenting per-language tables doubles their size."""
    out.mkdir(parents=True, exist_ok=True)
    made = provenance(stem)
    atomic_write_json(out / f"{stem}.json", {**data, "provenance": made}, compact=True)
    atomic_write_text(out / f"{stem}.md", markdown.rstrip("\n") + f"\n\nMade by `{made['command']}` at commit "
                      f"{made['commit']}, {made['written']}.\n")
    return out / f"{stem}.md"


def table(header: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)] + \
        ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def process_memory_mb(pid: int | str = "self") -> dict:
    """Resident memory now and at its peak (VmRSS, VmHWM from /proc, Linux), in MB. Not
    getrusage's ru_maxrss: Linux carries that over fork and exec, so a child started by a big
    parent reports the parent's peak."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {k: round(int(fields[v].split()[0]) / 1024) for k, v in (("rss_mb", "VmRSS"), ("peak_rss_mb", "VmHWM"))}
