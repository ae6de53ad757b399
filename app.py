"""LinguaLens app: multilingual image search, teacher and student side by side.

    python app.py [--host 127.0.0.1] [--port 7860] [--teacher NAME] [--student NAME] [--no-build] [--index DIR]

On a fresh checkout it first builds what search needs (corpus -> CLIP-style teacher), serves,
then distills the teacher's half-size DR student in the background (the student panel fills in
by itself when it is ready), then the rest of the default zoo and the ONNX exports — in a child
process at lower priority on one thread, so queries keep the cores. This file is only the UI: every answer comes from
`search.service.SearchService`, which the tests and the Gradio API use too.
"""
from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # never phone home
# Gradio 6.17 rebuilds a pandas summary of every event it has ever served after each event
# (GRADIO_ANALYTICS_CACHE_FREQUENCY=1), so an answer's cost grows with uptime (results/gradio_overheads.md:
# 4 ms after 5,000 queries, 34 ms after 50,000). It only feeds Gradio's monitoring page: never rebuild it.
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(10**12))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the app never downloads; hub names only when a user asks elsewhere

# after the environment above: huggingface_hub and gradio read it when first imported
import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from core.constants import DEFAULT_LOSSES, FAMILIES, student_name, teacher_name
from core.io import atomic_write_json
from core.paths import corpus_dir, downloads_dir, export_dir, export_path, zoo_dir
from export.onnx import export_model
from export.runtime import is_export
from search.build_index import IndexBuildError
from search.service import BACKENDS, DEFAULT_K, SearchService
from training.build_zoo import build_default_zoo
from training.student_card import measured, refresh_card

STARTED = time.perf_counter()
STATUS = {"background": "idle"}
EXAMPLES = ["perro", "犬", "собака", "un chat qui dort", "Kaffee", "القمر", "로켓", "bandera de Japón", "हवाई जहाज़", "🍕 pizza"]
LANGUAGES = ["en", "es", "fr", "de", "it", "pt", "ru", "zh", "ja", "ko", "ar", "tr", "fa", "id"]
PREFERRED = {"teacher": teacher_name("clip"), "student": student_name("clip", "half", "dr")}


def ensure_minimal_zoo(log=print) -> list[str]:
    """Build, in the foreground, only what a first search needs: the corpus and the teacher (the
    student follows in the background, so the page is usable minutes earlier)."""
    return build_default_zoo(families=("clip",), losses=(), progress=True, log=log)


SERVE_WORKERS = 2  # queries answered at once: one per core, each encoding on one thread (torch and
SERVE_THREADS = 1  # onnxruntime): batch-1 work gains little from a second thread, and two workers on
                   # two threads each fight over 2 cores
BUILD_NICENESS = 10  # the background build yields the cores to people's queries
BUILD_THREADS = 1  # and never takes more than one of them for its own math
STATUS_LINE = "lingualens-status: "


def background_build(app_age_s: float | None = None) -> int:
    """The rest of the default zoo and its ONNX exports, in this (child) process: see
    `build_rest_in_background`. `app_age_s`: how long the app had run when it started this child;
    given, the first student's time since the app's start is recorded."""
    import torch

    _die_with_parent()
    torch.set_num_threads(BUILD_THREADS)

    def status(message: str) -> None:
        print(STATUS_LINE + message.strip(), flush=True)

    try:
        status("distilling the default student (it appears in the student panel when ready) …")
        built = build_default_zoo(families=("clip",), losses=("dr",), progress=False, log=status)
        if app_age_s is not None and built:
            record_startup(app_age_s + time.perf_counter() - STARTED, built, key="first_run_student")
        status("building the rest of the default zoo (SigLIP teacher, ED students) …")
        build_default_zoo(progress=False, log=status)
        # students first (the student panel's default); then teachers, so both panels can run ONNX
        exports = [student_name(family, "half", loss) for loss in DEFAULT_LOSSES for family in FAMILIES]
        for name in exports + [teacher_name(family) for family in FAMILIES]:
            if not is_export(export_path(name)):
                status(f"exporting {name} to ONNX (fp32 + gated int8) …")
                export_model(name, int8=True)
        for name in exports:  # the cards' every-language tables, and the app's "keeps 0.93 in Thai"
            if not measured(name):
                status(f"measuring {name} in every language for its card …")
                refresh_card(name, evaluate=True, progress=False)
        status("default zoo, ONNX exports and model cards complete")
        return 0
    except Exception as exc:  # the app keeps serving what exists
        status(f"background build stopped: {type(exc).__name__}: {exc}")
        return 1


