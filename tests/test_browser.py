"""A real browser walks through the whole app as a new user would (Debian's Chromium driven by Playwright).

Screenshots of every step land in screenshots/e2e/; a failing step names its screenshot.
"""
from __future__ import annotations

import contextlib
import re
import shutil
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import png_bytes, write_tree

from bench.browser import (
    ARGS,
    CHROMIUM,
    ServerFailed,
    choose,
    dashboard_server,
    nav,
    wait_for,
)

pytestmark = pytest.mark.slow  # a real server and Chromium: minutes, not seconds

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "screenshots" / "e2e"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    tree = write_tree(tmp / "tree", per_class=(20, 5))
    env = {"CIFAR10_DATA": str(tree), "CIFAR10_ROOT": str(tmp / "data"), "CIFAR10_RUNS": str(tmp / "runs")}
    try:
        with dashboard_server(env, tmp / "server.log") as base:
            yield base, tmp
    except ServerFailed as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def page(server):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        pg.set_default_timeout(20_000)
        yield pg
        browser.close()


@contextlib.contextmanager
def step(page, name: str):
    """Screenshot after the step; on failure, fail with the screenshot's path."""
    path = SHOTS / f"{name}.png"
    try:
        yield
        page.wait_for_timeout(300)
        page.screenshot(path=path, full_page=True)
    except Exception as exc:
        page.screenshot(path=path, full_page=True)
        raise AssertionError(f"browser step {name!r} failed (screenshot: {path}): {exc}") from exc


def plot_points(page, key: str, trace: int = 0) -> int:
    return page.evaluate(
        """([key, trace]) => { const d = document.querySelector(`.st-key-${key} .js-plotly-plot`);
                               return d && d.data && d.data[trace] ? (d.data[trace].x || d.data[trace].y).length : 0 }""",
        [key, trace])


def test_a_shared_model_link_is_the_first_visit_after_a_start(server, page):
    """Before any session has run dashboard.py, Streamlit served deep links from pages/ directly (no navigation,
    no layout). A shared Model link must open the model in the real app even as the server's very first visit."""
    from core.models.codec import spec_to_token
    from core.training.presets import PRESETS

    base, _ = server
    with step(page, "00-shared-link-first"):
        page.goto(f"{base}/model?model={spec_to_token(PRESETS['tutorial'].spec)}")
        page.get_by_role("heading", name="Model", exact=True).first.wait_for()
        page.get_by_text("tutorial: 12 layers").or_(page.get_by_text("custom: 12 layers")).first.wait_for()
        nav_links = page.locator("[data-testid='stSidebarNav']").inner_text()
        assert "Dataset" in nav_links and "dashboard" not in nav_links, nav_links


