"""Call a running app's named endpoints the way curl users do: one POST, then that call's own SSE stream.

Why not gradio_client for load: its `Client` reads every call of a session from one shared SSE
stream and reopens that stream racily (gradio_client 2.5.0, `Client.send_data`): the server closes
the stream after the session's last pending event; if the next `predict` is sent after the stream
thread has marked the stream closed but before that thread has returned, no new stream is opened,
and the old thread's done-callback then appends the "cancelled" marker to the new call's queue. The
call fails with a bare `CancelledError` although the server answered it. With thousands of quick
sequential calls per client this happens now and then, and it says nothing about the server. Here
every call owns its stream (`/gradio_api/call/{api_name}/{event_id}`), so what fails is the app.
"""
from __future__ import annotations

import json
import statistics
import threading
import time
from typing import Callable

import httpx

NO_SESSION = None  # the value a call gives a gr.State input: Gradio's simple API wants one, and None starts a fresh session


class AppCallError(RuntimeError):
    """The app answered a call with an error event, or its stream ended without a result."""


def call(http: httpx.Client, url: str, api_name: str, *data, timeout_s: float = 120.0) -> list:
    """The outputs of one call of `api_name` (no leading slash), as the JSON list the app sent.

    `data` holds a value for every input of the event, gr.State ones included (`NO_SESSION`)."""
    base = f"{url.rstrip('/')}/gradio_api/call/{api_name}"
    posted = http.post(base, json={"data": list(data)}, timeout=timeout_s)
    posted.raise_for_status()
    event_id = posted.json()["event_id"]
    event = None
    with http.stream("GET", f"{base}/{event_id}", timeout=timeout_s) as stream:
        stream.raise_for_status()
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.removeprefix("event:").strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                payload = line.removeprefix("data:").strip()
                if event == "error":
                    raise AppCallError(f"/{api_name} answered with an error: {payload[:300]}")
                return json.loads(payload)
    raise AppCallError(f"the stream of /{api_name} ended without a result (last event: {event})")


def percentiles(seconds: list[float]) -> dict:
    """Mean and nearest-rank p50/p95/p99 in ms."""
    ms = sorted(1000 * s for s in seconds)
    if not ms:
        return {}
    return {"mean_ms": round(statistics.mean(ms), 1),
            **{f"p{p}": round(ms[min(len(ms) - 1, int(p / 100 * len(ms)))], 1) for p in (50, 95, 99)}}


def load(url: str, clients: int, queries: int, ask: Callable[[httpx.Client, str, int, int], str | None],
         deadline_s: float | None = None) -> dict:
    """`clients` threads each send up to `queries` calls back to back; `ask(http, url, client, j)`
    makes call j and returns None when the answer is right, else what was wrong. A client stops
    early at `deadline_s` (from the start), so a slow server cannot make the run unbounded."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = time.perf_counter()

    def user(i: int) -> None:
        with httpx.Client() as http:
            for j in range(queries):
                if deadline_s is not None and time.perf_counter() - start > deadline_s:
                    return
                sent = time.perf_counter()
                try:
                    err = ask(http, url, i, j)
                except Exception as exc:  # counted, never raised: the report says how many
                    err = f"{type(exc).__name__}: {exc}"[:200]
                with lock:
                    latencies.append(time.perf_counter() - sent)
                    if err:
                        errors.append(err)

    threads = [threading.Thread(target=user, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return {"clients": clients, "queries_each": queries, "sent": len(latencies), "answered": len(latencies) - len(errors),
            "errors": len(errors), "first_errors": errors[:3], "wall_s": round(wall, 1),
            "queries_per_s": round(len(latencies) / wall, 1), **percentiles(latencies)}
