"""Moved: `python -m training.evaluate` is `python -m evaluation` now. This stub keeps the old
command working for one release; it says where the command went."""
import sys

from evaluation.run import main

if __name__ == "__main__":
    print("note: `python -m training.evaluate` is now `python -m evaluation`; this old name goes in the next release",
          file=sys.stderr)
    sys.exit(main())
