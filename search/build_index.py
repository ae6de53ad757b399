"""python -m search.build_index --images DIR --out INDEX [--model NAME] — search your own photos.

Embeds every image under DIR with a zoo model's image tower, in shards of --shard-size images,
each written atomically as it finishes (INDEX/shards/00012.safetensors): kill it, run the same
command again, and it continues with the first missing shard. Under `torchrun` (RANK and
WORLD_SIZE set) each process takes every WORLD_SIZE-th shard, on one machine or several sharing
INDEX; the rank-0 process writes the index once every shard exists. The FAISS index is chosen by
size: exact below 50,000 images, IVF-Flat from there (`results/index_scale.md` measured why).

INDEX/index.json names the model and its image tower: a teacher and every student distilled
from it share that tower, so one index serves all of them. Files Pillow cannot open are skipped
and listed with the reason. Serve it with `python app.py --index INDEX`.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from core.constants import teacher_name
from core.index import GalleryIndex
from core.io import ImageError, atomic_path, atomic_write_json, load_image, read_json_object
from core.paths import zoo_checkpoint
from core.progress import mark, progress
from zoo import load_model
from zoo.checkpoint import read_config
from zoo.info import info_of

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
FORMAT = "lingualens-index"


class IndexBuildError(ValueError):
    pass


def list_images(root: Path) -> list[str]:
    """Image files under `root`, relative and sorted (the order shards are cut in)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def fingerprint(obj) -> str:
    """A stable SHA-256 of a JSON-able value: how image-tower files become a cache or index key."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def _image_files(files: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in files.items() if k.startswith("image")}


def image_identity(name: str) -> str:
    """What makes two models' image vectors the same: the hashes of the image-tower files of the
    zoo checkpoint (students share their teacher's, byte for byte). A student of an open_clip or
    transformers teacher stores its image tower by reference: then the referenced model folder is
    the identity, and the teacher itself, named by that folder, has the same one."""
    path = Path(name).expanduser()
    if path.is_dir() and not (path / "lingualens.json").is_file():  # a model folder loaded as it is (the teacher)
        return reference_identity(name)
    try:
        config = read_config(zoo_checkpoint(name) if not path.is_dir() else path)
    except (OSError, ValueError) as exc:
        raise IndexBuildError(f"{name} is not a zoo checkpoint with recorded file hashes ({exc})") from exc
    image = _image_files(config.get("files", {}))
    if image:
        return fingerprint(image)
    reference = (config.get("meta") or {}).get("image_reference")
    if reference:
        return reference_identity(reference)
    raise IndexBuildError(f"{name}'s checkpoint records no image-tower files")


def reference_identity(reference: str) -> str:
    """A referenced image tower: its folder, and the size and time of every file in it (new
    weights in the same place are a different tower); a hub or registered name as it is."""
    path = Path(reference).expanduser()
    if not path.exists():
        return fingerprint({"image_reference": reference})
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
    return fingerprint({"image_reference": str(path.resolve()),
                        "files": {p.name: [p.stat().st_size, p.stat().st_mtime_ns] for p in files}})


def image_tower_files(encoder) -> dict[str, str]:
    """The recorded hashes of a loaded model's or export's image-tower files (all its files when
    none is named image*; empty when it records none): what its image vectors depend on."""
    files = (info_of(encoder).config or getattr(encoder, "config", None) or {}).get("files") or {}
    return _image_files(files) or dict(files)


def _listing(out: Path, root: Path, restart: bool) -> list[str]:
    files = list_images(root)
    if not files:
        raise IndexBuildError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under {root}")
    listing = out / "images.json"
    wanted = {"root": str(root), "files": files}
    if listing.is_file() and not restart:
        saved = read_json_object(listing, IndexBuildError, "image listing")
        if saved != wanted:
            raise IndexBuildError(f"{root} changed since {out} was started ({len(saved.get('files', []))} images then, "
                                  f"{len(files)} now): pass --restart to embed it again from scratch")
    else:
        for old in (out / "shards").glob("*.safetensors") if (out / "shards").is_dir() else []:
            old.unlink()
        atomic_write_json(listing, wanted)
    return files


def embed_images(encoder, paths: list[Path], root: Path) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """(vectors, ok, skipped): unreadable files get a zero row, ok=0 and the reason, named
    relative to `root` (the server's paths are nobody else's business)."""
    vectors = np.zeros((len(paths), encoder.embed_dim), np.float32)
    ok = np.zeros(len(paths), np.uint8)
    skipped, pictures = {}, []
    for i, path in enumerate(paths):
        try:
            pictures.append((i, load_image(path)))
        except ImageError as exc:
            name = str(Path(path).relative_to(root)) if Path(path).is_relative_to(root) else Path(path).name
            skipped[name] = str(exc).replace(str(path), name)
    if pictures:
        vectors[[i for i, _ in pictures]] = encoder.encode_image([p for _, p in pictures])
        ok[[i for i, _ in pictures]] = 1
    return vectors, ok, skipped


def embed_shard(model, root: Path, files: list[str], path: Path) -> None:
    from safetensors.numpy import save_file

    vectors, ok, skipped = embed_images(model, [root / name for name in files], root)
    with atomic_path(path) as tmp:
        save_file({"embeddings": vectors, "ok": ok}, str(tmp), metadata={"skipped": json.dumps(skipped)})


def _shard_path(out: Path, i: int) -> Path:
    return out / "shards" / f"{i:05d}.safetensors"


def finish(out: Path, model_name: str, files: list[str], shard_size: int) -> dict:
    """Gather every shard into one FAISS index and write index.faiss + index.json."""
    from safetensors import safe_open

    vectors, kept, skipped = [], [], {}
    for i in range(0, len(files), shard_size):
        with safe_open(str(_shard_path(out, i // shard_size)), "np") as f:
            emb, ok = f.get_tensor("embeddings"), f.get_tensor("ok").astype(bool)
            skipped.update(json.loads(f.metadata().get("skipped", "{}")))
        vectors.append(emb[ok])
        kept += [name for name, good in zip(files[i:i + shard_size], ok) if good]
    data = np.concatenate(vectors)
    index = GalleryIndex(data.shape[1])
    index.add(data, kept)
    index.save(out / "index.faiss")
    meta = {"format": FORMAT, "format_version": 1, "model": model_name, "image_identity": image_identity(model_name),
            "dim": int(data.shape[1]), "count": len(kept), "kind": index.kind, "images": kept, "skipped": skipped,
            "root": json.loads((out / "images.json").read_text())["root"]}
    atomic_write_json(out / "index.json", meta)
    return meta


def build(images: Path, out: Path, model_name: str, shard_size: int = 256, restart: bool = False,
          rank: int = 0, world: int = 1, wait_s: float = 3600.0, show_progress: bool = True) -> dict | None:
    """Embed this process's shards; rank 0 then waits for the others and writes the index."""
    root = images.expanduser().resolve()
    if not root.is_dir():
        raise IndexBuildError(f"{images} is not a directory")
    if shard_size < 1:
        raise IndexBuildError(f"--shard-size must be at least 1, got {shard_size}")
    out = out.expanduser().resolve()
    (out / "shards").mkdir(parents=True, exist_ok=True)
    image_identity(model_name)  # refuse early: a model whose image tower cannot be identified cannot be served
    files = _listing(out, root, restart) if rank == 0 else _wait_for_listing(out, wait_s)
    n_shards = (len(files) + shard_size - 1) // shard_size
    mine = [i for i in range(rank, n_shards, world) if not _shard_path(out, i).is_file()]
    if mine:
        model = load_model(model_name)
        mark("build_index", n_shards - len(mine), n_shards)
        for done, i in enumerate(progress(mine, desc=f"embedding shards (rank {rank}/{world})",
                                          disable=not show_progress), n_shards - len(mine) + 1):
            embed_shard(model, root, files[i * shard_size:(i + 1) * shard_size], _shard_path(out, i))
            mark("build_index", done, n_shards)
    if rank != 0:
        return None
    deadline = time.time() + wait_s
    while missing := [i for i in range(n_shards) if not _shard_path(out, i).is_file()]:
        if time.time() > deadline:
            raise IndexBuildError(f"{len(missing)} shards still missing after {wait_s:.0f} s (first: {missing[0]}); "
                                  "run the command again to embed them here")
        time.sleep(2)
    return finish(out, model_name, files, shard_size)


def _wait_for_listing(out: Path, wait_s: float) -> list[str]:
    deadline = time.time() + wait_s
    while not (out / "images.json").is_file():
        if time.time() > deadline:
            raise IndexBuildError(f"rank 0 has not listed the images in {out} after {wait_s:.0f} s")
        time.sleep(1)
    return read_json_object(out / "images.json", IndexBuildError, "image listing")["files"]


def read_index(path: Path) -> tuple[dict, GalleryIndex]:
    """(index.json, the loaded index with image paths as payloads) of a built INDEX directory."""
    path = Path(path).expanduser()
    meta = read_json_object(path / "index.json", IndexBuildError, "LinguaLens image index")
    if meta.get("format") != FORMAT:
        raise IndexBuildError(f"{path / 'index.json'} is not a {FORMAT} file")
    root = Path(meta["root"])
    index = GalleryIndex.load(path / "index.faiss", [str(root / name) for name in meta["images"]])
    if index.dim != meta["dim"]:
        raise IndexBuildError(f"{path / 'index.faiss'} holds {index.dim}-d vectors but index.json says {meta['dim']}")
    return meta, index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m search.build_index", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", default=teacher_name("clip"), help="a zoo model (its students share the index)")
    parser.add_argument("--shard-size", type=int, default=256)
    parser.add_argument("--restart", action="store_true", help="forget shards of an earlier listing")
    parser.add_argument("--wait", type=float, default=3600.0, help="seconds rank 0 waits for other ranks' shards")
    args = parser.parse_args(argv)
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    try:
        meta = build(args.images, args.out, args.model, args.shard_size, args.restart, rank, world, args.wait)
    except IndexBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if meta:
        print(f"{args.out}: {meta['count']} images ({meta['kind']} index, {len(meta['skipped'])} skipped) "
              f"embedded with {args.model}; serve it with: python app.py --index {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
