"""python -m benchmarks.app_startup — publish the start-up times `python app.py` recorded.

The app writes how long its starts took to $LINGUALENS_HOME/app_startup.json (first start to a
usable page, the first student's arrival, later starts); it writes nothing into its source tree.
This copies that record into results/app_startup.{json,md}, with the home it came from and the
code version, so the README can quote it. Measure a first start by running `python app.py` with
an empty $LINGUALENS_HOME, waiting for the student, stopping it, starting it once more, then
running this with the same $LINGUALENS_HOME.
"""
from __future__ import annotations

import argparse
import json
import sys

from serving.background import startup_path

from .common import table, write_results

PHASES = {"first_run": "first start, to a usable page (corpus and teacher built)",
          "first_run_student": "first start, to the default student in the student panel",
          "later_start": "a later start (everything built)"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.app_startup", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
    path = startup_path()
    if not path.is_file():
        print(f"error: {path} does not exist: start `python app.py` with this $LINGUALENS_HOME first", file=sys.stderr)
        return 2
    record = json.loads(path.read_text())
    rows = [[what, f"{record[key]['seconds_to_ready']:.0f} s", ", ".join(record[key]["built"]) or "nothing",
             record[key]["when"]] for key, what in PHASES.items() if key in record]
    md = ["# App start-up times", "", f"Recorded by `python app.py` in `{path}`; 2-core machine.", ""]
    md += table(["start", "seconds", "built during it", "when"], rows)
    print(write_results("app_startup", {**record, "source": str(path)}, "\n".join(md) + "\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
