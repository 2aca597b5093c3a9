"""Issue 35's additions in a real browser, on a server of its own: the beginner's Train form (sections that say what
they hold), weight and gradient histograms, "N more epochs" with its chart, a sweep landing in a comparison table,
runs compared by their settings, the take-home downloads, and the network's map of the test images."""
from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest
from conftest import copy_run, write_tree

from bench.browser import (
    ARGS,
    CHROMIUM,
    ServerFailed,
    choose,
    dashboard_server,
    nav,
    pick_all,
    wait_for,
)

pytestmark = pytest.mark.slow  # a real server and Chromium
SHOTS = Path(__file__).resolve().parents[1] / "screenshots" / "studio"


@pytest.fixture(scope="module")
def server(tmp_path_factory, tutorial_run_once):
    tmp = tmp_path_factory.mktemp("studio")
    tree = write_tree(tmp / "tree", per_class=(20, 5))
    copy_run(tutorial_run_once, tmp / "runs" / "20260101-000000-tutorial-abc123", str(tree))
    env = {"CIFAR10_DATA": str(tree), "CIFAR10_ROOT": str(tmp / "data"), "CIFAR10_RUNS": str(tmp / "runs")}
    try:
        with dashboard_server(env, tmp / "server.log") as base:
            yield base, tmp
    except ServerFailed as exc:
        pytest.fail(str(exc))


@contextlib.contextmanager
def step(page, name: str):
    try:
        yield
    finally:
        page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def expander(page, title_start: str):
    """Open the expander whose title starts with these words."""
    page.locator("[data-testid='stExpander'] summary").filter(has_text=title_start).last.click()


def url(page) -> str:
    """The address bar as the app last set it (Playwright's page.url misses history.replaceState)."""
    return page.evaluate("location.href")


def finished(page, timeout_s: float = 90) -> None:
    page.get_by_text("Finished: test accuracy").first.wait_for(timeout=timeout_s * 1000)


@pytest.mark.timeout(600)
def test_a_beginner_trains_continues_sweeps_compares_and_takes_the_model_home(server, tmp_path):
    from playwright.sync_api import sync_playwright

    base, tmp = server
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(30_000)
        page.goto(base)
        nav(page, "Train")

        with step(page, "01-form-sections"):  # essentials open; a section's title says what it holds
            choose(page, "train_model", "seed")
            page.get_by_text("1 convolution").first.wait_for()  # the model at a glance
            summary = page.locator("[data-testid='stExpander'] summary").filter(has_text="Augmentation ·").last
            wait_for(lambda: "all off" in summary.inner_text(), what="the section's title to say all is off")
            expander(page, "Augmentation")
            page.locator(".st-key-seed_flip label").first.click()
            page.locator(".st-key-seed_epochs input").fill("2")
            page.get_by_role("button", name="Start training").click()
            finished(page)
            wait_for(lambda: "Random flips" in summary.inner_text(), what="the section's title to say flips are on")
        first = url(page).split("run=")[1]

        with step(page, "02-histograms"):
            expander(page, "Weights and gradients")
            page.locator(".st-key-hist_chart .js-plotly-plot").wait_for()
            thumb = page.get_by_role("slider", name="Epoch").last
            thumb.focus()
            thumb.press("Home")
            page.wait_for_timeout(1000)
            page.locator(".st-key-hist_chart .js-plotly-plot").wait_for()

        with step(page, "03-continue"):  # one more epoch from the finished run, charted beside it
            page.locator(".st-key-more_epochs input").fill("1")
            page.locator(".st-key-more_epochs input").press("Enter")
            page.get_by_role("button", name="Train 1 more epoch").click()
            wait_for(lambda: first not in url(page), timeout=60, what="the continued run in the URL")
            finished(page)
            page.locator(".st-key-lineage_chart .js-plotly-plot").last.wait_for()  # a rerun may show two a moment
        second = url(page).split("run=")[1]

        with step(page, "04-sweep"):  # Muon beside SGD at two learning rates: four runs, queued, then compared
            expander(page, "Sweep")
            for row, (label, values) in enumerate((("Optimizer", "sgd, muon"), ("Learning rate", "0.001, 0.01"))):
                box = page.locator(f".st-key-seed_sweep_name{row} input").first
                box.scroll_into_view_if_needed()
                box.click()
                box.press_sequentially(label.split()[0])
                page.get_by_role("option", name=label, exact=True).click()
                page.locator(f".st-key-seed_sweep_values{row} input").fill(values)
            page.get_by_role("button", name="Start a sweep").click()
            page.get_by_text("Sweep: 4 of 4 runs done").wait_for(timeout=180_000)
            chart = page.locator(".st-key-sweep_parcoords")
            chart.wait_for()
            chart.scroll_into_view_if_needed()
            chart.locator(".js-plotly-plot").wait_for()
            axes = page.evaluate("""() => document.querySelector('.st-key-sweep_parcoords .js-plotly-plot')
                .data[0].dimensions.map(d => [d.label, d.ticktext || d.values])""")
            assert dict(axes)["optimizer"] == ["muon", "sgd"] and len(dict(axes)["lr"]) == 4, axes

        with step(page, "05-compare"):
            pick_all(page, "compare_runs", (first, second))
            page.locator(".st-key-cmp_parcoords .js-plotly-plot").wait_for()

        with step(page, "06-take-home"):
            nav(page, "Evaluate")
            page.locator(".st-key-confusion_chart .js-plotly-plot").wait_for()
            expander(page, "Take the model home")
            for label, check in (("Download weights (safetensors)", lambda b: b[8:9] == b"{"),
                                 ("Download ONNX", lambda b: len(b) > 1000)):
                with page.expect_download(timeout=60_000) as got:
                    page.get_by_role("button", name=label).click()
                path = tmp_path / got.value.suggested_filename
                got.value.save_as(path)
                assert check(path.read_bytes()), label
            import numpy as np
            import onnxruntime

            onnx_file = next(tmp_path.glob("*.onnx"))
            session = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
            logits = session.run(None, {session.get_inputs()[0].name: np.random.rand(2, 3, 32, 32).astype("float32")})
            assert logits[0].shape == (2, 10)

        with step(page, "07-feature-map"):  # the map, and a click on a dot opens its image with Grad-CAM
            nav(page, "Inspect")
            choose(page, "inspect_run", second, exact=False)  # newest first would be a sweep run, and one of
            page.get_by_role("button", name="Draw the map").click()  # those may not have learned at lr 0.001
            chart = page.locator(".st-key-feature_map_chart .js-plotly-plot")
            chart.wait_for(timeout=120_000)
            chart.scroll_into_view_if_needed()
            point = page.evaluate("""() => {
                const d = document.querySelector('.st-key-feature_map_chart .js-plotly-plot');
                const L = d._fullLayout, r = d.getBoundingClientRect(), t = d.data[0];
                return {x: r.left + L._size.l + L.xaxis.l2p(t.x[0]), y: r.top + L._size.t + L.yaxis.l2p(t.y[0])};
            }""")
            page.mouse.click(point["x"], point["y"])
            page.get_by_text("Its nearest neighbours on the map").wait_for()
            page.get_by_text("the network says").first.wait_for()
            captions = page.locator("[data-testid='stImageCaption']").all_inner_texts()
            assert any(c.startswith(("grad-cam for", "input-gradient for")) for c in captions), captions[:12]
        browser.close()
