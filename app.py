"""LinguaLens app: multilingual image search, teacher and student side by side.

The browser app arrives with its own issue (after the zoo, distillation and export work).
Until then this entry point says so plainly instead of pretending to serve something.
"""
from __future__ import annotations

import sys

NOT_BUILT = """LinguaLens app: not built yet.

What exists today:
  python -m training.data build     build the embedded multilingual corpus
  python -m pytest                  run the test suite

The search app (teacher vs student galleries, uploads, zoo tab) is not implemented yet.
"""


def main(argv: list[str] | None = None) -> int:
    print(NOT_BUILT, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