def _die_with_parent() -> None:
    """The child's first act: lower its own priority and (Linux) ask for SIGTERM when the app ends.
    Done here rather than in a `preexec_fn`, which is unsafe in a process that runs threads."""
    parent = os.getppid()
    os.nice(BUILD_NICENESS)
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        return
    if os.getppid() != parent:  # the app ended before the request took hold
        sys.exit(0)


def build_rest_in_background(record: bool = False) -> subprocess.Popen:
    """Distil and export the rest of the default zoo in a child process at lower priority with one
    thread. Run as a thread of the app (as before), it shared torch's thread pool and the cores
    with every query: on 2 cores the first query after the page appeared waited > 8 s and 20
    users saw p95 ≈ 11 s while it ran. Its status lines feed the page's status line."""
    env = {**os.environ, "OMP_NUM_THREADS": str(BUILD_THREADS), "MKL_NUM_THREADS": str(BUILD_THREADS)}
    age = ["--record", f"{time.perf_counter() - STARTED:.1f}"] if record else []
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--background-build", *age],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)

    def relay() -> None:
        for line in proc.stdout:
            if line.startswith(STATUS_LINE):
                STATUS["background"] = line[len(STATUS_LINE):].strip()
        if proc.wait() != 0 and "stopped" not in STATUS["background"]:
            STATUS["background"] = f"background build stopped (exit code {proc.returncode})"

    threading.Thread(target=relay, name="zoo-builder-status", daemon=True).start()
    return proc


def record_startup(seconds: float, built: list[str], key: str | None = None) -> None:
    path = Path(__file__).resolve().parent / "results" / "app_startup.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    key = key or ("first_run" if built else "later_start")
    data[key] = {"seconds_to_ready": round(seconds, 1), "built": built, "when": time.strftime("%Y-%m-%d %H:%M:%S")}
    try:
        atomic_write_json(path, data)
    except OSError:
        pass


def tolerant_image(gr, **kwargs):
    """An image input that hands the uploaded file to the search service even when Pillow cannot
    open it (corrupt, empty, not an image, a decompression bomb): the service then says what is
    wrong, where Gradio's own preprocessing would fail with a bare "the app raised an exception".
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
    """A gallery whose answers are built in the calling thread. Gradio 6.17's `Gallery.postprocess`
    starts a thread pool for every answer (three threads for eight file paths) although a path
    needs no work: 1.1 ms a panel idle and more under load, against 0.1 ms for the same
    `GalleryData` built directly (tested equal; results/gradio_overheads.md). Anything but plain
    local file paths goes to Gradio's own code. Wrapped on the instance, like `tolerant_image`."""
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


