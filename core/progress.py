"""Progress bars that stay readable in logs: redrawn often on a terminal, rarely in CI."""
from __future__ import annotations

import sys
from typing import Any

from tqdm.auto import tqdm


def progress(iterable: Any = None, **kwargs: Any) -> tqdm:
    kwargs.setdefault("mininterval", 0.2 if sys.stderr.isatty() else 20.0)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, **kwargs)
