"""The load harness's client: one call, its own stream; errors come back as errors, not as silence."""
import os

import httpx
import pytest

from benchmarks.gradio_http import AppCallError, call
from tests.app_server import free_port

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture(scope="module")
def echo_app():
    import gradio as gr

    def echo(text: str, times: float) -> tuple[str, int]:
        if text == "fail":
            raise gr.Error("asked to fail")
        return text[::-1] * int(times), len(text)

    with gr.Blocks() as demo:
        text, times, out, length = gr.Textbox(), gr.Number(), gr.Textbox(), gr.Number()
        text.submit(echo, [text, times], [out, length], api_name="echo")
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True)
    yield url
    demo.close()


def test_call_returns_every_output_in_order(echo_app):
    with httpx.Client() as http:
        assert call(http, echo_app, "echo", "abc", 2) == ["cbacba", 3]
        assert call(http, echo_app, "echo", "собака", 1) == ["акабос", 6]  # back to back on one connection


def test_an_error_event_is_raised_with_the_apps_message(echo_app):
    with httpx.Client() as http, pytest.raises(AppCallError, match="asked to fail"):
        call(http, echo_app, "echo", "fail", 1)


def test_an_unknown_endpoint_is_an_http_error(echo_app):
    with httpx.Client() as http, pytest.raises(httpx.HTTPStatusError):
        call(http, echo_app, "nope", "x", 1)