def build_ui(service, teacher: str, student: str):
    import gradio as gr

    def choices():
        models = service.zoo_models()
        teachers = models.get("teacher", []) + models.get("baseline", [])
        students = models.get("student", [])
        return teachers, students

    def panel_outputs(result):
        if result["message"]:
            return (f"ℹ️ {result['message']}", [], [], "", "", "")
        out = []
        labels = []
        for p in result["panels"]:
            if p.error:
                out.append([])
                labels.append(f"**{p.model}** — ⚠️ {p.error}")
            else:
                out.append(p.hits)
                note = f" — {p.notice}" if p.notice else ""
                labels.append(f"**{p.model}** · {p.backend} · {p.ms:.0f} ms · {p.index_kind} index{note}")
        ov = result["overlap"]
        return ("", out[0], out[1], labels[0], labels[1],
                f"overlap@{len(result['panels'][0].ids) or '-'} between the two lists: **{ov:.0%}**" if ov is not None else "")

    def do_search(query, t, s, backend, k, use_uploads, session):
        uploads = session.get("paths", []) if (use_uploads and session) else []
        message, t_hits, s_hits, t_label, s_label, ov = panel_outputs(service.search_text(query, t, s, backend, int(k), uploads))
        if not message:  # beside the results: the query's language and what the student keeps there
            said, kept = service.language_note(query, s)
            s_label = f"{s_label}  \n{kept}" if kept else s_label
            ov = " · ".join(x for x in (said, ov) if x)
        return message, t_hits, s_hits, t_label, s_label, ov

    def do_image(image, t, s, backend, k, language, session):
        if image is None:
            return ("ℹ️ Upload an image first.", [], [], "", "", "", "", "")
        result = service.search_image(image, t, s, backend, int(k), language, session.get("paths", []) if session else [])
        base = panel_outputs(result)
        caps = []
        for panel, best in zip(result.get("panels", []), result.get("captions", [])):
            caps.append("\n".join(f"{i + 1}. {c} · {sc:.3f}" for i, (c, sc) in enumerate(best)) if best else
                        (f"⚠️ {panel.error}" if panel.error else ""))
        caps += [""] * (2 - len(caps))
        return (*base, caps[0], caps[1])

    def do_upload(files, session):
        session = dict(session or {})
        session.setdefault("dir", str(Path(tempfile.gettempdir()) / "lingualens-uploads" / uuid.uuid4().hex))
        paths, messages = service.add_uploads(session.get("paths", []), [getattr(f, "name", f) for f in files or []],
                                              Path(session["dir"]))
        session["paths"] = paths
        return session, "\n".join(messages) or "No files.", [(p, Path(p).name) for p in paths]

    def do_zoo(name):
        if not name:
            return "Pick a model.", [], ""
        try:
            entry = service.zoo_entry(name)
        except (ValueError, FileNotFoundError, KeyError) as exc:
            return f"⚠️ {exc}", [], ""
        p = entry["parameters"]
        facts = [f"text parameters: {p.get('text', 0):,} · image parameters: {p.get('image', 0):,}"]
        if entry["onnx"]:
            sizes = entry["onnx"].get("sizes_bytes", {})
            facts.append("ONNX: " + ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in sorted(sizes.items())) +
                         f" · int8: {entry['onnx'].get('int8', {}).get('reason', '–')}")
        else:
            facts.append("ONNX: not exported yet")
        return entry["card"], [(pl, Path(pl).stem) for pl in entry["plots"]], "\n\n".join(facts)

    def do_zip(name, what):
        """Zipped on request (a teacher checkpoint is ~0.5 GB), then reused until the model changes."""
        try:
            entry = service.zoo_entry(name)
        except (ValueError, FileNotFoundError, KeyError) as exc:
            return None, f"⚠️ {exc}"
        source = entry["checkpoint"] if what == "checkpoint" else entry["export"]
        if source is None:
            return None, f"{name} has no ONNX export yet."
        # under this home: another home's model of the same name must never be served from a shared folder
        return service.zip_dir(source, f"{name}-{what}", downloads_dir()), ""

    teachers, students = choices()
    with gr.Blocks(title="LinguaLens") as demo:
        session = gr.State({})
        gr.Markdown("# LinguaLens — multilingual image search\nType in any language and script; the teacher "
                    "and its small student answer side by side.")
        status = gr.Markdown()
        with gr.Tab("Search"):
            with gr.Row():
                query = gr.Textbox(label="Query", placeholder="perro · 犬 · собака · un chat …", scale=4, elem_id="query")
                k = gr.Slider(1, 24, value=DEFAULT_K, step=1, label="results", scale=1)
                go = gr.Button("Search", variant="primary", scale=1, elem_id="search-button")
            with gr.Row():
                t_dd = gr.Dropdown(teachers, value=teacher, label="Teacher", allow_custom_value=True)
                s_dd = gr.Dropdown(students, value=student, label="Student", allow_custom_value=True, elem_id="student-model")
                backend = gr.Radio(list(BACKENDS), value=service.best_backend([n for n in (teacher, student) if n]),
                                   label="Backend (both panels; PyTorch where a model has no such export)")
                use_up = gr.Checkbox(label="include my uploads", value=False)
            gr.Examples(EXAMPLES, inputs=query)
            message = gr.Markdown(elem_id="message")
            with gr.Row():
                with gr.Column():
                    t_label = gr.Markdown()
                    t_gal = path_gallery(gr, label="Teacher", columns=4, height=420, elem_id="teacher-gallery")
                with gr.Column():
                    s_label = gr.Markdown(elem_id="student-label")
                    s_gal = path_gallery(gr, label="Student", columns=4, height=420, elem_id="student-gallery")
            ov = gr.Markdown(elem_id="overlap-line")
            outs = [message, t_gal, s_gal, t_label, s_label, ov]
            for trigger in (go.click, query.submit):
                # one public endpoint (/search); pressing Enter runs the same function, UI only
                named = {"api_name": "search"} if trigger == go.click else {"api_visibility": "private"}
                trigger(do_search, [query, t_dd, s_dd, backend, k, use_up, session], outs, **named)
        with gr.Tab("Image query"):
            with gr.Row():
                image = tolerant_image(gr, label="Your image", height=260, elem_id="image-query")
                with gr.Column():
                    lang = gr.Dropdown(LANGUAGES, value="en", label="Captions in")
                    go_img = gr.Button("Find similar images and captions", variant="primary", elem_id="image-search-button")
            i_msg = gr.Markdown()
            with gr.Row():
                with gr.Column():
                    it_label = gr.Markdown()
                    it_gal = path_gallery(gr, label="Teacher", columns=4, height=320, elem_id="image-teacher-gallery")
                    it_caps = gr.Markdown()
                with gr.Column():
                    is_label = gr.Markdown()
                    is_gal = path_gallery(gr, label="Student", columns=4, height=320, elem_id="image-student-gallery")
                    is_caps = gr.Markdown()
            i_ov = gr.Markdown()
            go_img.click(do_image, [image, t_dd, s_dd, backend, k, lang, session],
                         [i_msg, it_gal, is_gal, it_label, is_label, i_ov, it_caps, is_caps], api_name="search_image")
        with gr.Tab("My images"):
            gr.Markdown("Add up to 50 images (≤ 20 MB, ≤ 50 MP each) to a gallery only this browser session sees.")
            files = gr.File(file_count="multiple", file_types=["image"], label="Images")
            up_msg = gr.Markdown()
            up_gal = path_gallery(gr, label="My gallery", columns=6, height=240)
            files.upload(do_upload, [files, session], [session, up_msg, up_gal], api_visibility="private")
        with gr.Tab("Zoo"):
            zoo_dd = gr.Dropdown(teachers + students, value=student or teacher, label="Model", elem_id="zoo-model")
            facts = gr.Markdown()
            with gr.Row():
                zip_ckpt = gr.Button("Download checkpoint (zip)")
                zip_onnx = gr.Button("Download ONNX export (zip)")
            dl_msg = gr.Markdown()
            dl = gr.File(label="download", height=80)  # small while empty
            card = gr.Markdown(elem_id="zoo-card")  # what the model is comes first; its plots and files after
            plots = gr.Gallery(label="per-language metrics", columns=2, height=360)
            zoo_dd.change(do_zoo, zoo_dd, [card, plots, facts], api_name="zoo")
            zip_ckpt.click(lambda n: do_zip(n, "checkpoint"), zoo_dd, [dl, dl_msg], api_name="download_checkpoint")
            zip_onnx.click(lambda n: do_zip(n, "onnx"), zoo_dd, [dl, dl_msg], api_name="download_onnx")
        # the selected model's card on open, not only after the dropdown changes
        demo.load(do_zoo, zoo_dd, [card, plots, facts], api_visibility="private")
        known = gr.State((tuple(teachers), tuple(students)))

        def tick(current_student, seen):
            """The status line; and every dropdown updated when the zoo has new models (the background
            build adds them), the student one filled in if it was empty."""
            line = f"<small>background: {STATUS['background']}</small>"
            t, s = choices()
            if (tuple(t), tuple(s)) == tuple(seen):
                return line, gr.update(), gr.update(), gr.update(), seen
            student_update = (gr.update(choices=s) if current_student else
                              gr.update(choices=s, value=pick(PREFERRED["student"], s)))
            return line, gr.update(choices=t), student_update, gr.update(choices=t + s), (tuple(t), tuple(s))

        timer = gr.Timer(5.0)
        timer.tick(tick, [s_dd, known], [status, t_dd, s_dd, zoo_dd, known], api_visibility="private")
    return demo


