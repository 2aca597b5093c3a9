"""Issue 15's views in Chromium on a real run, every new widget changed, with screenshots into docs/img/:

    python tools/robustness_screenshots.py --runs DIR [--data SRC]

Dataset page: each augmentation slider moved (the preview must change). Train page: the `robust` preset opened, its
augmentation in the form. Evaluate page: Measure on 1,000 test images (timed), the severity and example changed, and
a wide photo (test image #7 enlarged, its margins mirrored: bench.uploads' "wider") uploaded to show the three views.
DIR holds the one finished classifier run to show (the Evaluate page opens the newest). Prints what it saw.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from bench import DATA_HELP, default_data  # noqa: E402
from bench.browser import ARGS, CHROMIUM, choose, dashboard_server, nav, wait_for  # noqa: E402
from bench.uploads import photos  # noqa: E402
from core.data import sources as data  # noqa: E402
from core.training.presets import PRESETS  # noqa: E402

IMG = ROOT / "docs" / "img"
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--runs", required=True, help="the runs folder holding the run")
parser.add_argument("--data", help=DATA_HELP)
args = parser.parse_args()
source = args.data or default_data()
dataset = data.load(source)
photo = Path(tempfile.mkdtemp()) / "wide7.png"
photos(dataset.test_x[7:8], "wider")[0].save(photo)
env = {"CIFAR10_DATA": source, "CIFAR10_RUNS": args.runs}


def slide(page, key: str, press: str, times: int = 1):
    thumb = page.locator(f".st-key-{key} input[type='range']")
    thumb.focus()
    for _ in range(times):
        thumb.press(press)


def images(page) -> list[str]:
    return page.locator("[data-testid='stImage'] img").evaluate_all("els => els.map(e => e.src)")


with dashboard_server(env) as base, sync_playwright() as p:
    b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    page = b.new_page(viewport={"width": 1400, "height": 1100})
    page.set_default_timeout(60_000)
    page.goto(f"{base}/dataset")
    page.get_by_role("heading", name="What training sees").wait_for()
    for key, press, times in (("aug_rrc", "ArrowLeft", 10), ("aug_jitter", "ArrowRight", 8), ("aug_erase", "End", 1),
                              ("aug_noise", "ArrowRight", 6), ("aug_blur", "ArrowRight", 6)):
        before = images(page)
        slide(page, key, press, times)
        wait_for(lambda: images(page) != before, timeout=60, what=f"the preview to follow {key}")
        print(f"Dataset preview changed with {key}")
    page.get_by_role("heading", name="What training sees").evaluate("h => h.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(1500)
    page.screenshot(path=f"{IMG}/augmentation.png")

    nav(page, "Train")
    choose(page, "train_model", "robust")
    share = f"{PRESETS['robust'].config.photo_share:.2f}"
    page.locator(".st-key-robust_share").get_by_text(share).wait_for()
    print(f"Train form: robust preset opened with photo share {share}")

    nav(page, "Evaluate")  # the runs folder holds this one run, which the picker shows first
    page.get_by_role("heading", name="How it holds up on real photos").wait_for()
    started = time.time()
    page.get_by_role("button", name="Measure").click()
    page.locator(".st-key-robustness_chart .js-plotly-plot").wait_for(timeout=600_000)
    print(f"Measure (1,000 images x 70 sets) took {time.time() - started:.0f} s in the page")
    metrics = page.locator("[data-testid='stMetric']").all_inner_texts()
    print("metrics:", [m.replace("\n", " ") for m in metrics if "Clean" in m or "Corrupted" in m or "Hardest" in m])
    severity = page.get_by_role("slider", name="Severity")  # a select_slider
    severity.focus()
    severity.press("End")
    box = page.locator(".st-key-robust_example input")
    box.fill("7")
    box.press("Enter")
    page.wait_for_timeout(3000)
    page.get_by_role("heading", name="How it holds up on real photos").evaluate(
        "h => h.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(1500)
    page.screenshot(path=f"{IMG}/robustness.png")
    captions = page.locator("[data-testid='stImageCaption']").all_inner_texts()
    print("severity 5, test image #7:", [c for c in captions if ":" in c][:15])

    page.locator(".st-key-photo_upload input[type='file']").set_input_files(photo)
    page.locator(".st-key-topk_chart .js-plotly-plot").wait_for()
    for fit in ("crop", "squash", "pad"):
        page.get_by_text(f"{fit} (32x32)", exact=True).wait_for()
    print("upload:", page.locator("h3").filter(has_text="%").first.inner_text())
    page.get_by_role("heading", name="Try an image").evaluate("h => h.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(1500)
    page.screenshot(path=f"{IMG}/upload_views.png")
    b.close()
