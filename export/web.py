"""python -m export.web --model NAME --out DIR — image search that runs in the browser, no server.

Writes a static folder: `index.html` and `search.mjs`, the model's text graph (its published int8
graph, else fp32) with its tokenizer, the gallery's image embeddings (every corpus image, as the app
shows it, embedded here with the export's own image graph) and thumbnails, and the JavaScript
runtime: onnxruntime-web's WASM build and tokenizers.js, version-pinned in
`export/web_page/package-lock.json`. Serve it with `python -m http.server -d DIR`; the page makes
no request outside its folder, and a query never leaves the browser.

Node.js and npm are needed at export time only: the first export runs `npm ci` in
`export/web_page/`. A model without an ONNX export is exported first (`export.onnx --int8`, gated).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from core.feature_cache import cached_features
from core.io import atomic_dir, atomic_write_json, load_image, sha256_file
from core.paths import export_path
from core.progress import progress as tqdm
from corpus.corpus import app_gallery, corpus_hash, default_corpus_path, load_corpus

from .onnx import export_model
from .runtime import CONFIG_NAME, OnnxEncoder

PAGE = Path(__file__).with_name("web_page")
# node_modules path -> name in the page's runtime/ folder
RUNTIME_FILES = {
    "onnxruntime-web/dist/ort.wasm.min.mjs": "ort.wasm.min.mjs",
    "onnxruntime-web/dist/ort-wasm-simd-threaded.mjs": "ort-wasm-simd-threaded.mjs",
    "onnxruntime-web/dist/ort-wasm-simd-threaded.wasm": "ort-wasm-simd-threaded.wasm",
    "@huggingface/tokenizers/dist/tokenizers.min.mjs": "tokenizers.min.mjs",
}
RUNTIME_LICENSES = {"onnxruntime-web": "LICENSE-onnxruntime-web", "@huggingface/tokenizers": "LICENSE-tokenizers.js"}
THUMB_PX = 96
K = 8
FILES = {"text": "model/text.onnx", "tokenizer": "model/tokenizer.json", "embeddings": "gallery/embeddings.f32",
         "gallery": "gallery/items.json", "wasm": "runtime/ort-wasm-simd-threaded.wasm"}


def runtime_dir() -> Path:
    """`export/web_page/node_modules`, installed from the lock file when a file is missing."""
    modules = PAGE / "node_modules"
    if all((modules / src).is_file() for src in RUNTIME_FILES):
        return modules
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("the browser page's JavaScript runtime comes from npm at export time: install Node.js "
                           f"and npm, or run `npm ci` in {PAGE} on a machine that has them")
    run = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=PAGE,
                         capture_output=True, text=True)
    missing = [src for src in RUNTIME_FILES if not (modules / src).is_file()]
    if run.returncode != 0 or missing:
        raise RuntimeError(f"`npm ci` in {PAGE} failed ({run.returncode}): {run.stderr.strip()[-800:]}"
                           + (f"; missing {', '.join(missing)}" if missing else ""))
    return modules


def runtime_versions(modules: Path) -> dict[str, str]:
    return {pkg: json.loads((modules / pkg / "package.json").read_text())["version"] for pkg in RUNTIME_LICENSES}


def ensure_export(model: str, corpus: Path | None) -> Path:
    out = export_path(model)
    if not (out / CONFIG_NAME).is_file():
        print(f"{model} has no ONNX export yet: exporting it (fp32 + gated int8) …", flush=True)
        export_model(model, int8=True, corpus=corpus)
    return out


def pick_variant(export: Path, variant: str) -> str:
    published = json.loads((export / CONFIG_NAME).read_text()).get("int8", {}).get("published", False)
    if variant == "auto":
        return "int8" if published else "fp32"
    if variant == "int8" and not published:
        raise ValueError(f"{export.name} has no published int8 text graph (its gate refused it, or it was not "
                         "requested): use --variant fp32")
    return variant


def thumbnail(path: Path) -> Image.Image:
    image = load_image(path).convert("RGBA")
    image.thumbnail((THUMB_PX, THUMB_PX), Image.LANCZOS)
    return image


def write_page(model: str, out: Path, corpus: Path | None = None, variant: str = "auto", progress: bool = True) -> Path:
    modules = runtime_dir()
    root = Path(corpus) if corpus else default_corpus_path()
    records = load_corpus(root)
    export = ensure_export(model, root)
    variant = pick_variant(export, variant)
    config = json.loads((export / CONFIG_NAME).read_text())
    encoder = OnnxEncoder(export)  # fp32 images: every variant shares the image graph
    gallery, captions = app_gallery(records)
    image_sha = config["files"]["image.onnx"][:16]
    embeddings = cached_features(f"web-gallery-{image_sha}-{corpus_hash(root)[:16]}", [str(root / p) for p in gallery],
                                 encoder.encode_image, 32, "gallery embeddings", progress).astype("<f4")
    with atomic_dir(out) as tmp:
        for sub in ("model", "gallery", "thumbs", "runtime"):
            (tmp / sub).mkdir()
        shutil.copy2(export / config["text"]["files"][variant], tmp / FILES["text"])
        shutil.copy2(export / "tokenizer.json", tmp / FILES["tokenizer"])
        (tmp / FILES["embeddings"]).write_bytes(np.ascontiguousarray(embeddings).tobytes())
        items = []
        for i, rel in enumerate(tqdm(gallery, desc="thumbnails", disable=not progress)):
            thumbnail(root / rel).save(tmp / "thumbs" / f"{i}.webp", "WEBP", quality=80)
            items.append({"caption": captions[rel], "thumb": f"thumbs/{i}.webp", "source": rel})
        atomic_write_json(tmp / FILES["gallery"], items)
        for src, name in RUNTIME_FILES.items():
            shutil.copy2(modules / src, tmp / "runtime" / name)
        for pkg, name in RUNTIME_LICENSES.items():
            licence = next((p for p in (modules / pkg).glob("LICENSE*")), None)
            if licence:
                shutil.copy2(licence, tmp / "runtime" / name)
        for name in ("index.html", "search.mjs"):
            shutil.copy2(PAGE / name, tmp / name)
        settings = {"model": config["name"], "variant": variant, "prefix": config["text"]["prefix"],
                    "max_length": config["text"]["max_length"], "inputs": config["text"]["inputs"],
                    "padding": config["text"].get("padding", "longest"), "pad_id": config["text"]["pad_id"],
                    "dim": int(embeddings.shape[1]), "count": len(items), "k": K, "files": FILES,
                    "runtime": runtime_versions(modules), "source_export": str(export),
                    # the page caches files under these hashes: a new export is never served an old file
                    "sha256": {key: sha256_file(tmp / path) for key, path in FILES.items()}}
        atomic_write_json(tmp / "web.json", settings)
        sizes: dict[str, int] = {}
        for p in sorted(tmp.rglob("*")):
            if p.is_file():  # thumbnails as one entry
                key = "thumbs/*.webp" if p.parent.name == "thumbs" else str(p.relative_to(tmp))
                sizes[key] = sizes.get(key, 0) + p.stat().st_size
        settings["sizes_bytes"] = sizes
        atomic_write_json(tmp / "web.json", settings)
    return out


def rank_like_the_page(out: Path, queries: list[str], k: int = K) -> list[list[int]]:
    """Python's top-k for each query over the page's own files, one query at a time (as the page
    encodes them; the int8 graph quantizes activations per batch), with LinguaLens's ONNX runtime on
    the export the page was made from: the reference a page must reproduce."""
    settings = json.loads((out / "web.json").read_text())
    encoder = OnnxEncoder(Path(settings["source_export"]), variant=settings["variant"])
    gallery = np.fromfile(out / settings["files"]["embeddings"], dtype="<f4").reshape(settings["count"], settings["dim"])
    tops = []
    for q in queries:
        scores = gallery @ encoder.encode_text([q])[0]
        tops.append([int(i) for i in np.argsort(-scores, kind="stable")[:k]])
    return tops


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.web", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a zoo model (exported first if it has no ONNX export)")
    parser.add_argument("--out", type=Path, required=True, help="the folder to write (replaced atomically)")
    parser.add_argument("--corpus", type=Path, default=None, help="corpus whose images make the gallery")
    parser.add_argument("--variant", choices=("auto", "int8", "fp32"), default="auto",
                        help="text graph: auto takes the published int8 graph, else fp32")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    try:
        out = write_page(args.model, args.out, args.corpus, args.variant, progress=not args.no_progress)
    except (ValueError, FileNotFoundError, KeyError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    size = sum(json.loads((out / "web.json").read_text())["sizes_bytes"].values())
    print(f"wrote {out} ({size / 1e6:.1f} MB); serve it with: python -m http.server -d {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