def forget_finished_events(demo, keep: int = 1000, every_s: float = 60.0) -> None:
    """Gradio keeps a record of every event it has served (`Queue.event_analytics`) for as long as
    it runs; drop finished ones beyond the last `keep`, so memory does not grow with uptime."""
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


def pick(preferred: str, available: list[str]) -> str | None:
    return preferred if preferred in available else (available[0] if available else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python app.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--teacher", default=None)
    parser.add_argument("--student", default=None)
    parser.add_argument("--no-build", action="store_true", help="serve what exists; build nothing")
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--index", type=Path, default=None,
                        help="serve your own images: a directory from python -m search.build_index")
    parser.add_argument("--workers", type=int, default=SERVE_WORKERS,
                        help="queries answered at once (default: one per core of the 2-core machines this was tuned on)")
    parser.add_argument("--background-build", action="store_true", help=argparse.SUPPRESS)  # the app's own child
    parser.add_argument("--record", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.background_build:
        return background_build(app_age_s=args.record)

    built: list[str] = []
    if not args.no_build:
        print("LinguaLens: checking the default zoo …", flush=True)
        built = ensure_minimal_zoo(log=lambda m: print(m, flush=True))

    def say(msg: str) -> None:
        print(f"[{time.perf_counter() - STARTED:5.1f} s] {msg}", flush=True)

    say("loading the gallery …")
    try:
        service = SearchService(args.corpus, user_index=args.index, onnx_threads=SERVE_THREADS)
    except IndexBuildError as exc:
        parser.error(f"--index: {exc}")
    models = service.zoo_models()
    teacher = args.teacher or (service.user_index["model"] if service.user_index else
                               pick(PREFERRED["teacher"], models.get("teacher", []) + models.get("baseline", [])))
    student = args.student or pick(PREFERRED["student"], models.get("student", []))
    if teacher:
        warm = service.panel_backend(teacher, service.best_backend([n for n in (teacher, student) if n]))[0]
        say(f"loading {teacher} ({warm}) …")
        service.index(teacher, warm, service.encoder(teacher, warm))  # warm: the first query is fast
    say("building the page …")
    demo = build_ui(service, teacher, student)
    gallery_roots = [service.root, corpus_dir()] + ([service.gallery_root] if service.user_index else [])
    allowed = [str(p) for p in (*gallery_roots, zoo_dir(), export_dir(),
                                Path(tempfile.gettempdir()) / "lingualens-uploads", downloads_dir())]
    say("starting the server …")
    import gradio as gr
    import torch

    torch.set_num_threads(SERVE_THREADS)  # after the warm-up above, which encodes the gallery on every core
    # Gallery images are served from where they lie instead of being hashed and copied into
    # Gradio's cache for every answer (16 files per query); they never change while the app runs.
    gr.set_static_paths([str(p) for p in gallery_roots])
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    demo.queue(default_concurrency_limit=args.workers)
    _, url, _ = demo.launch(server_name=args.host, server_port=args.port, share=False, allowed_paths=allowed,
                            prevent_thread_lock=True, quiet=True, footer_links=["api"])
    ready = time.perf_counter() - STARTED
    threading.Thread(target=service.warm_language_guesser, name="language-guesser", daemon=True).start()
    threading.Thread(target=forget_finished_events, args=(demo,), name="gradio-analytics", daemon=True).start()
    if not args.no_build:  # a --no-build start (tests, custom models) says nothing about the default app
        record_startup(ready, built)
        builder = build_rest_in_background(record=True)
    print(f"LinguaLens ready at http://{args.host}:{args.port} after {ready:.0f} s", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        demo.close()
    finally:
        if not args.no_build and builder.poll() is None:
            builder.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
