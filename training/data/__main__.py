import sys

from corpus.__main__ import main

print("note: `python -m training.data` is now `python -m corpus`; this old name goes in the next release",
      file=sys.stderr)
sys.exit(main())
