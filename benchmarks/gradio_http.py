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
