"""python -m benchmarks.gradio_overheads — the two Gradio costs the app works around, timed alone.

1. `Gallery.postprocess` for one answer (8 corpus images with captions): Gradio 6.17's own,
   which starts a thread pool per call, against `serving.gradio_patches.path_gallery`'s, which builds the same data
   in the calling thread.
2. `Queue.compute_analytics_summary`, which Gradio runs after every event by default
   (GRADIO_ANALYTICS_CACHE_FREQUENCY=1) over the records of every event served so far, at 500,
   5,000 and 50,000 records.

Writes results/gradio_overheads.{md,json}. Medians of repeated calls on an idle machine.
"""
from __future__ import annotations

import sys

from core.paths import corpus_dir
from evaluation.cost import median_seconds

from .common import machine, table, write_results


def median_ms(fn, repeats: int) -> float:
    return round(1000 * median_seconds(fn, repeats=repeats, warmup=1), 3)


def main(argv: list[str] | None = None) -> int:
    import gradio as gr
    from gradio.queueing import Queue

    from serving.gradio_patches import path_gallery

    images = sorted(str(p) for p in corpus_dir().rglob("*.png"))[:8]
    if len(images) < 8:
        print("error: build the corpus first (python -m training.build_zoo)", file=sys.stderr)
        return 2
    answer = [(p, f"caption {i} · 0.321") for i, p in enumerate(images)]
    with gr.Blocks():
        theirs, ours = gr.Gallery(), path_gallery(gr)
    assert theirs.postprocess(answer).model_dump() == ours.postprocess(answer).model_dump()
    gallery = {"gradio": median_ms(lambda: theirs.postprocess(answer), 300),
               "path_gallery": median_ms(lambda: ours.postprocess(answer), 300)}
    summary = {}
    for n in (500, 5_000, 50_000):
        records = {str(i): {"time": 1.0, "status": "success", "function": "search", "process_time": 0.05,
                            "session_hash": "s"} for i in range(n)}
        queue = Queue.__new__(Queue)  # only the summary's own state: no server
        queue.ANAYLTICS_CACHE_FREQUENCY, queue.cached_event_analytics_summary = 1, {}

        def rebuild():
            queue.event_count_at_last_cache = 0  # as after each new event
            queue.compute_analytics_summary(records)

        summary[n] = median_ms(rebuild, 20 if n < 50_000 else 5)
    data = {"machine": machine(), "gallery_postprocess_ms": gallery, "analytics_summary_ms": summary}
    md = ["# Two Gradio costs per answer, timed alone", "",
          "Reproduce: `python -m benchmarks.gradio_overheads` (medians; "
          f"{data['machine']['cores']} cores, {data['machine']['cpu']}).", "",
          "## One answer's gallery (8 images with captions)", "",
          *table(["postprocess", "ms"], [["Gradio 6.17 `Gallery.postprocess` (a thread pool per call)", gallery["gradio"]],
                                          ["`path_gallery` (same `GalleryData`, checked equal)", gallery["path_gallery"]]]),
          "", "## Gradio's analytics summary, rebuilt after every event by default", "",
          *table(["events served so far", "ms per rebuild"], [[f"{n:,}", ms] for n, ms in summary.items()]),
          "", "The app sets GRADIO_ANALYTICS_CACHE_FREQUENCY so the summary is never rebuilt, and keeps only the last "
              "1,000 finished event records."]
    print(write_results("gradio_overheads", data, "\n".join(md) + "\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
