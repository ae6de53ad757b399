"""python -m benchmarks.web --model NAME — the browser page (`export.web`) in headless Chromium.

Measures what a visitor meets: bytes downloaded on a first visit, time until the page can search
(first visit, and a later one with the browser's cache warm), and per-query latency in WASM over
queries in many scripts, one at a time as typed. Also checks the page against Python: each query's
top-8 must equal LinguaLens's ONNX runtime on the same export. Writes results/web.{md,json}.
"""
from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import tempfile
import threading
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from .app_screenshot import chromium_browser as browser
from .common import machine, table, write_results

# 20 queries in 10 scripts: what the parity check and the latency figure use
QUERIES = ["perro", "cat", "собака", "кошка", "犬", "猫", "แมว", "หมา", "paka", "mbwa", "ድመት", "ውሻ",
           "كلب", "قطة", "कुत्ता", "बिल्ली", "σκύλος", "γάτα", "개", "고양이"]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # one line per file would bury the benchmark's output
        pass


@contextmanager
def served(folder: Path):
    """`python -m http.server -d folder`, in a thread, on a free port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def open_page(context, url: str, timeout_ms: int = 300_000) -> dict:
    """Navigate and wait until the page can search; the bytes it downloaded and its ready time."""
    page = context.new_page()
    received = {"bytes": 0, "requests": 0, "outside": []}

    def on_finished(request):  # bytes as transferred: a 304 or a cache hit adds (almost) nothing
        received["requests"] += 1
        if not request.url.startswith(url):
            received["outside"].append(request.url)
        sizes = request.sizes()
        received["bytes"] += sizes["responseBodySize"] + sizes["responseHeadersSize"]

    page.on("requestfinished", on_finished)
    page.goto(url, wait_until="load")
    page.wait_for_function("window.lingualens?.ready || document.getElementById('status').dataset.error",
                           timeout=timeout_ms)
    error = page.evaluate("document.getElementById('status').dataset.error ? document.getElementById('status').textContent : ''")
    if error:
        raise RuntimeError(f"the page could not start: {error}")
    return {"page": page, **received, "ready_ms": page.evaluate("window.lingualens.readyAt")}


def page_search(page, queries: list[str]) -> list[dict]:
    return [page.evaluate("async (q) => { const r = await window.lingualens.search(q); return {ids: r.ids, ms: r.ms}; }", q)
            for q in queries]


def type_and_read(page, query: str, timeout_ms: int = 60_000) -> list[int]:
    """What a visitor sees: type into the box, wait for the results, read their gallery ids."""
    page.fill("#query", query)
    page.wait_for_function("(q) => document.getElementById('status').dataset.query === q", arg=query, timeout=timeout_ms)
    return [int(i) for i in page.eval_on_selector_all("#results figure", "els => els.map(e => e.dataset.id)")]


def measure(folder: Path, queries: list[str], repeats: int = 3) -> dict:
    from export.runtime import OnnxEncoder
    from export.web import rank_like_the_page

    with served(folder) as url, browser() as b:
        context = b.new_context()
        first = open_page(context, url)
        first["page"].close()
        later = open_page(context, url)  # same context: the browser's HTTP cache is warm
        page_search(later["page"], queries[:3])  # warm-up: the first runs compile kernels
        timings = [r["ms"] for _ in range(repeats) for r in page_search(later["page"], queries)]
        page_tops = [r["ids"] for r in page_search(later["page"], queries)]
        page_vectors = np.array([later["page"].evaluate("async (q) => await window.lingualens.embed(q)", q)
                                 for q in queries], dtype=np.float32)
        typed = type_and_read(later["page"], queries[0])
        context.close()
    python_tops = rank_like_the_page(folder, queries)
    settings = json.loads((folder / "web.json").read_text())
    python_vectors = OnnxEncoder(Path(settings["source_export"]), variant=settings["variant"]).encode_text
    cosines = [float(v @ python_vectors([q])[0]) for q, v in zip(queries, page_vectors)]
    return {"first_visit": {k: first[k] for k in ("bytes", "requests", "ready_ms", "outside")},
            "later_visit": {k: later[k] for k in ("bytes", "requests", "ready_ms", "outside")},
            "query_ms": {"median": statistics.median(timings), "p95": sorted(timings)[int(0.95 * (len(timings) - 1))],
                         "min": min(timings), "n": len(timings)},
            "parity": {"queries": queries, "page": page_tops, "python": python_tops,
                       "equal": sum(p == q for p, q in zip(page_tops, python_tops)),
                       "same_set": sum(set(p) == set(q) for p, q in zip(page_tops, python_tops)),
                       "overlap": float(np.mean([len(set(p) & set(q)) / len(q) for p, q in zip(page_tops, python_tops)])),
                       "min_cosine": min(cosines), "typed_equals_page": typed == page_tops[0]}}


def main(argv: list[str] | None = None) -> int:
    from export.web import write_page

    parser = argparse.ArgumentParser(prog="python -m benchmarks.web", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="lit-e5s-effl0-clip-half-dr")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_page(args.model, Path(tmp) / "page", progress=True)
        settings = (folder / "web.json").read_text()
        result = measure(folder, QUERIES, args.repeats)
    settings = json.loads(settings)
    f, later, q, par = result["first_visit"], result["later_visit"], result["query_ms"], result["parity"]
    lines = ["# Search in the browser", "",
             f"`python -m export.web --model {args.model}`: the page served by `python -m http.server`, driven in "
             f"headless Chromium (Playwright) on this machine ({machine()['cores']} cores); text graph "
             f"{settings['variant']}, onnxruntime-web {settings['runtime']['onnxruntime-web']} (WASM, 1 thread), "
             f"tokenizers.js {settings['runtime']['@huggingface/tokenizers']}; gallery {settings['count']} images.", "",
             *table(["measure", "value"], [
                 ["downloaded on a first visit", f"{f['bytes'] / 1e6:.1f} MB in {f['requests']} requests"],
                 ["first visit: page ready to search", f"{f['ready_ms'] / 1000:.2f} s"],
                 ["later visit (browser cache warm): ready to search", f"{later['ready_ms'] / 1000:.2f} s"],
                 ["later visit: time to first result", f"{(later['ready_ms'] + q['median']) / 1000:.2f} s"],
                 ["per query (tokenize, encode, rank), median / p95",
                  f"{q['median']:.1f} / {q['p95']:.1f} ms over {q['n']} queries"],
                 ["requests outside the page's folder", str(len(f["outside"]) + len(later["outside"]))],
                 ["top-8 equal to Python (LinguaLens ONNX runtime, same export), in order",
                  f"{par['equal']} of {len(par['queries'])} queries"],
                 ["… as a set / mean overlap", f"{par['same_set']} of {len(par['queries'])} / {par['overlap']:.3f}"],
                 ["query embedding, page vs Python: lowest cosine", f"{par['min_cosine']:.4f}"],
             ]), "",
             "The page and Python run the same graph and the same tokenizer file; with an int8 graph their "
             "kernels differ (onnxruntime-web's WASM build against the native x86 build), so embeddings agree to "
             "the cosine above and two images with nearly equal scores can trade places. With the fp32 graph the "
             "lists are equal in order (`tests/test_web.py`, 21 queries in 10 scripts and a truncated one).", "",
             "Queries (10 scripts): " + ", ".join(par["queries"]) + ".", "",
             "Sizes: " + ", ".join(f"`{k}` {v / 1e6:.1f} MB" for k, v in settings["sizes_bytes"].items() if v > 100_000) + "."]
    write_results("web", {"machine": machine(), "model": args.model, "settings": settings, **result},
                  "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