@pytest.mark.timeout(900)  # every page in turn, two runs and a captioner trained: the longest test there is
def test_a_new_user_walks_through_the_app(server, page, tmp_path):
    base, _ = server
    with step(page, "01-home"):
        page.goto(base)
        page.get_by_text("Training images").wait_for()
        assert page.get_by_text("200", exact=True).is_visible()
        assert page.get_by_text("CPU,").first.is_visible()

    with step(page, "02-dataset"):
        nav(page, "Dataset")
        page.locator(".st-key-counts_chart .js-plotly-plot").wait_for()
        wait_for(lambda: page.locator("[data-testid='stImage']").count() >= 40, what="the image grid")
        assert plot_points(page, "counts_chart") == 10

    with step(page, "03-dataset-filter"):
        page.locator(".st-key-grid_classes input").fill("ship")
        page.keyboard.press("Enter")
        page.keyboard.press("Escape")
        def only_ships():
            captions = page.locator("[data-testid='stImageCaption']").all_inner_texts()[:20]
            return len(captions) == 20 and set(captions) == {"ship"}
        wait_for(only_ships, what="a grid of ships only")

    with step(page, "04-model-preset"):
        nav(page, "Model")
        choose(page, "preset_pick", "seed")
        page.locator(".st-key-preset_load button").click()
        page.locator("[data-testid='stGraphVizChart'] svg").get_by_text("16x28x28").first.wait_for()

    with step(page, "05-model-add-layer"):
        page.locator(".st-key-add_pos input").fill("1")
        page.locator(".st-key-add_pos input").press("Enter")
        page.wait_for_timeout(500)
        page.locator(".st-key-add_layer button").click()
        page.locator("[data-testid='stGraphVizChart'] svg").get_by_text("32x32x32").first.wait_for()
        page.locator("[data-testid='stGraphVizChart'] svg").get_by_text("16x28x28").first.wait_for()

    with step(page, "05b-model-batchnorm"):  # the layer the divergence message recommends: add it, then edit it
        choose(page, "add_kind", "BatchNorm2d")
        page.locator(".st-key-add_pos input").fill("2")
        page.locator(".st-key-add_pos input").press("Enter")
        page.wait_for_timeout(500)
        page.locator(".st-key-add_layer button").click()
        page.locator("[data-testid='stGraphVizChart'] svg").get_by_text("BatchNorm2d").first.wait_for()
        choose(page, "edit_pick", "2. BatchNorm2d")
        momentum = page.locator("[class*='st-key-edit1-'][class*='_BatchNorm2d_momentum'] input")
        momentum.fill("0.3")
        momentum.press("Enter")
        page.wait_for_timeout(500)
        page.locator(".st-key-apply_edit button").click()
        page.wait_for_timeout(800)
        assert page.locator("[class*='st-key-edit1-'][class*='_BatchNorm2d_momentum'] input").input_value() == "0.3"
        assert page.get_by_text("StreamlitValue").count() == 0

    with step(page, "06-model-invalid"):
        choose(page, "add_kind", "MaxPool2d")
        page.locator(".st-key-add_pos input").fill("9")
        page.locator(".st-key-add_pos input").press("Enter")
        page.wait_for_timeout(500)
        page.locator(".st-key-add_layer button").click()
        page.get_by_text("layer 9, MaxPool2d 2x2: MaxPool2d needs feature maps").first.wait_for()
        page.get_by_text("This model cannot be trained yet").wait_for()

    with step(page, "07a-lr-find"):  # the range test with the form's settings, then its suggestion into the form
        nav(page, "Train")
        page.get_by_text("cannot be trained until it is fixed").wait_for()
        choose(page, "train_model", "seed")
        page.locator(".st-key-seed_batch input").fill("16")
        page.get_by_role("button", name="Find a learning rate").click()
        page.locator(".st-key-lr_find_chart .js-plotly-plot").first.wait_for(timeout=60_000)  # a rerun may show two a moment
        use = page.locator(".st-key-lr_find_use button")
        use.wait_for(timeout=60_000)
        suggested = use.inner_text().split()[1]  # "Use 0.064 as the learning rate"
        use.click()
        wait_for(lambda: page.locator(".st-key-seed_lr [data-testid='stSliderThumbValue']").inner_text() == suggested,
                 what=f"the form's learning rate to become {suggested}")

    with step(page, "07-train-running"):
        page.locator(".st-key-seed_batch input").fill("4")  # small steps: many of them to watch
        page.locator(".st-key-seed_epochs input").fill("20")
        page.get_by_role("button", name="Start training").click()
        wait_for(lambda: plot_points(page, "loss_chart") > 0, what="the first loss points")
        # (a fast CPU finishes these 1,000 steps in a few seconds; the chart is watched growing in the next run)

    with step(page, "08-train-finished"):
        page.get_by_text("Finished: test accuracy").wait_for(timeout=90_000)
        wait_for(lambda: plot_points(page, "acc_chart") == 20, what="all 20 epochs on the accuracy chart")

    with step(page, "08b-time-lapse"):  # scrub back to the first epoch: its filters and heat maps
        page.get_by_text("Time-lapse of learning").wait_for()
        assert page.locator("[data-testid='stImageCaption']").filter(has_text=": sees ").count() == 6
        thumb = page.get_by_role("slider", name="Epoch")
        thumb.focus()
        thumb.press("Home")
        page.get_by_text("First-layer filters after epoch 1 ").wait_for()

    with step(page, "09-train-reload"):
        page.locator(".st-key-seed_epochs input").fill("500")
        page.get_by_role("button", name="Start training").click()
        wait_for(lambda: plot_points(page, "loss_chart") > 0 and page.get_by_role("button", name="Stop").count() > 0,
                 what="the second run to start")
        run_id = page.evaluate("location.href").split("run=")[1]  # page.url misses history.replaceState
        began = time.monotonic()  # the server keeps answering while a run trains (how fast: python -m bench)
        assert urllib.request.urlopen(f"{base}/_stcore/health", timeout=10).read() == b"ok"
        print(f"health answered in {time.monotonic() - began:.2f} s during training")
        page.reload()
        page.get_by_text(f"Run {run_id}").first.wait_for()
        wait_for(lambda: plot_points(page, "loss_chart") > 0, what="the history after a reload")
        first = plot_points(page, "loss_chart")
        wait_for(lambda: plot_points(page, "loss_chart") > first, what="the loss chart to gain points, live")

    with step(page, "09b-browse-while-training"):
        began = time.monotonic()  # the rest of the app stays usable while a run trains
        nav(page, "Home", "CIFAR-10 Studio")
        page.get_by_text("Training images").wait_for()
        print(f"home page rendered in {time.monotonic() - began:.2f} s during training")
        nav(page, "Train")
        page.get_by_text(f"Run {run_id}").first.wait_for()

    with step(page, "10-train-stopped"):
        page.get_by_role("button", name="Stop").click()
        page.get_by_text("Stopped. What it learned so far is saved").wait_for(timeout=10_000)

    with step(page, "11-evaluate"):
        nav(page, "Evaluate")
        page.locator(".st-key-confusion_chart .js-plotly-plot").wait_for()
        assert plot_points(page, "per_class_chart") == 10

    with step(page, "11b-confusion-click"):  # a click on a cell of the heatmap shows that cell's images
        chart = page.locator(".st-key-confusion_chart .js-plotly-plot")
        chart.scroll_into_view_if_needed()
        cell = page.evaluate("""() => {
            const d = document.querySelector('.st-key-confusion_chart .js-plotly-plot');
            const L = d._fullLayout, z = d.data[0].z, r = d.getBoundingClientRect();
            let best = null;  // the busiest cell that is not the pickers' starting pair
            z.forEach((row, i) => row.forEach((n, j) => {
                if (!(i === 0 && j === 1) && (best === null || n > best.n)) best = {i, j, n};
            }));
            return {...best, classes: d.data[0].x,
                    x: r.left + L._size.l + L.xaxis.l2p(best.j), y: r.top + L._size.t + L.yaxis.l2p(best.i)};
        }""")
        true_c, pred_c = cell["classes"][cell["i"]], cell["classes"][cell["j"]]
        page.mouse.click(cell["x"], cell["y"])
        page.get_by_text(f"{cell['n']} test images are {true_c} and were predicted {pred_c}").wait_for()
        wait_for(lambda: page.locator("[data-testid='stImageCaption']").filter(
            has_text=re.compile(rf"^{pred_c} \d+%$")).count() == min(cell["n"], 30), what="the cell's images")

    with step(page, "12-upload-png"):
        photo = tmp_path / "photo.png"
        photo.write_bytes(png_bytes(mode="RGB", size=(120, 90)))
        page.locator(".st-key-photo_upload input[type='file']").set_input_files(photo)
        page.locator(".st-key-topk_chart .js-plotly-plot").wait_for()
        assert plot_points(page, "topk_chart") == 5
        page.locator("h3").filter(has_text="%").first.wait_for()
        for fit in ("crop", "squash", "pad"):  # what the network saw: the photo made square three ways
            page.get_by_text(f"{fit} (32x32)", exact=True).wait_for()

    with step(page, "12b-not-sure"):  # the calibrated threshold at its top: the photo gets "not sure"
        page.locator(".st-key-reliability_chart .js-plotly-plot").wait_for()
        page.locator(".st-key-abstain_chart .js-plotly-plot").wait_for()
        thumb = page.locator(".st-key-abstain_threshold input[type='range']")
        thumb.focus()
        thumb.press("End")
        page.locator("h3").filter(has_text="Not sure: nothing here is 99% likely").wait_for()
        page.get_by_text("At 99%: it answers").wait_for()

    with step(page, "12c-robustness"):  # measured on request, drawn as a heatmap; the examples follow the severity
        page.get_by_role("button", name="Measure").click()
        page.locator(".st-key-robustness_chart .js-plotly-plot").wait_for(timeout=120_000)
        rows = page.evaluate("() => document.querySelector('.st-key-robustness_chart .js-plotly-plot').data[0].y.length")
        assert rows == 14
        severity = page.get_by_role("slider", name="Severity")
        severity.focus()
        severity.press("End")
        page.get_by_text(re.compile(r"^Gaussian noise: \w+")).first.wait_for()

    with step(page, "13-upload-text"):
        fake = tmp_path / "fake.png"
        fake.write_text("this is text, not a picture")
        page.locator(".st-key-photo_upload input[type='file']").set_input_files(fake)
        page.get_by_text("fake.png is not an image this app can read").wait_for()
        wait_for(lambda: page.locator(".st-key-topk_chart").count() == 0, what="the old chart to go")

    with step(page, "14-inspect"):
        nav(page, "Inspect")
        page.get_by_text("Predicted:").first.wait_for()
        page.get_by_text("grad-cam for").first.wait_for()
        page.locator("h3").filter(has_text="I ").first.wait_for()
        page.get_by_text("map 1", exact=True).first.wait_for()

    with step(page, "14b-neighbours"):  # the training images most like it, fewer on request
        page.get_by_role("heading", name="The training images most like this one").scroll_into_view_if_needed()
        page.get_by_role("button", name="Find the most similar training images").click()
        near = page.locator("[data-testid='stImageCaption']").filter(has_text=re.compile(r"^\w+ · -?[01]\.\d\d$"))
        wait_for(lambda: near.count() == 8, what="eight neighbours")
        thumb = page.locator(".st-key-neighbours_k input[type='range']")
        thumb.focus()
        thumb.press("Home")
        wait_for(lambda: near.count() == 1, what="one neighbour")

    with step(page, "15-caption-train"):
        nav(page, "Caption")
        choose(page, "cap_encoder", "train an encoder from scratch")  # the default, the starter's, adapts for minutes
        for key, value in (("cap_epochs", "2"), ("cap_scenes", "640"), ("cap_batch", "32"), ("cap_hidden", "64")):
            box = page.locator(f".st-key-{key} input")
            box.fill(value)
            box.press("Tab")
        page.get_by_role("button", name="Start training the captioner").click()
        page.get_by_text("scenes/s").first.wait_for(timeout=60_000)  # the live progress line (40 steps to watch)
        page.get_by_text("of the test scenes captioned with exactly the right meaning").wait_for(timeout=360_000)
        page.locator(".st-key-cap_scores .js-plotly-plot").wait_for()
        assert plot_points(page, "cap_scores") == 2  # one point per epoch
        page.get_by_text("Test scenes captioned after epoch 2").wait_for()
        page.get_by_text("Varied test scenes: any size, place and canvas shape").wait_for()  # sampled every epoch too
        page.locator(".st-key-cap_epoch_pick").wait_for()  # the slider back to epoch 1's babble

    with step(page, "16-caption-words"):
        page.get_by_role("heading", name="Caption a picture").scroll_into_view_if_needed()
        page.get_by_text("The scene's reference captions").wait_for()
        slider = page.locator(".st-key-cap_word input[type='range']")
        if slider.count():  # step to the last word: its attention map is the one shown large
            thumb = page.locator(".st-key-cap_word [data-testid='stSliderThumbValue']")
            ticks = page.locator(".st-key-cap_word [data-testid='stSliderTickBar']")  # "1. a" and the last, "4. the"
            last = lambda: ticks.inner_text().split("\n")[-1].strip()  # noqa: E731
            for _ in range(3):  # a key pressed during a rerun can be lost: press again until the last word shows
                slider.focus()
                slider.press("End")
                try:
                    wait_for(lambda: thumb.inner_text() == last(), timeout=7, what="the last word")
                    break
                except AssertionError:
                    continue
            word = last().split(". ", 1)[1]
            page.get_by_text(f"attention for “{word}”").wait_for()
        page.locator(".st-key-cap_beam input[type='range']").focus()
        page.locator(".st-key-cap_beam input[type='range']").press("ArrowRight")  # width 3 -> 4
        wait_for(lambda: 1 <= plot_points(page, "cap_beams") <= 4, what="the top beams chart")

    with step(page, "17-caption-upload"):
        page.locator(".st-key-cap_src").get_by_text("Upload a photo").click()
        photo = tmp_path / "wide.png"
        photo.write_bytes(png_bytes(mode="RGB", size=(300, 120)))
        page.locator(".st-key-cap_upload input[type='file']").set_input_files(photo)
        page.get_by_text("what the captioner saw: 128x51 px (your 300x120 picture, scaled by its one rule)").wait_for()
        fake = tmp_path / "notes.png"
        fake.write_text("not a picture")
        page.locator(".st-key-cap_upload input[type='file']").set_input_files(fake)
        page.get_by_text("notes.png is not an image this app can read").wait_for()

    with step(page, "18-caption-compare"):
        page.get_by_role("button", name="Compare").click()
        page.locator(".st-key-cap_compare_chart .js-plotly-plot").wait_for(timeout=60_000)
        assert plot_points(page, "cap_compare_chart", 0) == 4 and plot_points(page, "cap_compare_chart", 1) == 4
        page.locator(".st-key-cap_compare_set").get_by_text("varied scenes").click()
        page.get_by_role("button", name="Compare").click()
        page.get_by_text("on 50 varied test scenes").wait_for(timeout=120_000)
