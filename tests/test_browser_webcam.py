"""The webcam in a real browser: Chromium's fake camera (a test pattern) takes the photo on the Evaluate page, and it
is classified through the same checks as an upload."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import copy_run, write_tree

from bench.browser import ARGS, CHROMIUM, ServerFailed, dashboard_server, nav

pytestmark = pytest.mark.slow  # a real server and Chromium

FAKE_CAMERA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]  # a test pattern, no prompt


@pytest.fixture(scope="module")
def server(tmp_path_factory, tutorial_run_once):
    tmp = tmp_path_factory.mktemp("webcam")
    tree = write_tree(tmp / "tree", per_class=(20, 5))
    copy_run(tutorial_run_once, tmp / "runs" / "20260101-000000-tutorial-abc123", str(tree))
    env = {"CIFAR10_DATA": str(tree), "CIFAR10_ROOT": str(tmp / "data"), "CIFAR10_RUNS": str(tmp / "runs")}
    try:
        with dashboard_server(env, tmp / "server.log") as base:
            yield base
    except ServerFailed as exc:
        pytest.fail(str(exc))


def test_a_webcam_photo_is_classified_like_an_upload(server):
    from playwright.sync_api import sync_playwright

    shots = Path(__file__).resolve().parents[1] / "screenshots" / "webcam"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS + FAKE_CAMERA)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, permissions=["camera"])
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(server)
        nav(page, "Evaluate")
        page.get_by_text("Try an image").wait_for()
        page.get_by_text("Use the webcam").click()
        take_photo(page)
        page.screenshot(path=shots / "evaluate-webcam.png", full_page=True)
        assert page.locator(".st-key-topk_chart .js-plotly-plot").count() == 1
        browser.close()


def take_photo(page) -> None:
    """Press Take Photo once the fake camera streams; a loaded CI machine can take a blank frame, so retake once."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('video')].some(v => v.readyState >= 2 && v.videoWidth > 0)",
        timeout=60_000,
    )
    caption = page.get_by_text("your webcam photo,")  # the picture's caption: label and size
    for attempt in range(2):
        page.get_by_role("button", name="Take Photo").click()
        try:
            caption.wait_for(timeout=45_000)
            return
        except Exception:
            if attempt:
                raise
            clear = page.get_by_role("button", name="Clear photo")
            if clear.count():
                clear.click()
