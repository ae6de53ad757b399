"""python -m benchmarks.app_screenshot --query собака — a screenshot of a running app answering a query
(`--image PHOTO`: an image query instead).

Drives Debian's Chromium through Playwright (no browser download; flags for a closed network).
The browser test uses the same function, so what CI checks is what this command records.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextmanager
def chromium_browser():
    """Headless Debian Chromium through Playwright, closed afterwards."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if not chromium:
        raise FileNotFoundError("Debian chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def _page(url: str, height: int):
    """A headless Debian-Chromium page on `url`, closed afterwards."""
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": height})
        page.goto(url, wait_until="load")  # not "networkidle": the status timer keeps polling
        yield page


def _wait_and_shoot(page, galleries: tuple[str, str], path: Path, timeout_ms: int, full_page: bool = False) -> None:
    for gallery in galleries:
        page.wait_for_selector(f"#{gallery} img", timeout=timeout_ms)
    page.wait_for_timeout(1000)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=full_page)


def screenshot_search(url: str, query: str, path: Path, timeout_ms: int = 60_000) -> tuple[int, int]:
    """Type `query`, click Search, wait for both galleries, save a PNG; (teacher, student) image counts."""
    galleries = ("teacher-gallery", "student-gallery")
    with _page(url, 1100) as page:
        page.wait_for_selector("#query textarea", timeout=timeout_ms)
        page.fill("#query textarea", query)
        page.click("#search-button")
        _wait_and_shoot(page, galleries, path, timeout_ms)
        return tuple(page.locator(f"#{g} img").count() for g in galleries)


def image_search(url: str, image: Path, path: Path, timeout_ms: int = 60_000) -> tuple[list[str], list[str]]:
    """Upload `image` in the Image query tab, search, save a PNG; the captions each gallery shows
    (teacher, student), in rank order."""
    galleries = ("image-teacher-gallery", "image-student-gallery")
    with _page(url, 1300) as page:
        page.get_by_role("tab", name="Image query").click()
        page.locator("#image-query input[type=file]").set_input_files(str(image))
        page.wait_for_selector("#image-query img", timeout=timeout_ms)  # the upload has landed
        page.click("#image-search-button")
        _wait_and_shoot(page, galleries, path, timeout_ms, full_page=True)
        return tuple(page.locator(f"#{g} .gallery-item .caption-label").all_inner_texts() for g in galleries)


def search_notes(url: str, query: str, timeout_ms: int = 60_000) -> tuple[str, str]:
    """Search for `query`; the student panel's label and the line under the galleries, as shown."""
    with _page(url, 1100) as page:
        page.wait_for_selector("#query textarea", timeout=timeout_ms)
        page.fill("#query textarea", query)
        page.click("#search-button")
        page.wait_for_selector("#student-gallery img", timeout=timeout_ms)
        page.wait_for_function("document.querySelector('#student-label').innerText.includes('·')", timeout=timeout_ms)
        return page.inner_text("#student-label"), page.inner_text("#overlap-line")


def zoo_tab(url: str, timeout_ms: int = 60_000) -> tuple[str, str]:
    """Open the page and the Zoo tab without touching anything: (the selected model, the card shown)."""
    with _page(url, 1100) as page:
        page.get_by_role("tab", name="Zoo").click()
        # while the card loads, Gradio shows a timer ("0.1s") in its place
        page.wait_for_function("(t => t.length > 0 && !/^[0-9.]+s$/.test(t))"
                               "(document.querySelector('#zoo-card').innerText.trim())", timeout=timeout_ms)
        return page.input_value("#zoo-model input"), page.inner_text("#zoo-card")


def dropdown_choices(url: str, elem_id: str, appears: str | None = None, timeout_ms: int = 60_000) -> list[str]:
    """The options a dropdown offers, read by opening it like a user; with `appears`, the page stays
    open (re-opening the list) until that option shows up or the timeout passes."""
    with _page(url, 1100) as page:
        page.wait_for_selector(f"#{elem_id} input", timeout=timeout_ms)
        waited = 0
        while True:
            page.click(f"#{elem_id} input")
            page.wait_for_selector(f"#{elem_id} ul.options li", timeout=timeout_ms)
            options = page.locator(f"#{elem_id} ul.options li").evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")
            page.click("h1")  # close the list the way a user does (Escape leaves it unable to reopen)
            if appears is None or appears in options or waited >= timeout_ms:
                return options
            page.wait_for_timeout(1000)
            waited += 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.app_screenshot", description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:7860/")
    parser.add_argument("--query", default="собака")
    parser.add_argument("--image", type=Path, default=None, help="search with this image (Image query tab) instead")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "results" / "app-search-ru.png")
    args = parser.parse_args(argv)
    if args.image is not None:
        teacher_caps, student_caps = image_search(args.url, args.image, args.out)
        print(f"{args.out}: teacher shows {teacher_caps}; student shows {student_caps}")
        return 0
    teacher, student = screenshot_search(args.url, args.query, args.out)
    print(f"{args.out}: {teacher} teacher and {student} student images for {args.query!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
