"""Every place the app reaches into Gradio beyond its public API, in one module, each with why.

They were written against one Gradio release (PATCHED_FOR) and touch internals that can move in
any release: `tests/test_gradio_patches.py` fails when the installed Gradio is another version or
an internal they rely on is gone, so an upgrade re-checks them instead of breaking them silently.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

PATCHED_FOR = "6.17.3"  # the Gradio release these patches were written and measured against


def configure_environment() -> None:
    """Before gradio (or huggingface_hub) is first imported: they read these once."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # never phone home
    # Patch 1. Gradio 6.17 rebuilds a pandas summary of every event it has ever served after each
    # event (GRADIO_ANALYTICS_CACHE_FREQUENCY=1), so an answer's cost grows with uptime
    # (results/gradio_overheads.md). It only feeds Gradio's monitoring page: never rebuild it.
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(10**12))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the app never downloads; hub names only when a user asks elsewhere


def tolerant_image(gr, **kwargs):
    """Patch 2. An image input that hands the uploaded file to the search service even when Pillow
    cannot open it (corrupt, empty, not an image, a decompression bomb): the service then says what
    is wrong, where Gradio's own preprocessing would fail with a bare "the app raised an exception".
    The instance's `preprocess` is wrapped rather than subclassed: Gradio writes a `.pyi` stub next
    to any module that defines a component class, and the app writes nothing into its source tree."""
    image = gr.Image(type="filepath", image_mode=None, **kwargs)
    strict = image.preprocess

    def preprocess(payload):
        try:
            return strict(payload)
        except Exception:
            return None if payload is None or payload.path is None else str(payload.path)

    image.preprocess = preprocess
    return image


def path_gallery(gr, **kwargs):
    """Patch 3. A gallery whose answers are built in the calling thread. Gradio 6.17's
    `Gallery.postprocess` starts a thread pool for every answer although a path needs no work
    (results/gradio_overheads.md); this builds the same `GalleryData` directly (tested equal).
    Anything but plain local file paths goes to Gradio's own code. Wrapped on the instance."""
    from gradio.components.gallery import GalleryData, GalleryImage
    from gradio.data_classes import ImageData
    from gradio_client.utils import get_mimetype

    gallery = gr.Gallery(**kwargs)
    threaded = gallery.postprocess

    def plain(item) -> bool:
        return (isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str)
                and (item[1] is None or isinstance(item[1], str)) and "://" not in item[0]
                and not item[0].lower().endswith(".svg"))

    def postprocess(value):
        if not value or isinstance(value, str) or not all(plain(item) for item in value):
            return threaded(value)
        items = [(path, caption, get_mimetype(path)) for path, caption in value]
        if any("video" in (mime or "") for _, _, mime in items):
            return threaded(value)
        return GalleryData(root=[GalleryImage(image=ImageData(path=path, url=None, orig_name=Path(path).name,
                                                              mime_type=mime), caption=caption)
                                 for path, caption, mime in items])

    gallery.postprocess = postprocess
    return gallery


def forget_finished_events(demo, keep: int = 1000, every_s: float = 60.0) -> None:
    """Patch 4. Gradio keeps a record of every event it has served (`Queue.event_analytics`) for
    as long as it runs; drop finished ones beyond the last `keep`, so memory does not grow with
    uptime. Runs forever: start it in a daemon thread."""
    while True:
        time.sleep(every_s)
        trim_event_records(getattr(demo, "_queue", None), keep)


def trim_event_records(queue, keep: int) -> int:
    records = getattr(queue, "event_analytics", None)
    if not isinstance(records, dict) or len(records) <= keep:
        return 0
    finished = [k for k, v in list(records.items())[:-keep] if v.get("status") in ("success", "failed", "cancelled")]
    for k in finished:
        records.pop(k, None)
    return len(finished)
