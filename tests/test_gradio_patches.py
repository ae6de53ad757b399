"""The app's Gradio patches hold for the Gradio they were written for, and say so when it changes."""
from __future__ import annotations

import inspect
import os
from types import SimpleNamespace

import gradio
import pytest

from serving import gradio_patches as patches


def test_gradio_is_the_release_the_patches_were_written_for():
    assert gradio.__version__ == patches.PATCHED_FOR, (
        f"Gradio {gradio.__version__} is installed; serving/gradio_patches.py was written against "
        f"{patches.PATCHED_FOR}: re-check each patch (its internals, and results/gradio_overheads.md) "
        "and then update PATCHED_FOR")


def test_the_internals_the_patches_touch_still_exist():
    from gradio.components.gallery import GalleryData, GalleryImage
    from gradio.data_classes import ImageData
    from gradio.queueing import Queue

    assert "GRADIO_ANALYTICS_CACHE_FREQUENCY" in inspect.getsource(__import__("gradio.queueing", fromlist=["x"]))
    assert "event_analytics" in inspect.getsource(Queue.__init__)
    assert {"image", "caption"} <= set(GalleryImage.model_fields) and {"path", "url", "orig_name", "mime_type"} <= set(
        ImageData.model_fields)
    assert "root" in GalleryData.model_fields
    assert callable(gradio.Image(type="filepath").preprocess) and callable(gradio.Gallery().postprocess)


def test_the_environment_is_set_before_gradio_reads_it(monkeypatch):
    monkeypatch.delenv("GRADIO_ANALYTICS_CACHE_FREQUENCY", raising=False)
    patches.configure_environment()
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert os.environ["GRADIO_ANALYTICS_CACHE_FREQUENCY"] == str(10**12)


@pytest.mark.parametrize("keep", [1000])
def test_gradio_event_records_are_trimmed_to_the_last_finished_ones(keep):
    records = {str(i): {"status": "success" if i % 10 else "processing"} for i in range(3000)}
    queue = SimpleNamespace(event_analytics=records)
    removed = patches.trim_event_records(queue, keep=keep)
    assert removed == 1800 and len(records) == 1200  # 2000 old ones, of which 200 still running are kept
    assert all(v["status"] == "processing" for k, v in records.items() if int(k) < 2000)
    assert patches.trim_event_records(queue, keep=5000) == 0 and patches.trim_event_records(None, 10) == 0
