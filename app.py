"""LinguaLens app: multilingual image search, teacher and student side by side.

    python app.py [--host 127.0.0.1] [--port 7860] [--teacher NAME] [--student NAME] [--no-build] [--index DIR]

On a fresh checkout it first builds what search needs (corpus -> CLIP-style teacher), serves,
then distills the teacher's half-size DR student in the background (the student panel fills in
by itself when it is ready), then the rest of the default zoo and the ONNX exports — in a child
process at lower priority on one thread, so queries keep the cores (`serving/background.py`). This
file is only the UI: every answer comes from `search.service.SearchService`, which the tests and
the Gradio API use too; the few Gradio internals it patches are in `serving/gradio_patches.py`.
"""
from __future__ import annotations

from serving.gradio_patches import configure_environment

configure_environment()  # before huggingface_hub and gradio are first imported: they read it once

import argparse
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from core.constants import student_name, teacher_name
from core.paths import corpus_dir, downloads_dir, export_dir, zoo_dir
from search.build_index import IndexBuildError
from search.service import BACKENDS, DEFAULT_K, SearchService
from serving.background import STATUS, record_startup, start_background_build
from serving.gradio_patches import forget_finished_events, path_gallery, tolerant_image
from training.build_zoo import build_default_zoo

STARTED = time.perf_counter()
EXAMPLES = ["perro", "犬", "собака", "un chat qui dort", "Kaffee", "القمر", "로켓", "bandera de Japón", "हवाई जहाज़", "🍕 pizza"]
LANGUAGES = ["en", "es", "fr", "de", "it", "pt", "ru", "zh", "ja", "ko", "ar", "tr", "fa", "id"]
PREFERRED = {"teacher": teacher_name("clip"), "student": student_name("clip")}
SERVE_WORKERS = 2  # queries answered at once: one per core, each encoding on one thread (torch and
SERVE_THREADS = 1  # onnxruntime): batch-1 work gains little from a second thread, and two workers on
                   # two threads each fight over 2 cores


def ensure_minimal_zoo(log=print) -> list[str]:
    """Build, in the foreground, only what a first search needs: the corpus and the teacher (the
    student follows in the background, so the page is usable minutes earlier)."""
    return build_default_zoo(families=("clip",), losses=(), progress=True, log=log)


def build_ui(service, teacher: str, student: str):
    import gradio as gr

    def choices(fresh: bool = False):
        models = service.zoo_models(fresh=fresh)
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
        status = gr.Markdown(elem_id="build-status")
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
        known = gr.State((tuple(teachers), tuple(students)))

        def on_open():
            """Every page reads the zoo as it is when the page opens, not as it was when the app
            started: a page opened after the student was built has it selected at once."""
            t, s = choices(fresh=True)
            t_value, s_value = pick(teacher or PREFERRED["teacher"], t), pick(student or PREFERRED["student"], s)
            return (gr.update(choices=t, value=t_value), gr.update(choices=s, value=s_value),
                    gr.update(choices=t + s, value=s_value or t_value), (tuple(t), tuple(s)),
                    gr.update(value=service.best_backend([n for n in (t_value, s_value) if n])))

        # then the selected model's card, not only after the dropdown changes
        demo.load(on_open, None, [t_dd, s_dd, zoo_dd, known, backend], api_visibility="private").then(
            do_zoo, zoo_dd, [card, plots, facts], api_visibility="private")

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


def pick(preferred: str, available: list[str]) -> str | None:
    return preferred if preferred in available else (available[0] if available else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python app.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--teacher", default=None, help="a zoo name, or a model folder of your own (e.g. an open_clip download)")
    parser.add_argument("--student", default=None, help="a zoo name or a checkpoint folder")
    parser.add_argument("--no-build", action="store_true", help="serve what exists; build nothing")
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--index", type=Path, default=None,
                        help="serve your own images: a directory from python -m search.build_index")
    parser.add_argument("--workers", type=int, default=SERVE_WORKERS,
                        help="queries answered at once (default: one per core of the 2-core machines this was tuned on)")
    args = parser.parse_args(argv)

    built: list[str] = []
    if not args.no_build:
        print("LinguaLens: checking the default zoo …", flush=True)
        built = ensure_minimal_zoo(log=lambda m: print(m, flush=True))

    def say(msg: str) -> None:
        print(f"[{time.perf_counter() - STARTED:5.1f} s] {msg}", flush=True)

    say("loading the gallery …")
    try:
        service = SearchService(args.corpus, user_index=args.index, onnx_threads=SERVE_THREADS,
                                operator_models=tuple(m for m in (args.teacher, args.student) if m))
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
        builder = start_background_build(app_age_s=time.perf_counter() - STARTED)
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
